"""Per-sample feature normalization."""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["InstanceL2Norm"]


class InstanceL2Norm(nn.Module):
    """Scale every sample of a batch to a fixed L2 norm.

    With ``s = sum(x^2)`` over the (C, H, W) entries of one sample:

    * ``size_average=True``: ``x * scale * sqrt(C * H * W / (s + eps))``, so the root-mean-square entry is
      ``scale`` (the norm is ``scale * sqrt(C * H * W)``);
    * ``size_average=False``: ``x * scale / sqrt(s + eps)``, so the norm is ``scale``.

    DiMP uses it at the end of the classification feature block with ``scale = sqrt(1 / (C * fs^2))``. Holds no
    parameters.

    Args:
        size_average: Normalize the mean square instead of the sum of squares.
        eps: Added to the sum of squares; keeps all-zero samples finite.
        scale: Target scale.
    """

    def __init__(self, size_average: bool = True, eps: float = 1e-5, scale: float = 1.0):
        super().__init__()
        self.size_average = size_average
        self.eps = eps
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize.

        Args:
            x: Features (B, C, H, W).

        Returns:
            Tensor (B, C, H, W).
        """
        sum_sq = (x * x).reshape(x.shape[0], -1).sum(dim=1).view(-1, 1, 1, 1)
        if self.size_average:
            numel = x.shape[1] * x.shape[2] * x.shape[3]
            return x * (self.scale * torch.sqrt(numel / (sum_sq + self.eps)))
        return x * (self.scale / torch.sqrt(sum_sq + self.eps))

    def extra_repr(self) -> str:
        return f"size_average={self.size_average}, eps={self.eps}, scale={self.scale}"
