"""Convolutional GRU cell (Ballas et al., "Delving Deeper into Convolutional Networks for Learning Video
Representations", ICLR 2016), used by KYS to update the dense state vectors."""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["ConvGRUCell"]


class ConvGRUCell(nn.Module):
    """One convolutional GRU step.

    With ``z = [x, h]``: reset ``r = sigmoid(conv_reset(z))``, update ``u = sigmoid(conv_update(z))``, candidate
    ``n = tanh(conv_state_new([x, r * h]))``, new state ``h' = (1 - u) * h + u * n``.

    The three convolutions are plain ``Conv2d`` layers with bias registered as ``conv_reset``, ``conv_update``,
    ``conv_state_new`` (the state-dict layout of the KYS checkpoint).

    Args:
        input_dim: Channels of the input ``x``.
        hidden_dim: Channels of the state ``h``.
        kernel_size: Convolution kernel size (int or pair); padding ``kernel_size // 2`` keeps the spatial size for
            odd sizes.
        padding_mode: ``Conv2d`` padding mode (``'zeros'``, ``'reflect'``, ``'replicate'``, ``'circular'``).
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, kernel_size: int | tuple[int, int], padding_mode: str = "zeros"
    ):
        super().__init__()
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)

        def gate_conv() -> nn.Conv2d:
            return nn.Conv2d(
                input_dim + hidden_dim, hidden_dim, kernel_size, padding=padding, padding_mode=padding_mode
            )

        # Registration order fixes the state-dict key order.
        self.conv_reset = gate_conv()
        self.conv_update = gate_conv()
        self.conv_state_new = gate_conv()

    def forward(self, x: torch.Tensor, state_cur: torch.Tensor) -> torch.Tensor:
        """Advance the state by one step.

        Args:
            x: Input (B, input_dim, H, W).
            state_cur: Current state (B, hidden_dim, H, W).

        Returns:
            The next state (B, hidden_dim, H, W).
        """
        stacked = torch.cat((x, state_cur), dim=1)
        reset = torch.sigmoid(self.conv_reset(stacked))
        update = torch.sigmoid(self.conv_update(stacked))
        candidate = torch.tanh(self.conv_state_new(torch.cat((x, reset * state_cur), dim=1)))
        return state_cur + update * (candidate - state_cur)
