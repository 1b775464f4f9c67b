"""Distance maps: encode each feature cell's distance to a target centre as soft bin memberships.

DiMP predicts its label, target-mask and spatial-weight maps as learned 1x1 convolutions over these bins, so the
predicted maps are arbitrary (learned) radial functions of the distance to the target centre.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["DistanceMap"]


class DistanceMap(nn.Module):
    """Soft binning of the Euclidean distance from every cell of a grid to a centre point.

    With ``d`` the distance of cell ``(i, j)`` to the centre and ``t = d / bin_displacement``, bin ``k`` for
    ``k < num_bins - 1`` holds the triangular (linear-interpolation) weight ``relu(1 - |t - k|)``; the last bin
    holds ``clamp(1 + t - (num_bins - 1), 0, 1)``, which ramps up like a triangle but stays at 1 beyond its
    centre, so far-away cells are not lost. The bins of every cell sum to 1, and for ``t <= num_bins - 1`` the
    bin-weighted mean of ``k`` equals ``t``.
    Holds no parameters.

    Args:
        num_bins: Number of bins ``K``.
        bin_displacement: Distance, in cells, between consecutive bin centres.
    """

    def __init__(self, num_bins: int, bin_displacement: float = 1.0):
        super().__init__()
        self.num_bins = num_bins
        self.bin_displacement = bin_displacement

    def forward(self, center: torch.Tensor, output_sz: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Compute the bin memberships.

        Args:
            center: Centres, shape (B, 2) (any shape with 2B elements is viewed as (B, 2)), as ``(y, x)`` in
                feature-cell coordinates: cell ``(i, j)`` sits at integer position ``(i, j)``.
            output_sz: Grid size ``(H, W)``.

        Returns:
            Tensor (B, num_bins, H, W) with the dtype and device of ``center``.
        """
        center = center.reshape(-1, 2)
        height, width = (int(s) for s in output_sz)
        dtype, device = center.dtype, center.device

        bin_centers = torch.arange(self.num_bins, dtype=dtype, device=device).view(1, -1, 1, 1)
        rows = torch.arange(height, dtype=dtype, device=device).view(1, 1, -1, 1)
        cols = torch.arange(width, dtype=dtype, device=device).view(1, 1, 1, -1)
        dy = rows - center[:, 0].view(-1, 1, 1, 1)
        dx = cols - center[:, 1].view(-1, 1, 1, 1)
        dist = torch.sqrt(dy * dy + dx * dx)

        bin_diff = dist / self.bin_displacement - bin_centers
        inner = F.relu(1.0 - torch.abs(bin_diff[:, :-1]))
        last = (1.0 + bin_diff[:, -1:]).clamp(0.0, 1.0)
        return torch.cat((inner, last), dim=1)

    def extra_repr(self) -> str:
        return f"num_bins={self.num_bins}, bin_displacement={self.bin_displacement}"
