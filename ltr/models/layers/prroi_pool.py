"""Precise RoI Pooling (PrRoIPool) in pure PyTorch, on CPU and GPU alike.

Each output bin is the exact average, over the bin, of the bilinearly interpolated feature map. Feature value
``(h, w)`` sits at the integer coordinate ``(y, x) = (h, w)`` and the map is zero-extended, so the interpolant
decays linearly to 0 between the border samples and the coordinates -1 and H (or W). Writing the interpolant as
``f(y, x) = sum_hw F[h, w] * hat(y - h) * hat(x - w)`` with ``hat(t) = max(0, 1 - |t|)``, the integral over a bin
``[y_a, y_b] x [x_a, x_b]`` separates into ``Wy F Wx^T`` where ``Wx[w] = A(x_b - w) - A(x_a - w)`` and ``A`` is the
antiderivative of ``hat`` (a clamped quadratic). The result is differentiable with respect to both the features
and the box coordinates (the latter drive IoU-Net box refinement). At the kink of a zero-size box the gradient takes
the flat side (the pooled values stay 0 there).

Two evaluation strategies give the same values:

* ``"separable"``: dense 1-D weights and two matrix products, with a hand-written backward pass (a few more
  products; see ``_SeparablePool``). Cheapest for a few dozen boxes on a single image (the tracking-time case:
  about ten boxes per call, forward and backward five times per frame).
* ``"sat"``: a summed-area table, differentiated by autograd (only the integer cell indices are detached, which is
  exact because the closed forms are continuous across cell borders). The antiderivative of the interpolant at
  any point is a 3x3-tap combination of the 2-D prefix sums (quadratic B-spline weights), so each bin costs the
  same whatever the box size and the map is read once. Cheapest for many boxes or several images (training). The map
  is centred per channel before the prefix sums (the mean is added back through the closed-form integral of a
  constant map) to keep float32 cancellation small; still, in float32 its absolute error grows like 1e-7 * |prefix
  sums| / bin area, so bins much smaller than a feature cell lose digits (about 1e-3 for 0.03 x 0.01-cell bins). The
  separable form has no such loss, and float64 inputs are exact to about 1e-13 with either.

``"auto"`` pools a single bin (``pooled_height = pooled_width = 1``) on a single image with a dedicated form of
the separable one (``_BoxPool``: about fifteen torch calls in all, and no autograd Function when nothing needs a
gradient), whatever the number of boxes: its cost is one (K, H*W) x (H*W, C) product per pass.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

__all__ = ["PrRoIPool2D", "PreparedPrRoIPool", "TableLevels", "prroi_pool2d"]

# "auto" uses the dense separable form on a single image while the number of boxes times the pooled size stays
# below this; past it the summed-area table wins on CPU (the separable form costs about C*H*W per box and pooled
# row, twice that when the boxes need gradients; the table a few passes over C*H*W in all). Measured with 2 CPU
# threads on the IoU-Net pools: the separable form is ahead up to about 400 (3x3 bins and 40-80 boxes), even at
# 480 and 800, the table ahead at 960 when only the boxes need gradients. On a GPU both are bound by kernel
# launches at tracking sizes and the separable form launches fewer, so it is kept far longer (the cap bounds its
# (K * (2 * max(ph, pw) + 1), C*W) intermediate).
_SEPARABLE_MAX_WORK = 400
_SEPARABLE_MAX_WORK_GPU = 4096

_METHODS = ("auto", "separable", "sat")


def _safe_divisor(x: torch.Tensor) -> torch.Tensor:
    """``x`` where positive, else 1: zero-size bins have all-zero weights, so they pool to 0 without a NaN."""
    return torch.where(x > 0, x, 1.0)


@functools.lru_cache(maxsize=64)
def _constants(n: int, size: int, pooled_width: int, pooled_height: int, device: torch.device, dtype: torch.dtype):
    """Cached constants of the separable form (building them is a fair part of a tracking-size call).

    Returns ``steps`` (n + 1,) = 0..n, ``grid`` (size,) = 0..size-1, ``pooled`` (2,) = (pw, ph) and ``moments``
    (n + 1, 2) = columns of ones and of ``steps``.
    """
    steps = torch.arange(n + 1, dtype=dtype, device=device)
    grid = torch.arange(size, dtype=dtype, device=device)
    pooled = torch.tensor([pooled_width, pooled_height], dtype=dtype, device=device)
    return steps, grid, pooled, torch.stack((torch.ones_like(steps), steps), 1)


class _SeparablePool(torch.autograd.Function):
    """Separable PrRoIPool of the boxes of one image, with a hand-written backward pass.

    Notation for one box: ``Wx`` (pw, W) and ``Wy`` (ph, H) are the bin averages of each sample's hat function,
    ``Ex`` (pw + 1, W) and ``Ey`` (ph + 1, H) the hat functions at the bin edges, ``F`` (C, H, W) the map. Then

    * ``out = Wy F Wx^T`` and ``dL/dF = sum_boxes Wy^T G Wx``;
    * moving the x edge ``e_m`` changes the integral over the bin left of it by the line integral
      ``Wy F Ex[m]^T`` (the hat is the derivative of its antiderivative) and that over the bin right of it by
      minus the same; the edges are ``x0 + m * bin_w`` and each average carries a factor ``1 / bin_w``.

    Autograd through the weight construction would replay some forty small ops; here the backward pass is a few
    products of tensors kept from the forward pass, and only the terms asked for are formed (tracking refines
    boxes on features that do not require gradients). Both axes share each op, with ``n = max(ph, pw)`` bins
    (surplus rows are sliced away at the end).

    On CPU the map is first cropped to the samples that the boxes reach: weights outside are exactly zero.
    """

    @staticmethod
    def forward(ctx, features, rois, image, pooled_height, pooled_width, spatial_scale):  # noqa: D102
        b, c, h, w = features.shape
        ph, pw = pooled_height, pooled_width
        n = max(ph, pw)
        dtype, device = features.dtype, features.device
        need_rois = ctx.needs_input_grad[1]
        steps, grid, pooled, _ = _constants(n, max(h, w), pw, ph, device, dtype)
        box = rois[:, 1:].to(dtype) * spatial_scale
        start = box[:, :2]  # (K, 2): x0, y0
        extent = box[:, 2:] - start
        bin_size = extent.clamp_min(0) / pooled
        edges = torch.addcmul(start[:, :, None], bin_size[:, :, None], steps)  # (K, 2, n+1)

        x_lo, y_lo, x_hi, y_hi = 0, 0, w - 1, h - 1
        if device.type == "cpu":
            # Sample s gets a non-zero weight only if floor(first edge) <= s <= ceil(last edge): beyond, the clamped
            # |edge - s| is exactly 1 in floating point too, so its terms cancel. One host sync, cheap on CPU.
            lo, hi = edges[:, :, 0].amin(0), edges[:, :, -1].amax(0)
            x_min, y_min, x_max, y_max = torch.cat((lo, hi)).tolist()
            x_lo, x_hi = _window(x_min, x_max, w)
            y_lo, y_hi = _window(y_min, y_max, h)
            if x_lo or y_lo:
                # Exact: 0 <= origin <= edge, so the difference needs no more bits than the edge.
                edges = edges - torch.tensor([[x_lo], [y_lo]], dtype=dtype)
        wc, hc = x_hi - x_lo + 1, y_hi - y_lo + 1

        u = (edges[..., None] - grid[: max(wc, hc)]).clamp(-1.0, 1.0)  # (K, 2, n+1, span)
        dist = u.abs()
        # Antiderivative of hat(t) from -1, minus its constant 1/2 (which cancels in the differences).
        anti = torch.addcmul(u, u, dist, value=-0.5)
        inv_bin = 1.0 / _safe_divisor(bin_size)  # zero-size bins have all-zero weights: pool to 0, no NaN
        weights = (anti[:, :, 1:] - anti[:, :, :-1]) * inv_bin[:, :, None, None]  # (K, 2, n, span)
        if need_rois:
            weights = torch.cat((weights, 1.0 - dist), 2)  # bins, then the n + 1 edges' hats
        k, r = weights.shape[0], weights.shape[2]
        wx, wy = weights[:, 0, :, :wc], weights[:, 1, :, :hc]

        # The y contraction as one batch of (K*r, Hc) x (Hc, Wc) products over the channels, reading the crop in
        # place; then the x contraction with the channels as the long output dimension: (r, Wc) x (Wc, C) products
        # run several times faster than (C, Wc) x (Wc, r) ones, whose few output columns leave the vector units idle.
        crop = features[image, :, y_lo : y_hi + 1, x_lo : x_hi + 1]  # (C, Hc, Wc)
        rows = torch.matmul(wy.reshape(k * r, hc), crop)  # (C, K*r, Wc)
        prods = torch.matmul(wx[:, None], rows.view(c, k, r, wc).permute(1, 2, 3, 0))  # (K, r, r, C)
        out = prods[:, :ph, :pw]  # (K, ph, pw, C)

        ctx.window = (image, x_lo, y_lo, wc, hc, b, c, h, w)
        ctx.sizes = (ph, pw, n)
        ctx.spatial_scale = spatial_scale
        ctx.rois_dtype = rois.dtype
        saved = [None] * 5
        if ctx.needs_input_grad[0]:
            saved[0], saved[1] = wx[:, :pw], wy[:, :ph]
        if need_rois:
            # d bin / d (x1 - x0) through the clamp, times the common factor 1 / bin of d out / d bin. Like
            # autograd's clamp, the kink of a zero-size box takes the flat side: out stays 0 there.
            size_scale = inv_bin * (extent > 0).to(dtype) / pooled
            saved[2], saved[3], saved[4] = prods, inv_bin, size_scale
        ctx.save_for_backward(*saved)
        return out.permute(0, 3, 1, 2).contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        wx, wy, prods, inv_bin, size_scale = ctx.saved_tensors
        image, x_lo, y_lo, wc, hc, b, c, h, w = ctx.window
        ph, pw, n = ctx.sizes
        k = grad_out.shape[0]
        grad_features = grad_rois = None
        if ctx.needs_input_grad[0]:
            part = torch.bmm(grad_out.transpose(1, 2).reshape(k, ph * c, pw), wx)  # (K, ph*C, Wc)
            crop = torch.mm(wy.reshape(k * ph, hc).t(), part.view(k * ph, c * wc)).view(hc, c, wc)
            if (b, wc, hc) == (1, w, h):
                grad_features = crop.transpose(0, 1).contiguous().view(1, c, h, w)
            else:
                grad_features = grad_out.new_zeros(b, c, h, w)
                grad_features[image, :, y_lo : y_lo + hc, x_lo : x_lo + wc] = crop.transpose(0, 1)
        if ctx.needs_input_grad[1]:
            grad = grad_out.permute(0, 2, 3, 1)  # (K, ph, pw, C), the layout of the products
            padded = F.pad(grad, (0, 0, 1, 1, 1, 1))
            # Edge m bounds bin m - 1 on its left (+ line integral) and bin m on its right (-).
            across_x = padded[:, 1:-1, :-1] - padded[:, 1:-1, 1:]  # (K, ph, pw+1, C)
            across_y = padded[:, :-1, 1:-1] - padded[:, 1:, 1:-1]  # (K, ph+1, pw, C)
            edge = grad.new_zeros(k, 2, n + 1)
            edge[:, 0, : pw + 1] = torch.linalg.vecdot(across_x, prods[:, :ph, n : n + pw + 1]).sum(1)
            edge[:, 1, : ph + 1] = torch.linalg.vecdot(across_y, prods[:, n : n + ph + 1, :pw]).sum(2)
            # The average's 1 / bin factor: d out / d bin = -out / bin, summed against the gradient.
            mass = torch.linalg.vecdot(grad, prods[:, :ph, :pw]).sum((1, 2))  # (K,)
            _, _, _, moments = _constants(n, max(h, w), pw, ph, grad.device, grad.dtype)
            sums = torch.matmul(edge, moments)  # (K, 2, 2): sum_m g_m and sum_m m g_m per axis
            grad_start = sums[:, :, 0] * inv_bin
            grad_size = (sums[:, :, 1] - mass[:, None]) * size_scale
            grad_box = torch.cat((grad_start - grad_size, grad_size), 1) * ctx.spatial_scale
            grad_rois = F.pad(grad_box, (1, 0)).to(ctx.rois_dtype)
        return grad_features, grad_rois, None, None, None, None


def _window(lo: float, hi: float, size: int) -> tuple[int, int]:
    """Inclusive sample range ``[floor(lo), ceil(hi)]`` clipped to ``[0, size - 1]``; never empty."""
    first = min(max(math.floor(lo), 0), size - 1)
    last = max(min(math.ceil(hi), size - 1), first)
    return first, last


def _pool_separable(
    features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float
) -> torch.Tensor:
    if features.shape[0] == 1:
        return _SeparablePool.apply(features, rois, 0, pooled_height, pooled_width, spatial_scale)
    # Several images: pool each image's boxes on its own map (one host sync to group them).
    batch = rois[:, 0].round().long()
    out = features.new_empty(rois.shape[0], features.shape[1], pooled_height, pooled_width)
    parts, where = [], []
    for b in batch.unique().tolist():
        index = (batch == b).nonzero().squeeze(1)
        parts.append(_SeparablePool.apply(features, rois[index], b, pooled_height, pooled_width, spatial_scale))
        where.append(index)
    order = torch.cat(where)
    return out.index_copy(0, order, torch.cat(parts))


@functools.lru_cache(maxsize=64)
def _box_constants(size: int, spatial_scale: float, device: torch.device, dtype: torch.dtype):
    """Cached constants of the single-bin form: ``grid`` (size,) = 0..size-1 and ``mix`` (9, 5).

    ``mix`` maps the flattened (3, 3) products ``P[i, j] = g . (Y_i F X_j)`` (row 0: the bin weights, rows 1-2:
    the hats at the low and high edge; Y along y, X along x) to the box gradient ``[0, x0, y0, x1, y1]``
    before the per-axis ``1 / size`` factor: ``x0: P00 - P01``, ``y0: P00 - P10``, ``x1: P02 - P00``,
    ``y1: P20 - P00``, all times ``spatial_scale``.
    """
    grid = torch.arange(size, dtype=dtype, device=device)
    mix = torch.zeros(9, 5, dtype=dtype)
    mix[0, 1:] = torch.tensor([1.0, 1.0, -1.0, -1.0])
    mix[1, 1] = mix[3, 2] = -1.0
    mix[2, 3] = mix[6, 4] = 1.0
    return grid, (mix * spatial_scale).to(device)


def _box_weights(rois: torch.Tensor, spatial_scale: float, size: int, dtype: torch.dtype, with_hats: bool):
    """Bin weights of single-bin boxes, optionally stacked with the hat functions at the box edges.

    Returns:
        ``weights`` (K, 1 + 2 * with_hats, 2, size): row 0 the bin averages of each sample's hat function along x
        (``[:, :, 0]``) and y (``[:, :, 1]``); rows 1 and 2 the hats at the low and high edge. ``inv`` (K, 2): one
        over the box width and height in map cells, 0 for a zero size.
    """
    grid, mix = _box_constants(size, spatial_scale, rois.device, dtype)
    if rois.dtype != dtype:
        rois = rois.to(dtype)
    corners = rois[:, 1:].reshape(-1, 2, 2)  # (K, corner, axis)
    # A negative size counts as 0: the high corner is moved onto the low one, so that both edges coincide and
    # all weights are exactly 0.
    edges = torch.maximum(corners, corners[:, :1]) * spatial_scale
    extent = edges[:, 1] - edges[:, 0]
    inv = extent.reciprocal().nan_to_num_(posinf=0.0)
    u = (edges[..., None] - grid).clamp_(-1.0, 1.0)  # (K, corner, axis, size)
    dist = u.abs()
    anti = torch.addcmul(u, u, dist, value=-0.5)
    weights = torch.sub(anti[:, 1:], anti[:, :1]).mul_(inv[:, None, :, None])
    if with_hats:
        weights = torch.cat((weights, 1.0 - dist), 1)
    return weights, inv, mix


def _box_forward(features: torch.Tensor, rois: torch.Tensor, spatial_scale: float, with_hats: bool):
    """Single-bin pooling on a (1, C, H, W) map: (K, C, 1, 1) values plus the terms the backward pass needs."""
    _, c, h, w = features.shape
    k = rois.shape[0]
    weights, inv, mix = _box_weights(rois, spatial_scale, max(h, w), features.dtype, with_hats)
    # The bin average is Y F X^T: one outer product per box, then one product over the flattened map with the
    # channels as the long output dimension.
    outer = (weights[:, 0, 1, :h, None] * weights[:, 0, 0, None, :w]).view(k, h * w)
    fmap = features.reshape(c, h * w)
    out = torch.mm(outer, fmap.t()).view(k, c, 1, 1)
    return out, outer, fmap, weights, inv, mix


class _BoxPool(torch.autograd.Function):
    """PrRoIPool with a single bin (``pooled_height = pooled_width = 1``) on a single image.

    The bin is the whole box, so the separable form reduces to ``out = Y F X^T`` with one weight vector per axis;
    the op count (not the arithmetic) dominates at tracking sizes, so the weights of both axes and both box edges
    are built together and the backward pass is three products:

    * ``dL/dF = sum_boxes g (Y outer X)``;
    * moving the high x edge changes the integral by the line integral ``Y F Ex1^T`` (``Ex1``: the hats at that
      edge) and the average by that minus the average, over the width; the low edge likewise with the signs
      flipped; y alike.
    """

    @staticmethod
    def forward(ctx, features, rois, spatial_scale):  # noqa: D102
        need_rois = ctx.needs_input_grad[1]
        out, outer, fmap, weights, inv, mix = _box_forward(features, rois, spatial_scale, need_rois)
        ctx.shape = features.shape
        ctx.rois_dtype = rois.dtype
        if need_rois:
            ctx.save_for_backward(outer, fmap, weights, inv, mix)
        else:
            ctx.save_for_backward(outer, None, None, None, None)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        outer, fmap, weights, inv, mix = ctx.saved_tensors
        _, c, h, w = ctx.shape
        k = grad_out.shape[0]
        grad = grad_out.reshape(k, c)
        grad_features = grad_rois = None
        if ctx.needs_input_grad[0]:
            grad_features = torch.mm(grad.t(), outer).view(1, c, h, w)
        if ctx.needs_input_grad[1]:
            back = torch.mm(grad, fmap).view(k, h, w)  # g . F per sample
            cols = torch.bmm(back, weights[:, :, 0, :w].transpose(1, 2))  # (K, H, 3)
            prods = torch.bmm(weights[:, :, 1, :h], cols)  # (K, 3, 3)
            grad_rois = torch.mm(prods.view(k, 9), mix)  # (K, 5), column 0 (batch index) stays 0
            grad_rois[:, 1:].view(k, 2, 2).mul_(inv[:, None])
            grad_rois = grad_rois.to(ctx.rois_dtype)
        return grad_features, grad_rois, None


def _pool_box(features: torch.Tensor, rois: torch.Tensor, spatial_scale: float) -> torch.Tensor:
    """Single-bin PrRoIPool on a (1, C, H, W) map -> (K, C, 1, 1); the values of the separable form with one bin."""
    if torch.is_grad_enabled() and (features.requires_grad or rois.requires_grad):
        return _BoxPool.apply(features, rois, spatial_scale)
    # Tracking's modulation vectors: no autograd Function, and none of the terms only its backward pass needs.
    return _box_forward(features, rois, spatial_scale, False)[0]


def _sat_table(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed-area table of the per-channel centred maps and the channel means.

    Returns:
        ``table`` (B * (H + 4) * (W + 4), C): ``table[b, i, j]`` (flattened) is the sum of the centred map over rows
        ``< i - 2`` and columns ``< j - 2`` (two zero rows/columns of padding on each side), channels last so that
        each lookup reads one contiguous C-vector; ``mean`` (B, C).
    """
    b, c, h, w = features.shape
    mean = features.mean(dim=(2, 3))
    centred = features - mean[:, :, None, None]
    table = F.pad(centred, (2, 2, 2, 2)).cumsum(3).cumsum(2).permute(0, 2, 3, 1).contiguous()
    return table.view(b * (h + 4) * (w + 4), c), mean


def _pool_sat(
    features: torch.Tensor, rois: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float
) -> torch.Tensor:
    # Through autograd: TableLevels' ops are differentiable in the features (table, mean) and the boxes.
    outs, _ = TableLevels([features], [(pooled_height, pooled_width)], [spatial_scale]).forward(rois)
    return outs[0].contiguous()


# Polynomial coefficients in (1, f, f^2) of the three spline weights and of their slopes (see _edge_coefficients).
_SPLINE_POLY = (
    (0.5, 0.5, 0.0, -1.0, 1.0, 0.0),
    (-1.0, 1.0, 0.0, 1.0, -2.0, 1.0),
    (0.5, -1.0, 0.5, 0.0, 0.0, 0.0),
)


def _edge_coefficients(
    coord: torch.Tensor, size: torch.Tensor, poly: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell index and lookup coefficients of bin edges along one axis, with their derivatives.

    With ``X = n + f`` (``n = floor(X)``), the antiderivative from -1 of the 1-D interpolant equals
    ``sum_j c_j P(n + j)`` for ``j = 0, 1, 2``, where ``P(t) = sum_{w < t} F[w]`` and ``c = ((1-f)^2/2,
    1/2 + f - f^2, f^2/2)``; for a constant map of ones the sum is ``sum_j c_j clamp(n + j, 0, size)`` (the tables
    hold centred maps; this term adds the mean back). Coordinates are clamped to [-1, size], outside of which the
    antiderivative is flat (slopes 0 there). Autograd through the coefficients is exact too: ``floor`` has a zero
    gradient and the closed forms are continuous across cell borders.

    Args:
        coord: edge coordinates in feature cells, any shape.
        size: map size along the axis, broadcasting against ``coord``.
        poly: the (3, 6) float tensor of :data:`_SPLINE_POLY`.

    Returns:
        ``n`` (long, shape of ``coord``) and the coefficients ``coord.shape + (2, 4)``: row 0 holds ``c_0, c_1, c_2``
        and the constant map's antiderivative, row 1 their derivatives with respect to ``coord``.
    """
    inside = (coord > -1.0) & (coord < size)
    coord = torch.minimum(coord.clamp_min(-1.0), size)
    cell = coord.floor()
    f = coord - cell
    coef = (torch.stack((torch.ones_like(f), f, f * f), dim=-1) @ poly).unflatten(-1, (2, 3))
    coef = coef * torch.stack((torch.ones_like(inside), inside), dim=-1)[..., None]
    level = torch.minimum((cell[..., None] + poly.new_tensor([0.0, 1.0, 2.0])).clamp_min(0.0), size[..., None])
    constant = (coef * level[..., None, :]).sum(-1, keepdim=True)
    return cell.long(), torch.cat((coef, constant), dim=-1)


@functools.lru_cache(maxsize=32)
def _level_layout(
    pooled_sizes: tuple[tuple[int, int], ...],
    map_sizes: tuple[tuple[int, int], ...],
    spatial_scales: tuple[float, ...],
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> SimpleNamespace:
    """Index and weight constants of :class:`TableLevels` for one geometry (built once: tracking asks for the same
    geometry every frame, and the Python loops here would cost more than pooling)."""
    n_levels = len(pooled_sizes)
    lay = SimpleNamespace()
    # Edges: per level its pw + 1 x edges, then its ph + 1 y edges. Corners: per level, row-major (y, x) pairs.
    # Bins: per level, row-major; bin (i, j) = corner (i+1, j+1) - (i+1, j) - (i, j+1) + (i, j).
    edge_group, edge_step, edge_size = [], [], []  # group = 2 * level + axis (0: x, 1: y)
    corner_x, corner_y, corner_level, corner_rows, corner_taps = [], [], [], [], []
    bin_corners: list[tuple[int, int, int, int]] = []
    bin_level = []
    row_offset = 0
    for level, ((ph, pw), (h, w)) in enumerate(zip(pooled_sizes, map_sizes, strict=True)):
        first_x = len(edge_step)
        first_y = first_x + pw + 1
        for axis, (n, size) in enumerate(((pw, w), (ph, h))):
            edge_group += [2 * level + axis] * (n + 1)
            edge_step += [float(i) for i in range(n + 1)]
            edge_size += [float(size)] * (n + 1)
        first_corner = len(corner_x)
        for i in range(ph + 1):
            for j in range(pw + 1):
                corner_x.append(first_x + j)
                corner_y.append(first_y + i)
                corner_level.append(level)
                # Row of tap (0, 0) at cell (y, x) of image b: offset + (b * (h + 4) + y + 1) * (w + 4) + x + 1,
                # i.e. y * row length + x + base + b * image size.
                corner_rows.append((row_offset + w + 5, (h + 4) * (w + 4), w + 4))
                corner_taps.append([a * (w + 4) + b for a in range(3) for b in range(3)])
        for i in range(ph):
            for j in range(pw):
                c = first_corner + i * (pw + 1) + j
                bin_corners.append((c + pw + 2, c + pw + 1, c + 1, c))
                bin_level.append(level)
        row_offset += batch * (h + 4) * (w + 4)
    n_edges, n_corners, n_bins = len(edge_step), len(corner_x), len(bin_corners)

    def tensor(values, **kw) -> torch.Tensor:
        return torch.tensor(values, device=device, **kw)

    lay.edge_group = tensor(edge_group)
    lay.edge_step = tensor(edge_step, dtype=dtype)
    lay.edge_size = tensor(edge_size, dtype=dtype)
    lay.corner_x, lay.corner_y = tensor(corner_x), tensor(corner_y)
    lay.corner_level = tensor(corner_level)
    lay.corner_base, lay.corner_image_size, lay.corner_width = tensor(corner_rows).unbind(1)  # (corners,) each
    lay.corner_taps = tensor(corner_taps)  # (corners, 9)
    lay.mean_row = torch.arange(batch * n_levels, device=device).view(batch, n_levels) + row_offset  # (B, L)
    lay.pooled = tensor([[pw, ph] for ph, pw in pooled_sizes], dtype=dtype)  # (L, 2)
    lay.scale = tensor(spatial_scales, dtype=dtype)
    lay.poly = tensor(_SPLINE_POLY, dtype=dtype)
    # Per row set (values, d/dx, d/dy) and tap, which of the 8 coefficients (values then slopes, 4 each: three taps
    # and the constant map's term) of the corner's y and x edges multiply: taps (a, b) for a, b < 3, then the means.
    rows_yx = ((0, 0), (0, 1), (1, 0))
    taps_yx = [(a, b) for a in range(3) for b in range(3)] + [(3, 3)]
    lay.select_y = tensor([[4 * ry + a for a, _ in taps_yx] for ry, _ in rows_yx])  # (3, 10)
    lay.select_x = tensor([[4 * rx + b for _, b in taps_yx] for _, rx in rows_yx])
    corners = torch.zeros(n_bins, n_corners, dtype=dtype)
    for b, (c11, c10, c01, c00) in enumerate(bin_corners):
        corners[b, c11] += 1.0
        corners[b, c10] -= 1.0
        corners[b, c01] -= 1.0
        corners[b, c00] += 1.0
    lay.differences = corners.to(device)  # (bins, corners)
    lay.bin_level = F.one_hot(tensor(bin_level), n_levels).to(dtype)  # (bins, L)
    # Gradient of the corners' values along x (first block of rows) and y (second) summed onto their edges.
    gather = torch.zeros(2 * n_corners, n_edges, dtype=dtype)
    gather[torch.arange(n_corners), torch.tensor(corner_x)] = 1.0
    gather[n_corners + torch.arange(n_corners), torch.tensor(corner_y)] = 1.0
    lay.corner_to_edge = gather.to(device)
    # Edge e = start[group] + step_e * bin[group]: its gradient summed per group, plain and step-weighted.
    group = F.one_hot(torch.tensor(edge_group), 2 * n_levels).to(dtype)  # (E, 2L)
    lay.edge_to_group = torch.cat((group, group * torch.tensor(edge_step, dtype=dtype)[:, None]), 1).to(device)
    lay.level_slices = []
    start = 0
    for ph, pw in pooled_sizes:
        lay.level_slices.append((start, start + ph * pw))
        start += ph * pw

    return lay


class TableLevels:
    """Summed-area tables of one or more feature maps (same batch and channels), pooled together.

    Each level has its own pooled size and spatial scale. All levels' tables are stacked so that every bin corner
    of every level and box is read in one fused gather: a corner is one ``embedding_bag`` row of nine table taps
    plus one row of channel means (the tables hold centred maps), weighted by the spline coefficients and by its
    bin's ``1 / area``; the corners' derivatives along x and y are two more such rows each, read in the same call
    when box gradients are wanted. Bins are then differences of their four corners, a constant sparse matrix applied
    as one product. This is what keeps the per-call op count low for the IoU-Net's two pools.

    Layout: bins are listed level by level, row-major within a level (``ph_l * pw_l`` each), channels last.

    Args:
        features: one (B, C, H_l, W_l) map per level.
        pooled_sizes: (ph_l, pw_l) per level.
        spatial_scales: feature-map pixels per input pixel, per level.
    """

    def __init__(
        self,
        features: list[torch.Tensor],
        pooled_sizes: list[tuple[int, int]],
        spatial_scales: list[float],
    ) -> None:
        if not features or not len(features) == len(pooled_sizes) == len(spatial_scales):
            raise ValueError("one pooled size and one spatial scale per feature map are needed")
        for f in features:
            if f.dim() != 4 or f.shape[:2] != features[0].shape[:2]:
                raise ValueError(
                    f"features must be (B, C, H, W) with a common B and C, got {[tuple(x.shape) for x in features]}"
                )
        self.pooled_sizes = tuple((int(ph), int(pw)) for ph, pw in pooled_sizes)
        tables, means = zip(*(_sat_table(f) for f in features), strict=True)
        # Rows: the levels' tables, then the channel means of (image b, level l) at row table_rows + b * L + l.
        self.table = torch.cat((*tables, torch.stack(means, 1).flatten(0, 1)))
        ref = features[0]
        self.layout = _level_layout(
            self.pooled_sizes,
            tuple(tuple(f.shape[2:]) for f in features),
            tuple(float(s) for s in spatial_scales),
            ref.shape[0],
            ref.device,
            ref.dtype,
        )

    def pool(self, rois: torch.Tensor, box_grad: bool = False) -> tuple[torch.Tensor, tuple]:
        """Pool ``rois`` (K, 5) at every level; differentiable by autograd, or by :meth:`grad_rois` (boxes only).

        Args:
            rois: (K, 5) ``[batch_index, x0, y0, x1, y1]`` in input pixels.
            box_grad: also read the corners' derivatives, for :meth:`grad_rois`.

        Returns:
            The pooled values (K, bins, C) (see the class docstring for the bin order), and the state
            :meth:`grad_rois` needs.
        """
        box = rois[:, None, 1:].to(self.table.dtype) * self.layout.scale[:, None]  # (K, L, 4)
        start = box[..., :2]
        return self._pool(start, box[..., 2:] - start, rois[:, 0].round().long(), box_grad, rois.dtype)

    def pool_boxes(
        self, boxes: torch.Tensor, batch: torch.Tensor | None = None, box_grad: bool = False
    ) -> tuple[torch.Tensor, tuple]:
        """:meth:`pool` for boxes (K, 4) ``[x, y, w, h]`` in input pixels (no conversion to rois and back); see
        :meth:`grad_boxes`.

        Args:
            boxes: (K, 4) boxes.
            batch: (K,) long image index of each box; None: all on image 0 (tracking's one search image).
            box_grad: as for :meth:`pool`.
        """
        box = boxes[:, None].to(self.table.dtype) * self.layout.scale[:, None]  # (K, L, 4)
        return self._pool(box[..., :2], box[..., 2:], batch, box_grad, boxes.dtype)

    def _pool(
        self, start: torch.Tensor, size: torch.Tensor, batch: torch.Tensor | None, box_grad: bool, dtype: torch.dtype
    ) -> tuple[torch.Tensor, tuple]:
        """Boxes from ``start`` (x0, y0) and ``size`` (w, h), (K, L, 2) in feature cells per level; ``batch`` (K,)
        image indices or None for image 0."""
        lay = self.layout
        k = start.shape[0]
        positive = size > 0
        bins = size.clamp_min(0.0) / lay.pooled  # (K, L, 2): bin width and height
        area = bins.prod(-1)
        inv_area = torch.where(area > 0, 1.0 / torch.where(area > 0, area, 1.0), 0.0)  # (K, L); 0 if empty
        group = lay.edge_group
        edges = torch.addcmul(start.flatten(1)[:, group], bins.flatten(1)[:, group], lay.edge_step)  # (K, E)
        cell, coef = _edge_coefficients(edges, lay.edge_size, lay.poly)  # (K, E), (K, E, 2, 4)

        base = cell[:, lay.corner_y] * lay.corner_width + cell[:, lay.corner_x] + lay.corner_base  # (K, corners)
        if batch is None:
            means = lay.mean_row[0, lay.corner_level].expand(k, -1)
        else:
            base = base + batch[:, None] * lay.corner_image_size
            means = lay.mean_row[batch][:, lay.corner_level]
        index = torch.cat((base[..., None] + lay.corner_taps, means[..., None]), -1)  # (K, corners, 10)

        # Rows: values, then (with box_grad) d / d x_j and d / d y_i; weighted by 1 / area so that they sum
        # straight to bin averages.
        sets = 3 if box_grad else 1
        cy = coef[:, lay.corner_y].flatten(-2) * inv_area[:, lay.corner_level, None]  # (K, corners, 8)
        cx = coef[:, lay.corner_x].flatten(-2)
        weights = (cy[..., lay.select_y[:sets]] * cx[..., lay.select_x[:sets]]).permute(2, 0, 1, 3)
        if box_grad:
            index = index.expand(3, *index.shape)
        gathered = F.embedding_bag(
            index.reshape(-1, 10), self.table, per_sample_weights=weights.reshape(-1, 10), mode="sum"
        )
        gathered = gathered.view(sets, k, -1, self.table.shape[1])
        out = torch.matmul(lay.differences, gathered[0])  # (K, bins, C)
        saved = (gathered[1:] if box_grad else None, out, inv_area, bins, positive, dtype)
        return out, saved

    def _grad(self, saved: tuple, grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradients (K, L, 2) with respect to :meth:`_pool`'s ``start`` and ``size`` times the spatial scale."""
        lay = self.layout
        deriv, out, inv_area, bins, positive, _ = saved
        k = out.shape[0]
        # out = integral / area (0 for an empty bin): d out / d area = -out / area, summed per level.
        grad_area = -torch.linalg.vecdot(grad_out, out) @ lay.bin_level * inv_area  # (K, L)
        grad_corners = torch.matmul(lay.differences.t(), grad_out)  # (K, corners, C)
        d = torch.linalg.vecdot(deriv, grad_corners)  # (2, K, corners): along x, along y
        grad_edges = d.transpose(0, 1).reshape(k, -1) @ lay.corner_to_edge  # (K, E)
        grad_start, grad_bins = (grad_edges @ lay.edge_to_group).view(k, 2, -1, 2).unbind(1)  # (K, L, 2) each
        # bin = max(size, 0) / pooled;  area = bin_w * bin_h.
        grad_bins = grad_bins + grad_area[..., None] * bins.flip(-1)
        grad_size = grad_bins * positive / lay.pooled  # the flat side at a zero size
        scale = lay.scale[:, None]
        return grad_start * scale, grad_size * scale

    def grad_rois(self, saved: tuple, grad_out: torch.Tensor) -> torch.Tensor:
        """Gradient with respect to the rois (K, 5) of :meth:`pool` (called with ``box_grad=True``), given the
        gradient (K, bins, C) of its output. The tables are constants (tracking: features are fixed while the
        boxes move)."""
        grad_start, grad_size = self._grad(saved, grad_out)
        grad_box = torch.cat((grad_start - grad_size, grad_size), dim=-1).sum(1)  # x0 = start, x1 = start + size
        return F.pad(grad_box, (1, 0)).to(saved[-1])

    def grad_boxes(self, saved: tuple, grad_out: torch.Tensor) -> torch.Tensor:
        """Gradient with respect to the boxes (K, 4) ``[x, y, w, h]`` of :meth:`pool_boxes` (``box_grad=True``)."""
        grad_start, grad_size = self._grad(saved, grad_out)
        return torch.cat((grad_start, grad_size), dim=-1).sum(1).to(saved[-1])

    def forward(self, rois: torch.Tensor, box_grad: bool = False) -> tuple[list[torch.Tensor], tuple]:
        """Pool ``rois`` (K, 5) at every level; see :meth:`pool`.

        Returns:
            Per level the pooled values (K, C, ph_l, pw_l) (channels-last views), and the state :meth:`backward`
            needs.
        """
        out, saved = self.pool(rois, box_grad)
        lay = self.layout
        k, c = out.shape[0], out.shape[2]
        outs = [
            out[:, a:b].view(k, ph, pw, c).permute(0, 3, 1, 2)
            for (a, b), (ph, pw) in zip(lay.level_slices, self.pooled_sizes, strict=True)
        ]
        return outs, saved

    def backward(self, saved: tuple, grad_outs: list[torch.Tensor | None]) -> torch.Tensor:
        """Gradient with respect to the rois (K, 5) of :meth:`forward`, given per level ``grad_out`` (K, C, ph, pw)."""
        out = saved[1]
        lay = self.layout
        k, c = out.shape[0], out.shape[2]
        parts = [
            out.new_zeros(k, b - a, c) if g is None else g.permute(0, 2, 3, 1).reshape(k, b - a, c)
            for (a, b), g in zip(lay.level_slices, grad_outs, strict=True)
        ]
        return self.grad_rois(saved, torch.cat(parts, 1))


class _TableBoxPool(torch.autograd.Function):
    """Autograd wrapper of :meth:`TableLevels.forward` / :meth:`TableLevels.backward` for one level (box gradients
    only); :meth:`TableLevels.forward` under autograd also differentiates the features."""

    @staticmethod
    def forward(ctx, rois, levels):  # noqa: D102
        outs, ctx.saved = levels.forward(rois, box_grad=True)
        ctx.levels = levels
        return outs[0]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        return ctx.levels.backward(ctx.saved, [grad_out]), None


class PreparedPrRoIPool:
    """PrRoIPool of many box sets on the same feature maps: the summed-area table is built once.

    Tracking refines boxes by gradient ascent on fixed features (five forward and backward passes per frame), so
    the per-frame work on the maps is done here once and each call only reads the table: its cost is independent
    of the map and box sizes. Values equal :func:`prroi_pool2d`'s to float rounding (see the module docstring on
    the table's float32 precision for bins far below one feature cell). Differentiable with respect to the box
    coordinates (a hand-written backward pass) and, through autograd, to the features when they required
    gradients at construction.

    Args:
        features: (B, C, H, W) feature maps.
        pooled_height, pooled_width, spatial_scale: as for :func:`prroi_pool2d`.
    """

    def __init__(self, features: torch.Tensor, pooled_height: int, pooled_width: int, spatial_scale: float):
        if features.dim() != 4:
            raise ValueError(f"features must be (B, C, H, W), got shape {tuple(features.shape)}")
        self.levels = TableLevels([features], [(pooled_height, pooled_width)], [spatial_scale])
        self.shape = tuple(features.shape)
        self.pooled_height, self.pooled_width = int(pooled_height), int(pooled_width)
        self.spatial_scale = float(spatial_scale)

    def __call__(self, rois: torch.Tensor) -> torch.Tensor:
        """Pool ``rois`` (K, 5) ``[batch_index, x0, y0, x1, y1]`` -> (K, C, pooled_height, pooled_width)."""
        if rois.dim() != 2 or rois.shape[1] != 5:
            raise ValueError(f"rois must be (K, 5), got shape {tuple(rois.shape)}")
        ph, pw = self.pooled_height, self.pooled_width
        table = self.levels.table
        if rois.shape[0] == 0:
            return table.new_zeros(0, self.shape[1], ph, pw) + rois.sum().to(table.dtype) * 0
        if table.requires_grad and torch.is_grad_enabled():
            return self.levels.forward(rois)[0][0]  # autograd, to reach the features too
        return _TableBoxPool.apply(rois, self.levels)


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
            ``"auto"`` also has a dedicated path for a single bin on a single image.

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
        if pooled_height == pooled_width == 1 and b == 1:
            return _pool_box(features, rois, spatial_scale)
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

    def prepare(self, features: torch.Tensor) -> PreparedPrRoIPool:
        """This layer bound to ``features``, for many pooling calls on them (see :class:`PreparedPrRoIPool`)."""
        return PreparedPrRoIPool(features, self.pooled_height, self.pooled_width, self.spatial_scale)

    def extra_repr(self) -> str:
        return (
            f"pooled_height={self.pooled_height}, pooled_width={self.pooled_width}, spatial_scale={self.spatial_scale}"
        )
