"""Small convolution and fully connected blocks.

Both are used in checkpointed networks, so their submodule names and registration order are part of the state-dict
format: ``conv_block`` gives keys ``0.weight``, ``0.bias``, ``1.weight``, ``1.bias``, ``1.running_mean``,
``1.running_var``, ``1.num_batches_tracked``; ``LinearBlock`` gives ``linear.*`` then ``bn.*``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["conv_block", "LinearBlock"]


def conv_block(
    in_planes: int,
    out_planes: int,
    kernel_size: int = 3,
    stride: int = 1,
    padding: int = 1,
    dilation: int = 1,
    bias: bool = True,
    batch_norm: bool = True,
    relu: bool = True,
    padding_mode: str = "zeros",
) -> nn.Sequential:
    """Build ``Sequential[Conv2d, (BatchNorm2d), (ReLU)]``.

    Args:
        in_planes: Input channels.
        out_planes: Output channels.
        kernel_size: Convolution kernel size.
        stride: Convolution stride.
        padding: Convolution padding.
        dilation: Convolution dilation.
        bias: Give the convolution a bias.
        batch_norm: Append ``BatchNorm2d(out_planes)``.
        relu: Append an in-place ``ReLU``.
        padding_mode: ``Conv2d`` padding mode (``'zeros'``, ``'reflect'``, ``'replicate'``, ``'circular'``).

    Returns:
        The block; the convolution is at index 0 and the batch norm (if any) at index 1.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(
            in_planes,
            out_planes,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            bias=bias,
            padding_mode=padding_mode,
        )
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_planes))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class LinearBlock(nn.Module):
    """Fully connected layer on a flattened square feature map, with optional batch norm and ReLU.

    The batch norm is a ``BatchNorm2d`` applied to the output viewed as (B, out_planes, 1, 1), as in the IoU-Net
    heads (``fc3_rt``, ``fc4_rt``) of the released checkpoints.

    Args:
        in_planes: Channels of the input map.
        out_planes: Output features.
        input_sz: Side ``s`` of the (s, s) input map; the linear layer has ``in_planes * s * s`` inputs.
        bias: Give the linear layer a bias.
        batch_norm: Apply batch norm after the linear layer.
        relu: Apply ReLU last.
    """

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        input_sz: int,
        bias: bool = True,
        batch_norm: bool = True,
        relu: bool = True,
    ):
        super().__init__()
        # Registration order (linear, bn, relu) fixes the state-dict key order.
        self.linear = nn.Linear(in_planes * input_sz * input_sz, out_planes, bias=bias)
        self.bn = nn.BatchNorm2d(out_planes) if batch_norm else None
        self.relu = nn.ReLU(inplace=True) if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Args:
            x: Input (B, in_planes, s, s).

        Returns:
            Tensor (B, out_planes).
        """
        x = self.linear(x.reshape(x.shape[0], -1))
        if self.bn is not None:
            x = self.bn(x.reshape(x.shape[0], x.shape[1], 1, 1))
        if self.relu is not None:
            x = self.relu(x)
        return x.reshape(x.shape[0], -1)
