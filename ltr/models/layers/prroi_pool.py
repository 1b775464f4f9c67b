"""Precise RoI Pooling (PrRoIPool) in pure PyTorch, on CPU and GPU alike.

Each output bin is the exact average, over the bin, of the bilinearly interpolated feature map. Feature value
``(h, w)`` sits at the integer coordinate ``(y, x) = (h, w)`` and the map is zero-extended, so the interpolant
decays linearly to 0 between the border samples and the coordinates -1 and H (or W). Writing the interpolant as
``f(y, x) = sum_hw F[h, w] * hat(y - h) * hat(x - w)`` with ``hat(t) = max(0, 1 - |t|)``, the integral over a bin
``[y_a, y_b] x [x_a, x_b]`` separates into ``Wy F Wx^T`` where ``Wx[w] = A(x_b - w) - A(x_a - w)`` and ``A`` is the
antiderivative of ``hat`` (a clamped quadratic). Everything is built from differentiable torch ops, so autograd
provides the gradients with respect to both the features and the box coordinates (the latter drive IoU-Net box
refinement); only the integer cell indices are detached, which is exact because the closed forms are continuous
across cell borders.

Two evaluation strategies give the same values:

* ``"separable"``: dense 1-D weights over the whole map and two matrix products. Cheapest for a few boxes on a
  single image (the tracking-time case: about ten boxes per call).
* ``"sat"``: a summed-area table. The antiderivative of the interpolant at any point is a 3x3-tap combination of
  the 2-D prefix sums (quadratic B-spline weights), so each bin costs the same whatever the box size and the map
  is read once. Cheapest for many boxes or several images (training). The map is centred per channel before the
  prefix sums (the mean is added back through the closed-form integral of a constant map) to keep float32
  cancellation small; still, in float32 its absolute error grows like 1e-7 * |prefix sums| / bin area, so bins
  much smaller than a feature cell lose digits (about 1e-3 for 0.03 x 0.01-cell bins). The separable form has
  no such loss, and float64 inputs are exact to about 1e-13 with either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PrRoIPool2D", "prroi_pool2d"]

# "auto" uses the dense separable form on a single image while the number of boxes times the pooled size stays
# below this; past it the summed-area table wins on CPU (the separable form costs about C*H*W per box and pooled
# column, the table a few passes over C*H*W in all). On a GPU both are bound by kernel launches at tracking sizes
# and the separable form launches fewer, so it is kept far longer (the cap bounds its (C*H, K*pw) intermediate).
_SEPARABLE_MAX_WORK = 128
_SEPARABLE_MAX_WORK_GPU = 4096

_METHODS = ("auto", "separable", "sat")


def _safe_divisor(x: torch.Tensor) -> torch.Tensor:
    """``x`` where positive, else 1: zero-size bins have all-zero weights, so they pool to 0 without a NaN."""
    return torch.where(x > 0, x, 1.0)


def _bin_geometry(rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float, dtype: torch.dtype):
    """Scaled box origins and bin sizes; ``rois`` (K, 5) -> four (K,) tensors ``x0, y0, bin_w, bin_h``."""
    box = rois[:, 1:].to(dtype) * spatial_scale
    x0, y0, x1, y1 = box.unbind(1)
    bin_w = (x1 - x0).clamp_min(0) / pooled_width
    bin_h = (y1 - y0).clamp_min(0) / pooled_height
    return x0, y0, bin_w, bin_h


def _bin_edges(start: torch.Tensor, bin_size: torch.Tensor, n: int) -> torch.Tensor:
    """(K,) start and bin size -> (K, n + 1) bin edge coordinates."""
    steps = torch.arange(n + 1, dtype=start.dtype, device=start.device)
    return torch.addcmul(start[:, None], bin_size[:, None], steps)


def _separable_weights(
    rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float, height: int, width: int, dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin integrals of each sample's hat function along x and y, divided by the bin length.

    Both axes go through one set of ops (the call is overhead-bound for a few boxes): ``max(ph, pw)`` bins against
    ``max(H, W)`` samples, the surplus rows and columns are sliced away.

    Returns:
        ``wx`` (K, pw, W) and ``wy`` (K, ph, H); rows of zero-length bins are exactly 0.
    """
    box = rois[:, 1:].to(dtype) * spatial_scale
    start = box[:, :2]  # (K, 2): x0, y0
    pooled = torch.tensor([pooled_width, pooled_height], dtype=dtype, device=rois.device)
    bin_size = (box[:, 2:] - start).clamp_min(0) / pooled  # (K, 2)
    n, size = max(pooled_height, pooled_width), max(height, width)
    steps = torch.arange(n + 1, dtype=dtype, device=rois.device)
    edges = torch.addcmul(start[:, :, None], bin_size[:, :, None], steps)  # (K, 2, n+1)
    u = (edges[..., None] - torch.arange(size, dtype=dtype, device=rois.device)).clamp(-1.0, 1.0)
    # Antiderivative of hat(t) from -1, minus its constant 1/2 (which cancels in the difference below).
    anti = torch.addcmul(u, u, u.abs(), value=-0.5)
    weights = (anti[:, :, 1:] - anti[:, :, :-1]) / _safe_divisor(bin_size)[:, :, None, None]
    return weights[:, 0, :pooled_width, :width], weights[:, 1, :pooled_height, :height]


def _pool_separable(
    features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float
) -> torch.Tensor:
    b, c, h, w = features.shape
    k = rois.shape[0]
    wx, wy = _separable_weights(rois, pooled_height, pooled_width, spatial_scale, h, w, features.dtype)
    if b == 1 and not (torch.is_grad_enabled() and (features.requires_grad or rois.requires_grad)):
        # Inference only: contracting H first (batched over channels) is about 30% faster on CPU, but its
        # backward pass is not, so the order below is kept whenever gradients are wanted.
        rows = torch.matmul(wy.reshape(k * pooled_height, h), features[0])  # (C, K*ph, W)
        rows = rows.view(c, k, pooled_height * w).transpose(0, 1).reshape(k, c * pooled_height, w)
        return torch.bmm(rows, wx.transpose(1, 2)).view(k, c, pooled_height, pooled_width)
    # Contract W for all boxes in one product over the whole map, then H box by box.
    cols = torch.matmul(features.reshape(b, c * h, w), wx.reshape(k * pooled_width, w).t())  # (B, C*H, K*pw)
    cols = cols.view(b, c, h, k, pooled_width).permute(0, 3, 2, 1, 4)  # (B, K, H, C, pw)
    if b == 1:
        cols = cols[0]
    else:
        batch = rois[:, 0].round().long()
        cols = cols[batch, torch.arange(k, device=batch.device)]
    out = torch.bmm(wy, cols.reshape(k, h, c * pooled_width))  # (K, ph, C*pw)
    return out.view(k, pooled_height, c, pooled_width).permute(0, 2, 1, 3).contiguous()


def _spline_weights(coord: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell index and quadratic B-spline weights that turn prefix sums into the interpolant's antiderivative.

    With ``X = n + f`` (``n = floor(X)``), the antiderivative from -1 of the 1-D interpolant equals
    ``sum_j c_j P(n + j)`` for ``j = 0, 1, 2``, where ``P(t) = sum_{w < t} F[w]`` and ``c = ((1-f)^2/2,
    1/2 + f - f^2, f^2/2)``. Coordinates are clamped to [-1, size], outside of which the antiderivative is flat.

    Returns:
        ``n`` (long, same shape as ``coord``) and the weights (``coord.shape + (3,)``).
    """
    coord = coord.clamp(-1.0, float(size))
    cell = coord.detach().floor()
    f = coord - cell
    weights = torch.stack(((1 - f) * (1 - f) * 0.5, 0.5 + f - f * f, f * f * 0.5), dim=-1)
    return cell.long(), weights


def _pool_sat(
    features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float
) -> torch.Tensor:
    b, c, h, w = features.shape
    k = rois.shape[0]
    ph, pw = pooled_height, pooled_width
    hp, wp = h + 4, w + 4
    mean = features.mean(dim=(2, 3))  # (B, C)
    centred = features - mean[:, :, None, None]
    # table[b, i, j] = sum of centred[b, :, :i-1, :j-1] (two zero rows/columns of padding on each side), stored
    # channels-last so that each lookup reads one contiguous C-vector.
    table = F.pad(centred, (2, 2, 2, 2)).cumsum(3).cumsum(2).permute(0, 2, 3, 1).contiguous().view(b * hp * wp, c)

    x0, y0, bin_w, bin_h = _bin_geometry(rois, ph, pw, spatial_scale, features.dtype)
    cell_x, cx = _spline_weights(_bin_edges(x0, bin_w, pw), w)  # (K, pw+1), (K, pw+1, 3)
    cell_y, cy = _spline_weights(_bin_edges(y0, bin_h, ph), h)  # (K, ph+1), (K, ph+1, 3)
    batch = rois[:, 0].round().long()
    base = (batch[:, None, None] * hp + cell_y[:, :, None] + 1) * wp + cell_x[:, None, :] + 1  # (K, ph+1, pw+1)
    taps = torch.arange(3, device=base.device)
    taps = (taps[:, None] * wp + taps).reshape(9)
    index = (base[..., None] + taps).reshape(-1, 9)
    tap_weights = (cy[:, :, None, :, None] * cx[:, None, :, None, :]).reshape(-1, 9)
    # Antiderivative at every bin corner, gathered and weighted in one fused op.
    anti = F.embedding_bag(index, table, per_sample_weights=tap_weights, mode="sum").view(k, ph + 1, pw + 1, c)
    # Difference along x first, then y: a zero-width or zero-height bin then gives exactly 0.
    along_x = anti[:, :, 1:] - anti[:, :, :-1]
    integral = along_x[:, 1:] - along_x[:, :-1]  # (K, ph, pw, C)

    # Add back the mean: a constant map's prefix sum along an axis is clamp(t, 0, size).
    offsets = torch.arange(3, device=base.device)
    ones_x = (cx * (cell_x[..., None] + offsets).clamp(0, w).to(cx.dtype)).sum(-1)  # (K, pw+1)
    ones_y = (cy * (cell_y[..., None] + offsets).clamp(0, h).to(cy.dtype)).sum(-1)  # (K, ph+1)
    mass = (ones_y[:, 1:, None] - ones_y[:, :-1, None]) * (ones_x[:, None, 1:] - ones_x[:, None, :-1])
    integral = torch.addcmul(integral, mass[..., None], mean[batch][:, None, None, :])
    area = _safe_divisor(bin_w * bin_h)
    return (integral / area[:, None, None, None]).permute(0, 3, 1, 2).contiguous()


def prroi_pool2d(
    features: torch.Tensor,
    rois: torch.Tensor,
    pooled_height: int,
    pooled_width: int,
    spatial_scale: float,
    method: str = "auto",
) -> torch.Tensor:
    """Precise RoI pooling: exact bin averages of the zero-extended bilinear interpolant of ``features``.

    Args:
        features: (B, C, H, W) floating-point feature maps.
        rois: (K, 5) boxes ``[batch_index, x0, y0, x1, y1]`` in input-image pixels, on the device of
            ``features``; the batch index is stored as a float. Coordinates are multiplied by ``spatial_scale``;
            a negative width or height counts as 0.
        pooled_height: number of bins along y (ph).
        pooled_width: number of bins along x (pw).
        spatial_scale: feature-map pixels per input pixel (e.g. 1/8 for a stride-8 map).
        method: ``"auto"`` (default), ``"separable"`` or ``"sat"``; all give the same result up to rounding.

    Returns:
        (K, C, ph, pw) tensor of the dtype of ``features``; bins of zero area are 0. Differentiable with respect
        to ``features`` and to the box coordinates in ``rois``.
    """
    if features.dim() != 4:
        raise ValueError(f"features must be (B, C, H, W), got shape {tuple(features.shape)}")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"rois must be (K, 5), got shape {tuple(rois.shape)}")
    if pooled_height < 1 or pooled_width < 1:
        raise ValueError(f"pooled size must be positive, got {pooled_height}x{pooled_width}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    b, c = features.shape[:2]
    k = rois.shape[0]
    if k == 0:
        # Keep the result attached to both inputs so that a backward pass through an empty batch still works.
        link = (features.sum() + rois.sum().to(features.dtype)) * 0
        return features.new_zeros(0, c, pooled_height, pooled_width) + link
    if method == "auto":
        limit = _SEPARABLE_MAX_WORK if features.device.type == "cpu" else _SEPARABLE_MAX_WORK_GPU
        small = b == 1 and k * (pooled_height + pooled_width) <= limit
        method = "separable" if small else "sat"
    if method == "separable":
        return _pool_separable(features, rois, pooled_height, pooled_width, spatial_scale)
    return _pool_sat(features, rois, pooled_height, pooled_width, spatial_scale)


class PrRoIPool2D(nn.Module):
    """Precise RoI pooling layer (no parameters); see :func:`prroi_pool2d`.

    Args:
        pooled_height: number of output bins along y.
        pooled_width: number of output bins along x.
        spatial_scale: feature-map pixels per input pixel.
    """

    def __init__(self, pooled_height: int, pooled_width: int, spatial_scale: float):
        super().__init__()
        self.pooled_height = int(pooled_height)
        self.pooled_width = int(pooled_width)
        self.spatial_scale = float(spatial_scale)

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """Pool ``features`` (B, C, H, W) over ``rois`` (K, 5) -> (K, C, pooled_height, pooled_width)."""
        return prroi_pool2d(features, rois, self.pooled_height, self.pooled_width, self.spatial_scale)

    def extra_repr(self) -> str:
        return (
            f"pooled_height={self.pooled_height}, pooled_width={self.pooled_width}, spatial_scale={self.spatial_scale}"
        )
