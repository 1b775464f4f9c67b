"""Local cost volume between two feature maps, in pure PyTorch.

Replaces the compiled ``spatial-correlation-sampler`` extension used by the original KYS implementation. For a
displacement ``(dy, dx)`` in ``[-r, r]^2`` (``r = (patch_size - 1) // 2``) and an output position ``(h, w)``, the
correlation is the sum over channels and over a ``kernel_size x kernel_size`` window of
``feat1[c, y, x] * feat2[c, y + dy, x + dx]``, where the window starts at ``(h * stride - padding, w * stride -
padding)`` and positions outside either map contribute zero. There is no normalisation by the channel count.

The result is computed in two steps: the point-wise (1x1) correlation for every displacement at full resolution,
then a box sum over the window (a convolution with a ones kernel, which also applies padding and stride). The
point-wise step uses either one batched matrix product over all position pairs followed by a gather (cheap when
``H * W`` is comparable to the number of displacements, as for KYS: 18x18 maps, 19x19 displacements) or a loop
over displacements with slicing (large maps with few displacements).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["spatial_correlation", "remap_cost_volume", "CostVolume"]

# Use the all-pairs matrix product when H*W is at most this many times the number of displacements; above that the
# (H*W)^2 pair matrix costs more than the per-displacement loop.
_ALL_PAIRS_MAX_RATIO = 4


def _pointwise_correlation_all_pairs(feat1: torch.Tensor, feat2: torch.Tensor, radius: int) -> torch.Tensor:
    """Point-wise correlation for all displacements via the full pair matrix. Returns (B, P, P, H, W)."""
    batch, channels, height, width = feat1.shape
    patch = 2 * radius + 1
    # pairs[b, h, w, i, j] = <feat1[b, :, h, w], feat2[b, :, i, j]>
    pairs = torch.bmm(feat1.reshape(batch, channels, -1).transpose(1, 2), feat2.reshape(batch, channels, -1))
    pairs = F.pad(pairs.reshape(batch, height, width, height, width), (radius, radius, radius, radius))
    padded_h, padded_w = height + 2 * radius, width + 2 * radius

    # Flat index of pairs[b, h, w, h + py, w + px] (padded coordinates) for every (h, w, py, px).
    dev = feat1.device
    h = torch.arange(height, device=dev).view(-1, 1, 1, 1)
    w = torch.arange(width, device=dev).view(1, -1, 1, 1)
    py = torch.arange(patch, device=dev).view(1, 1, -1, 1)
    px = torch.arange(patch, device=dev).view(1, 1, 1, -1)
    index = ((h * width + w) * padded_h + (h + py)) * padded_w + (w + px)

    corr = pairs.reshape(batch, -1)[:, index.reshape(-1)].reshape(batch, height, width, patch, patch)
    return corr.permute(0, 3, 4, 1, 2)


def _pointwise_correlation_shifted(feat1: torch.Tensor, feat2: torch.Tensor, radius: int) -> torch.Tensor:
    """Point-wise correlation for all displacements, one displacement at a time. Returns (B, P, P, H, W)."""
    height, width = feat1.shape[-2:]
    patch = 2 * radius + 1
    feat2_padded = F.pad(feat2, (radius, radius, radius, radius))
    rows = []
    for py in range(patch):
        row = [(feat1 * feat2_padded[:, :, py : py + height, px : px + width]).sum(dim=1) for px in range(patch)]
        rows.append(torch.stack(row, dim=1))
    return torch.stack(rows, dim=1)


def spatial_correlation(
    feat1: torch.Tensor,
    feat2: torch.Tensor,
    kernel_size: int = 1,
    patch_size: int = 1,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """Local correlation with the semantics of ``SpatialCorrelationSampler`` (dilations 1).

    Args:
        feat1: Reference features (B, C, H, W).
        feat2: Features to compare with (B, C, H, W).
        kernel_size: Side of the correlation window.
        patch_size: Side ``P`` of the displacement grid; must be odd (displacements ``-(P-1)/2 .. (P-1)/2``).
        stride: Stride of the output positions in ``feat1``.
        padding: Zero padding of both maps for the window.

    Returns:
        Tensor (B, P, P, H_out, W_out) with ``H_out = (H + 2 * padding - kernel_size) // stride + 1``; entry
        ``[b, py, px, h, w]`` is the correlation at displacement ``(py - (P-1)/2, px - (P-1)/2)`` (rows, columns).
    """
    if feat1.dim() != 4 or feat2.dim() != 4:
        raise ValueError("feat1 and feat2 must be 4-D (B, C, H, W)")
    if feat1.shape != feat2.shape:
        raise ValueError(f"feat1 and feat2 must have the same shape, got {tuple(feat1.shape)} and {tuple(feat2.shape)}")
    if patch_size < 1 or patch_size % 2 != 1:
        raise ValueError(f"patch_size must be a positive odd number, got {patch_size}")
    if kernel_size < 1 or stride < 1 or padding < 0:
        raise ValueError("kernel_size and stride must be >= 1 and padding >= 0")

    batch, _, height, width = feat1.shape
    radius = (patch_size - 1) // 2
    if height * width <= _ALL_PAIRS_MAX_RATIO * patch_size * patch_size:
        corr = _pointwise_correlation_all_pairs(feat1, feat2, radius)
    else:
        corr = _pointwise_correlation_shifted(feat1, feat2, radius)

    if kernel_size == 1 and stride == 1 and padding == 0:
        return corr
    ones = corr.new_ones(1, 1, kernel_size, kernel_size)
    corr = F.conv2d(corr.reshape(-1, 1, height, width), ones, stride=stride, padding=padding)
    return corr.reshape(batch, patch_size, patch_size, *corr.shape[-2:])


def remap_cost_volume(cost_volume: torch.Tensor) -> torch.Tensor:
    """Convert a cost volume from displacement to absolute coordinates.

    Args:
        cost_volume: Tensor (B, P*P, H, W) (P odd): entry ``[b, py * P + px, h, w]`` relates position ``(h, w)``
            of the first map to position ``(h + py - r, w + px - r)`` of the second, ``r = (P - 1) / 2``.

    Returns:
        Tensor (B, H, W, H, W); entry ``[b, i, j, h, w]`` relates ``(h, w)`` of the first map to ``(i, j)`` of the
        second. Pairs farther apart than ``r`` (in either direction) are zero; displacements that leave the map are
        dropped.
    """
    if cost_volume.dim() != 4:
        raise ValueError("cost_volume must be 4-D (B, P*P, H, W)")
    batch, num_disp, height, width = cost_volume.shape
    patch = math.isqrt(num_disp)
    if patch * patch != num_disp or patch % 2 != 1:
        raise ValueError(f"cost_volume must have P*P channels with P odd, got {num_disp}")
    radius = (patch - 1) // 2

    dev = cost_volume.device
    i = torch.arange(height, device=dev).view(-1, 1, 1, 1)
    j = torch.arange(width, device=dev).view(1, -1, 1, 1)
    h = torch.arange(height, device=dev).view(1, 1, -1, 1)
    w = torch.arange(width, device=dev).view(1, 1, 1, -1)
    py = i - h + radius
    px = j - w + radius
    valid = (py >= 0) & (py < patch) & (px >= 0) & (px < patch)
    index = ((py * patch + px) * height + h) * width + w
    # Invalid pairs read an appended zero, which keeps the operation a differentiable gather.
    index = torch.where(valid, index, torch.full_like(index, num_disp * height * width))

    source = torch.cat((cost_volume.reshape(batch, -1), cost_volume.new_zeros(batch, 1)), dim=1)
    return source[:, index.reshape(-1)].reshape(batch, height, width, height, width)


class CostVolume(nn.Module):
    """Local cost volume layer (no parameters).

    Args:
        kernel_size: Side of the correlation window (zero padding ``(kernel_size - 1) // 2``).
        max_displacement: Largest displacement ``d`` in each direction; the displacement grid is ``(2d+1)^2``.
        stride: Stride of the output positions.
        abs_coordinate_output: Return the volume in absolute coordinates (see :func:`remap_cost_volume`).
    """

    def __init__(self, kernel_size: int, max_displacement: int, stride: int = 1, abs_coordinate_output: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.max_displacement = max_displacement
        self.stride = stride
        self.padding = (kernel_size - 1) // 2
        self.abs_coordinate_output = abs_coordinate_output

    def forward(self, feat1: torch.Tensor, feat2: torch.Tensor) -> torch.Tensor:
        """Correlate ``feat1`` with ``feat2``.

        Args:
            feat1: Reference features (B, C, H, W).
            feat2: Other features (B, C, H, W).

        Returns:
            (B, (2d+1)^2, H_out, W_out) in displacement coordinates, or, with ``abs_coordinate_output``,
            (B, H*W, H, W) where channel ``i * W + j`` holds the correlation of every ``feat1`` position with
            position ``(i, j)`` of ``feat2``.
        """
        cost_volume = spatial_correlation(
            feat1,
            feat2,
            kernel_size=self.kernel_size,
            patch_size=2 * self.max_displacement + 1,
            stride=self.stride,
            padding=self.padding,
        )
        batch = cost_volume.shape[0]
        cost_volume = cost_volume.reshape(batch, -1, *cost_volume.shape[-2:])
        if self.abs_coordinate_output:
            cost_volume = remap_cost_volume(cost_volume)
        return cost_volume.reshape(batch, -1, *cost_volume.shape[-2:])

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, max_displacement={self.max_displacement}, stride={self.stride}, "
            f"abs_coordinate_output={self.abs_coordinate_output}"
        )
