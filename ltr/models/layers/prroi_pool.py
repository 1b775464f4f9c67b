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


def _spline_and_slope(coord: torch.Tensor, size: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cell index, quadratic B-spline weights that turn prefix sums into the interpolant's antiderivative, and
    their derivatives.

    With ``X = n + f`` (``n = floor(X)``), the antiderivative from -1 of the 1-D interpolant equals
    ``sum_j c_j P(n + j)`` for ``j = 0, 1, 2``, where ``P(t) = sum_{w < t} F[w]`` and ``c = ((1-f)^2/2,
    1/2 + f - f^2, f^2/2)``. Coordinates are clamped to [-1, size], outside of which the antiderivative is flat
    (slopes 0 there). ``size`` is a tensor broadcasting against ``coord`` (one map size per level). Autograd
    through the weights is exact too: ``floor`` has a zero gradient and the closed forms are continuous across
    cell borders.

    Returns:
        ``n`` (long, shape of ``coord``), the weights and their slopes ``d c / d coord`` (``coord.shape + (3,)``).
    """
    inside = (coord > -1.0) & (coord < size)
    coord = torch.minimum(coord.clamp_min(-1.0), size)
    cell = coord.floor()
    f = coord - cell
    weights = torch.stack(((1 - f) * (1 - f) * 0.5, 0.5 + f - f * f, f * f * 0.5), dim=-1)
    slopes = torch.stack((f - 1, 1 - 2 * f, f), dim=-1) * inside[..., None]
    return cell.long(), weights, slopes


class TableLevels:
    """Summed-area tables of one or more feature maps (same batch and channels), pooled together.

    Each level has its own pooled size and spatial scale; the tables are stacked so that all levels of all boxes
    are read with one fused gather, and levels with fewer bins are padded with empty bins (repeated last edges, whose
    values and gradients are exactly 0). This is what keeps the per-call op count low for the IoU-Net's two pools.

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
        self.shapes = [tuple(f.shape) for f in features]
        self.pooled_sizes = [(int(ph), int(pw)) for ph, pw in pooled_sizes]
        self.spatial_scales = [float(s) for s in spatial_scales]
        tables, means = zip(*(_sat_table(f) for f in features), strict=True)
        self.table = torch.cat(tables) if len(tables) > 1 else tables[0]
        self.mean = torch.stack(means, 1)  # (B, L, C)
        self.requires_grad = self.table.requires_grad

        ref = features[0]
        dev, dtype = ref.device, ref.dtype
        self.ny = max(ph for ph, _ in self.pooled_sizes)
        self.nx = max(pw for _, pw in self.pooled_sizes)
        heights = [shape[2] for shape in self.shapes]
        widths = [shape[3] for shape in self.shapes]

        def steps(n_max: int, n: int) -> list[float]:
            return [float(min(i, n)) for i in range(n_max + 1)]

        self.steps_x = torch.tensor([steps(self.nx, pw) for _, pw in self.pooled_sizes], dtype=dtype, device=dev)
        self.steps_y = torch.tensor([steps(self.ny, ph) for ph, _ in self.pooled_sizes], dtype=dtype, device=dev)
        self.pooled = torch.tensor([[pw, ph] for ph, pw in self.pooled_sizes], dtype=dtype, device=dev)  # (L, 2)
        self.scale = torch.tensor(self.spatial_scales, dtype=dtype, device=dev)
        self.size_w = torch.tensor(widths, dtype=dtype, device=dev)[:, None]  # (L, 1)
        self.size_h = torch.tensor(heights, dtype=dtype, device=dev)[:, None]
        rows = [(h + 4) * (w + 4) * ref.shape[0] for h, w in zip(heights, widths, strict=True)]
        offsets = [sum(rows[:i]) for i in range(len(rows))]
        self.offset = torch.tensor(offsets, device=dev)
        self.hp = torch.tensor([h + 4 for h in heights], device=dev)
        self.wp = torch.tensor([w + 4 for w in widths], device=dev)
        taps = torch.arange(3, device=dev)
        self.taps = (taps[None, :, None] * self.wp[:, None, None] + taps).reshape(-1, 9)  # (L, 9)
        self.tap_offsets = taps

    def forward(self, rois: torch.Tensor) -> tuple[list[torch.Tensor], tuple]:
        """Pool ``rois`` (K, 5) at every level, without autograd.

        Returns:
            Per level the pooled values (K, C, ph_l, pw_l) (channels-last views), and the state
            :meth:`backward` needs.
        """
        k = rois.shape[0]
        c = self.table.shape[1]
        ny, nx = self.ny, self.nx
        dtype = self.table.dtype
        box = rois[:, None, 1:].to(dtype) * self.scale[:, None]  # (K, L, 4)
        x0, y0, x1, y1 = box.unbind(-1)
        pos_w, pos_h = x1 > x0, y1 > y0
        bin_w = torch.where(pos_w, x1 - x0, 0.0) / self.pooled[:, 0]
        bin_h = torch.where(pos_h, y1 - y0, 0.0) / self.pooled[:, 1]
        cell_x, cx, sx = _spline_and_slope(torch.addcmul(x0[..., None], bin_w[..., None], self.steps_x), self.size_w)
        cell_y, cy, sy = _spline_and_slope(torch.addcmul(y0[..., None], bin_h[..., None], self.steps_y), self.size_h)

        batch = rois[:, 0].round().long()
        base = (batch[:, None, None, None] * self.hp[:, None, None] + cell_y[..., None] + 1) * self.wp[
            :, None, None
        ] + (cell_x[:, :, None, :] + 1 + self.offset[:, None, None])  # (K, L, ny+1, nx+1)
        index = (base[..., None] + self.taps[:, None, None, :]).reshape(-1, 9)
        tap_weights = (cy[:, :, :, None, :, None] * cx[:, :, None, :, None, :]).reshape(-1, 9)
        anti = F.embedding_bag(index, self.table, per_sample_weights=tap_weights, mode="sum")
        anti = anti.view(k, -1, ny + 1, nx + 1, c)
        along_x = anti[:, :, :, 1:] - anti[:, :, :, :-1]
        integral = along_x[:, :, 1:] - along_x[:, :, :-1]  # (K, L, ny, nx, C)

        # Add back the mean: a constant map's prefix sum along an axis is clamp(t, 0, size).
        level_x = torch.minimum((cell_x[..., None] + self.tap_offsets).clamp_min(0).to(dtype), self.size_w[..., None])
        level_y = torch.minimum((cell_y[..., None] + self.tap_offsets).clamp_min(0).to(dtype), self.size_h[..., None])
        ones_x = (cx * level_x).sum(-1)  # (K, L, nx+1)
        ones_y = (cy * level_y).sum(-1)
        dx_ones, dy_ones = ones_x[..., 1:] - ones_x[..., :-1], ones_y[..., 1:] - ones_y[..., :-1]
        box_mean = self.mean[batch]  # (K, L, C)
        mass = dy_ones[..., :, None] * dx_ones[..., None, :]  # (K, L, ny, nx)
        integral = torch.addcmul(integral, mass[..., None], box_mean[:, :, None, None, :])
        area = bin_w * bin_h
        inv_area = torch.where(area > 0, 1.0 / torch.where(area > 0, area, 1.0), 0.0)  # (K, L)
        out = integral * inv_area[..., None, None, None]

        outs = [out[:, i, :ph, :pw].permute(0, 3, 1, 2) for i, (ph, pw) in enumerate(self.pooled_sizes)]
        saved = (index, cx, cy, sx, sy, level_x, level_y, dx_ones, dy_ones, box_mean, out, inv_area, bin_w, bin_h,
                 pos_w, pos_h, rois.dtype)  # fmt: skip
        return outs, saved

    def backward(self, saved: tuple, grad_outs: list[torch.Tensor | None]) -> torch.Tensor:
        """Gradient with respect to the rois (K, 5) of :meth:`forward`, given per level ``grad_out`` (K, C, ph, pw).

        The derivative of a corner's antiderivative along x is the same gather with ``cx`` replaced by the weights'
        closed-form slopes (y alike): two more gathers, dotted with the corner gradients, then the chain rule down
        to the box corners. The tables are constants (tracking: features are fixed while the boxes move).
        """
        (index, cx, cy, sx, sy, level_x, level_y, dx_ones, dy_ones, box_mean, out, inv_area, bin_w, bin_h,
         pos_w, pos_h, rois_dtype) = saved  # fmt: skip
        k, n_levels, ny, nx, c = out.shape
        if n_levels == 1 and grad_outs[0] is not None:
            g = grad_outs[0].permute(0, 2, 3, 1)[:, None]
        else:
            g = out.new_zeros(out.shape)
            for i, ((ph, pw), grad) in enumerate(zip(self.pooled_sizes, grad_outs, strict=True)):
                if grad is not None:
                    g[:, i, :ph, :pw] = grad.permute(0, 2, 3, 1)
        # out = integral / area (0 for a zero-size bin).
        grad_area = -(g * out).sum((2, 3, 4)) * inv_area  # (K, L)
        gi = g * inv_area[..., None, None, None]
        # integral[i, j] = anti[i+1, j+1] - anti[i+1, j] - anti[i, j+1] + anti[i, j]
        padded = F.pad(gi, (0, 0, 1, 1, 1, 1))
        grad_anti = padded[:, :, :-1, :-1] - padded[:, :, :-1, 1:] - padded[:, :, 1:, :-1] + padded[:, :, 1:, 1:]
        # d anti / d (corner x) is the gather with cx replaced by its slope sx; y alike.
        slope_x = (cy[:, :, :, None, :, None] * sx[:, :, None, :, None, :]).reshape(-1, 9)
        slope_y = (sy[:, :, :, None, :, None] * cx[:, :, None, :, None, :]).reshape(-1, 9)
        both = torch.cat((slope_x, slope_y))
        deriv = F.embedding_bag(index.repeat(2, 1), self.table, per_sample_weights=both, mode="sum")
        deriv = torch.linalg.vecdot(deriv.view(2, -1, c), grad_anti.reshape(1, -1, c))
        deriv = deriv.view(2, k, n_levels, ny + 1, nx + 1)
        grad_ex = deriv[0].sum(2)  # (K, L, nx+1)
        grad_ey = deriv[1].sum(3)  # (K, L, ny+1)
        # The mean's term: mass[i, j] = dy_ones[i] * dx_ones[j] with ones = sum_b c_b * level_b.
        grad_mass = torch.linalg.vecdot(gi, box_mean[:, :, None, None, :])  # (K, L, ny, nx)
        grad_dx = (grad_mass * dy_ones[..., :, None]).sum(2)  # (K, L, nx)
        grad_dy = (grad_mass * dx_ones[..., None, :]).sum(3)  # (K, L, ny)
        grad_ex = grad_ex + (F.pad(grad_dx, (1, 0)) - F.pad(grad_dx, (0, 1))) * (sx * level_x).sum(-1)
        grad_ey = grad_ey + (F.pad(grad_dy, (1, 0)) - F.pad(grad_dy, (0, 1))) * (sy * level_y).sum(-1)
        # Corner coordinates: edge_j = x0 + steps_j * bin_w.
        grad_bin_w = (grad_ex * self.steps_x).sum(-1) + grad_area * bin_h
        grad_bin_h = (grad_ey * self.steps_y).sum(-1) + grad_area * bin_w
        grad_w = grad_bin_w * pos_w / self.pooled[:, 0]  # d bin_w / d (x1 - x0), the flat side at a zero size
        grad_h = grad_bin_h * pos_h / self.pooled[:, 1]
        grad_box = torch.stack((grad_ex.sum(-1) - grad_w, grad_ey.sum(-1) - grad_h, grad_w, grad_h), dim=-1)
        grad_box = (grad_box * self.scale[:, None]).sum(1)  # (K, 4)
        return F.pad(grad_box, (1, 0)).to(rois_dtype)


class _TableBoxPool(torch.autograd.Function):
    """Autograd wrapper of :meth:`TableLevels.forward` / :meth:`TableLevels.backward` for one level (box gradients
    only); :meth:`TableLevels.forward` under autograd also differentiates the features."""

    @staticmethod
    def forward(ctx, rois, levels):  # noqa: D102
        outs, ctx.saved = levels.forward(rois)
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
        if self.levels.requires_grad and torch.is_grad_enabled():
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
