"""Tests for the pure-PyTorch Precise RoI Pooling layer against an independent piecewise-exact reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltr.models.layers.prroi_pool import PrRoIPool2D, TableLevels, _pool_box, prroi_pool2d

METHODS = ("separable", "sat")


def _interp(fmap: np.ndarray, y: float, x: float) -> float:
    """Bilinear interpolant of a (H, W) map at (y, x), the map being zero outside its samples."""
    h, w = fmap.shape
    y0, x0 = math.floor(y), math.floor(x)
    total = 0.0
    for yy in (y0, y0 + 1):
        for xx in (x0, x0 + 1):
            if 0 <= yy < h and 0 <= xx < w:
                total += fmap[yy, xx] * max(0.0, 1 - abs(y - yy)) * max(0.0, 1 - abs(x - xx))
    return total


def _pieces(a: float, b: float) -> list[tuple[float, float]]:
    """[a, b] split at the integers inside it."""
    cuts = [a] + [float(t) for t in range(math.floor(a) + 1, math.ceil(b))] + [b]
    return list(zip(cuts[:-1], cuts[1:]))


def _bin_average(fmap: np.ndarray, y_a: float, y_b: float, x_a: float, x_b: float) -> float:
    """Exact bin average: on each integer cell the interpolant is bilinear, whose mean is its centre value."""
    area = (y_b - y_a) * (x_b - x_a)
    if area <= 0:
        return 0.0
    total = 0.0
    for ya, yb in _pieces(y_a, y_b):
        for xa, xb in _pieces(x_a, x_b):
            total += (yb - ya) * (xb - xa) * _interp(fmap, 0.5 * (ya + yb), 0.5 * (xa + xb))
    return total / area


def reference_pool(features: torch.Tensor, rois: torch.Tensor, ph: int, pw: int, scale: float) -> torch.Tensor:
    """Slow, loop-based PrRoIPool used as ground truth (float64)."""
    feats = features.detach().double().numpy()
    out = np.zeros((rois.shape[0], feats.shape[1], ph, pw))
    for k, (bi, x0, y0, x1, y1) in enumerate(rois.detach().double().tolist()):
        x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale, y1 * scale
        bw, bh = max(x1 - x0, 0.0) / pw, max(y1 - y0, 0.0) / ph
        for c in range(feats.shape[1]):
            for i in range(ph):
                for j in range(pw):
                    ya, xa = y0 + i * bh, x0 + j * bw
                    out[k, c, i, j] = _bin_average(feats[int(bi), c], ya, ya + bh, xa, xa + bw)
    return torch.from_numpy(out)


def _random_case(seed: int, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(2, 3, 7, 9, generator=gen, dtype=dtype)
    boxes = [
        [0, 1.3, 0.7, 6.2, 5.9],  # inside
        [1, -2.6, -1.7, 3.1, 2.4],  # over the top-left border
        [1, 5.5, 3.2, 11.8, 9.3],  # over the bottom-right border
        [0, -6.0, -5.0, -1.5, -2.0],  # fully outside (beyond the zero ramp)
        [1, -1.6, 2.2, -0.3, 4.4],  # inside the zero ramp left of the map
        [0, 2.0, 1.0, 6.0, 5.0],  # integer corners
        [1, 3.41, 2.77, 3.47, 2.81],  # tiny
        [0, -1.0, -1.0, 9.0, 7.0],  # the whole support, integer
    ]
    rand = torch.rand(6, 4, generator=gen, dtype=torch.float64)
    for r in rand.tolist():
        x0, y0 = r[0] * 12 - 3, r[1] * 10 - 3
        boxes.append([len(boxes) % 2, x0, y0, x0 + r[2] * 8, y0 + r[3] * 7])
    return feats, torch.tensor(boxes, dtype=dtype)


def test_reference_matches_dense_midpoint_rule():
    # Check the reference itself with plain brute force: a fine midpoint grid over one bin.
    gen = torch.Generator().manual_seed(3)
    fmap = torch.randn(5, 6, generator=gen, dtype=torch.float64).numpy()
    y_a, y_b, x_a, x_b = -0.7, 2.35, 3.2, 6.6
    n = 300
    ys = y_a + (np.arange(n) + 0.5) * (y_b - y_a) / n
    xs = x_a + (np.arange(n) + 0.5) * (x_b - x_a) / n
    brute = np.mean([[_interp(fmap, y, x) for x in xs] for y in ys])
    assert _bin_average(fmap, y_a, y_b, x_a, x_b) == pytest.approx(brute, abs=1e-4)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("ph", "pw", "scale"), [(2, 3, 1.0), (3, 3, 0.5), (1, 1, 1.0)])
def test_matches_reference_float64(method, ph, pw, scale):
    feats, rois = _random_case(seed=ph * 10 + pw)
    rois[:, 1:] /= scale
    out = prroi_pool2d(feats, rois, ph, pw, scale, method=method)
    expected = reference_pool(feats, rois, ph, pw, scale)
    assert out.shape == (rois.shape[0], 3, ph, pw)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_float32_close_to_float64(method):
    feats, rois = _random_case(seed=11)
    if method == "sat":
        # Prefix-sum differences lose float32 precision in proportion to 1 / bin area (see the module notes):
        # leave out the tiny box, whose bins are 0.03 x 0.013 cells.
        rois = rois[[i for i in range(rois.shape[0]) if i != 6]]
    out32 = prroi_pool2d(feats.float(), rois.float(), 3, 2, 1.0, method=method)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), prroi_pool2d(feats, rois, 3, 2, 1.0), rtol=0, atol=2e-5)


def test_auto_and_methods_agree_on_larger_inputs():
    gen = torch.Generator().manual_seed(5)
    feats = torch.randn(1, 16, 36, 36, generator=gen, dtype=torch.float64).relu()
    xy = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 260 - 20
    wh = torch.rand(200, 2, generator=gen, dtype=torch.float64) * 130 + 20
    rois = torch.cat([torch.zeros(200, 1, dtype=torch.float64), xy, xy + wh], 1)
    for k in (10, 200):  # below and above the "auto" switch
        sep = prroi_pool2d(feats, rois[:k], 5, 5, 1 / 8, method="separable")
        torch.testing.assert_close(prroi_pool2d(feats, rois[:k], 5, 5, 1 / 8, method="sat"), sep, rtol=0, atol=1e-11)
        torch.testing.assert_close(PrRoIPool2D(5, 5, 1 / 8)(feats, rois[:k]), sep, rtol=0, atol=1e-11)


def test_separable_orders_with_and_without_gradients_agree():
    # On one image the separable form contracts the axes in a different order when no gradient is needed.
    feats, rois = _random_case(seed=13)
    feats = feats[:1]
    rois = rois.clone()
    rois[:, 0] = 0
    plain = prroi_pool2d(feats, rois, 3, 2, 1.0, method="separable")
    tracked = prroi_pool2d(feats.clone().requires_grad_(), rois, 3, 2, 1.0, method="separable")
    assert tracked.requires_grad and not plain.requires_grad
    torch.testing.assert_close(plain, tracked.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(plain, reference_pool(feats, rois, 3, 2, 1.0), rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_constant_map_inside_gives_the_constant(method):
    feats = torch.full((1, 2, 6, 8), 2.5, dtype=torch.float64)
    rois = torch.tensor([[0, 0.0, 0.0, 7.0, 5.0], [0, 1.3, 0.2, 4.9, 3.7]], dtype=torch.float64)
    out = prroi_pool2d(feats, rois, 2, 3, 1.0, method=method)
    torch.testing.assert_close(out, torch.full_like(out, 2.5), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_linear_ramp_gives_value_at_bin_centre(method):
    h, w = 6, 8
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    feats = (0.5 + 2.0 * xs - 3.0 * ys)[None, None]
    x0, y0, x1, y1 = 0.4, 1.1, 6.7, 4.9
    out = prroi_pool2d(feats, torch.tensor([[0, x0, y0, x1, y1]], dtype=torch.float64), 2, 3, 1.0, method=method)
    cx = x0 + (torch.arange(3, dtype=torch.float64) + 0.5) * (x1 - x0) / 3
    cy = y0 + (torch.arange(2, dtype=torch.float64) + 0.5) * (y1 - y0) / 2
    expected = 0.5 + 2.0 * cx[None, :] - 3.0 * cy[:, None]
    torch.testing.assert_close(out[0, 0], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_border_decay_of_constant_map(method):
    # Map of ones, 4 x 5. Along x the interpolant ramps 0 -> 1 on [-1, 0] and 1 -> 0 on [4, 5].
    feats = torch.ones(1, 1, 4, 5, dtype=torch.float64)
    rois = torch.tensor(
        [
            [0, -1.0, 0.0, 0.0, 3.0],  # the left ramp: mean 1/2
            [0, 4.0, 0.0, 5.0, 3.0],  # the right ramp: mean 1/2
            [0, 3.0, 0.0, 6.0, 3.0],  # 1 on [3, 4], ramp on [4, 5], 0 on [5, 6]: (1 + 1/2) / 3
            [0, -1.0, -1.0, 0.0, 0.0],  # corner: mean of (1 + x)(1 + y) over the unit square = 1/4
            [0, 5.0, 0.0, 8.0, 3.0],  # beyond the ramp: 0
        ],
        dtype=torch.float64,
    )
    out = prroi_pool2d(feats, rois, 1, 1, 1.0, method=method).flatten()
    torch.testing.assert_close(out, torch.tensor([0.5, 0.5, 0.5, 0.25, 0.0], dtype=torch.float64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck_features(method):
    feats, rois = _random_case(seed=21)
    feats = feats[:, :2, :5, :6].clone().requires_grad_()
    rois = rois[[0, 1, 2, 6, 9]]
    assert torch.autograd.gradcheck(lambda f: prroi_pool2d(f, rois, 2, 2, 1.0, method=method), (feats,))


@pytest.mark.parametrize("method", METHODS)
def test_gradcheck_roi_coordinates(method):
    gen = torch.Generator().manual_seed(8)
    feats = torch.randn(2, 2, 6, 7, generator=gen, dtype=torch.float64)
    # Generic points: no edge on an integer, including boxes crossing the map border.
    coords = torch.tensor(
        [[1.37, 0.61, 5.23, 4.48], [-1.71, -0.38, 2.29, 3.13], [4.12, 2.57, 8.36, 7.74], [2.21, 1.83, 2.94, 2.42]],
        dtype=torch.float64,
        requires_grad=True,
    )
    batch = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64)

    def pool(c):
        return prroi_pool2d(feats, torch.cat([batch, c], 1), 2, 3, 1.0, method=method)

    assert torch.autograd.gradcheck(pool, (coords,))
    # The gradient is not trivially zero: moving the box changes the pooled values.
    (grad,) = torch.autograd.grad(pool(coords).sum(), coords)
    assert grad.abs().min() > 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_zero_and_negative_size_boxes_give_zero_with_finite_gradients(method):
    feats = torch.randn(1, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor(
        [[0, 2.3, 1.7, 2.3, 4.1], [0, 1.2, 3.3, 4.4, 3.3], [0, 4.0, 4.0, 1.0, 1.0], [0, 2.5, 2.5, 3.5, 3.5]],
        dtype=torch.float64,
        requires_grad=True,
    )
    out = prroi_pool2d(feats, rois, 2, 2, 1.0, method=method)
    assert torch.equal(out[:3], torch.zeros_like(out[:3]))
    assert out[3].abs().sum() > 0
    out.sum().backward()
    assert torch.isfinite(feats.grad).all() and torch.isfinite(rois.grad).all()


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_empty_rois(method):
    feats = torch.randn(2, 4, 5, 5, requires_grad=True)
    rois = torch.zeros(0, 5, requires_grad=True)
    out = prroi_pool2d(feats, rois, 3, 2, 0.5, method=method)
    assert out.shape == (0, 4, 3, 2)
    out.sum().backward()
    assert torch.equal(feats.grad, torch.zeros_like(feats))


@pytest.mark.parametrize("method", METHODS)
def test_batch_index_selects_the_image(method):
    gen = torch.Generator().manual_seed(4)
    feats = torch.randn(3, 2, 6, 7, generator=gen, dtype=torch.float64)
    coords = torch.tensor([[0.5, 1.2, 4.6, 5.3], [1.1, 0.3, 5.8, 3.9]], dtype=torch.float64)
    rois = torch.cat([torch.tensor([[2.0], [1.0]], dtype=torch.float64), coords], 1)
    out = prroi_pool2d(feats, rois, 2, 2, 1.0, method=method)
    for k, b in enumerate((2, 1)):
        single = prroi_pool2d(
            feats[b : b + 1], torch.cat([torch.zeros(1, 1, dtype=torch.float64), coords[k : k + 1]], 1), 2, 2, 1.0
        )
        torch.testing.assert_close(out[k], single[0], rtol=0, atol=1e-12)
    assert not torch.allclose(out[0], prroi_pool2d(feats[:1], rois * torch.tensor([0, 1, 1, 1, 1]), 2, 2, 1.0)[0])


@pytest.mark.parametrize("method", METHODS)
def test_spatial_scale(method):
    feats, rois = _random_case(seed=9)
    scaled = rois.clone()
    scaled[:, 1:] *= 16
    torch.testing.assert_close(
        prroi_pool2d(feats, scaled, 2, 2, 1 / 16, method=method),
        prroi_pool2d(feats, rois, 2, 2, 1.0, method=method),
        rtol=0,
        atol=1e-12,
    )


def test_module_api():
    pool = PrRoIPool2D(3, 5, 0.125)
    assert list(pool.parameters()) == []
    assert "pooled_height=3" in repr(pool) and "spatial_scale=0.125" in repr(pool)
    out = pool(torch.randn(1, 4, 9, 9), torch.tensor([[0.0, 8.0, 8.0, 56.0, 40.0]]))
    assert out.shape == (1, 4, 3, 5) and out.is_contiguous()


def _autograd_separable(features: torch.Tensor, rois: torch.Tensor, ph: int, pw: int, scale: float) -> torch.Tensor:
    """The separable closed form built from plain differentiable ops, so that autograd supplies the gradients.

    Dense weights over the whole map, one box at a time: an independent check of the hand-written backward pass.
    """
    outs = []
    for roi in rois:
        x0, y0, x1, y1 = (roi[1:] * scale).unbind()
        axes = []
        for start, end, bins, size in ((x0, x1, pw, features.shape[3]), (y0, y1, ph, features.shape[2])):
            # Not clamp_min: its gradient at exactly 0 differs between torch versions. The kink of a zero-size box
            # takes the flat side, as in the layer.
            length = torch.where(end > start, end - start, torch.zeros_like(start)) / bins
            edges = start + length * torch.arange(bins + 1, dtype=features.dtype)
            u = (edges[:, None] - torch.arange(size, dtype=features.dtype)).clamp(-1, 1)
            anti = u - 0.5 * u * u.abs()
            axes.append((anti[1:] - anti[:-1]) / torch.where(length > 0, length, torch.ones_like(length)))
        wx, wy = axes
        outs.append(wy @ features[int(roi[0].round())] @ wx.t())
    return torch.stack(outs)


def _gradient_case(seed: int, batch: int = 2):
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(batch, 3, 7, 9, generator=gen, dtype=torch.float64)
    boxes = [
        [1.3, 0.7, 6.2, 5.9],  # inside
        [-2.6, -1.7, 3.1, 2.4],  # over the top-left border
        [5.5, 3.2, 11.8, 9.3],  # over the bottom-right border
        [-6.0, -5.0, -1.5, -2.0],  # fully outside
        [2.0, 1.0, 6.0, 5.0],  # integer corners
        [2.3, 1.7, 2.3, 4.1],  # zero width
        [1.2, 3.0, 4.4, 3.0],  # zero height, integer y
        [4.0, 4.0, 1.0, 1.0],  # negative size
        [3.41, 2.77, 3.47, 2.81],  # tiny
    ]
    index = torch.arange(len(boxes), dtype=torch.float64)[:, None] % batch
    return feats, torch.cat([index, torch.tensor(boxes, dtype=torch.float64)], 1)


@pytest.mark.parametrize(("ph", "pw", "batch"), [(2, 3, 2), (3, 3, 1), (1, 1, 1), (4, 2, 3)])
def test_separable_backward_matches_autograd_of_the_closed_form(ph, pw, batch):
    # Includes the kinks (zero and negative sizes, integer edges) where gradcheck does not apply: the hand-written
    # backward pass must give the same one-sided values as autograd through the formula.
    feats, rois = _gradient_case(seed=ph * 10 + pw, batch=batch)
    rois[:, 1:] *= 2
    gen = torch.Generator().manual_seed(1)
    weights = torch.randn(rois.shape[0], 3, ph, pw, generator=gen, dtype=torch.float64)
    results = []
    for pool in (
        lambda f, r: prroi_pool2d(f, r, ph, pw, 0.5, method="separable"),
        lambda f, r: _autograd_separable(f, r, ph, pw, 0.5),
    ):
        f, r = feats.clone().requires_grad_(), rois.clone().requires_grad_()
        out = pool(f, r)
        f_grad, r_grad = torch.autograd.grad((out * weights).sum(), (f, r))
        results.append((out, f_grad, r_grad))
    for ours, expected in zip(*results):
        torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)
    assert results[0][2][:, 1:].abs().max() > 0.1  # not trivially zero


@pytest.mark.parametrize("batch", [1, 2])
def test_separable_gradcheck_features_and_coordinates_together(batch):
    feats, rois = _gradient_case(seed=31, batch=batch)
    feats = feats.requires_grad_()
    coords = rois[[0, 1, 2, 8], 1:].clone().requires_grad_()
    index = rois[[0, 1, 2, 8], :1]

    def pool(f, c):
        return prroi_pool2d(f, torch.cat([index, c], 1), 3, 2, 1.0, method="separable")

    assert torch.autograd.gradcheck(pool, (feats, coords))


def test_separable_only_the_requested_gradients():
    feats, rois = _gradient_case(seed=2, batch=1)
    for f_grad, r_grad in ((True, False), (False, True)):
        f, r = feats.clone().requires_grad_(f_grad), rois.clone().requires_grad_(r_grad)
        prroi_pool2d(f, r, 2, 2, 1.0, method="separable").sum().backward()
        assert (f.grad is not None) == f_grad and (r.grad is not None) == r_grad
        if r_grad:
            assert torch.equal(r.grad[:, 0], torch.zeros_like(r.grad[:, 0]))  # the batch index has no gradient


@pytest.mark.parametrize("method", METHODS)
def test_values_outside_the_boxes_support_do_not_matter(method):
    # The separable form crops the map to the samples the boxes reach: exact, since other weights are zero.
    gen = torch.Generator().manual_seed(6)
    feats = torch.randn(1, 2, 12, 14, generator=gen, dtype=torch.float64)
    rois = torch.tensor([[0, 4.3, 3.6, 7.2, 6.1], [0, 5.0, 4.0, 8.0, 7.0], [0, 3.9, 5.2, 6.6, 5.2]])
    rois = rois.double()
    # The boxes' edges span x in [3.9, 8.0] and y in [3.6, 7.0]: only samples x = 3..8, y = 3..7 are reached.
    changed = feats.clone()
    outside = torch.ones(12, 14, dtype=torch.bool)
    outside[3:8, 3:9] = False
    changed[:, :, outside] = 100.0
    out = prroi_pool2d(feats, rois, 2, 3, 1.0, method=method)
    torch.testing.assert_close(prroi_pool2d(changed, rois, 2, 3, 1.0, method=method), out, rtol=0, atol=1e-12)
    torch.testing.assert_close(out, reference_pool(feats, rois, 2, 3, 1.0), rtol=0, atol=1e-10)
    f, r = feats.clone().requires_grad_(), rois.clone().requires_grad_()
    grads = torch.autograd.grad(prroi_pool2d(f, r, 2, 3, 1.0, method=method).sum(), (f, r))
    expected = torch.autograd.grad(_autograd_separable(f, r, 2, 3, 1.0).sum(), (f, r))
    for ours, exact in zip(grads, expected):
        torch.testing.assert_close(ours, exact, rtol=0, atol=1e-12)
    if method == "separable":
        assert torch.equal(grads[0][:, :, outside], torch.zeros_like(grads[0][:, :, outside]))


def _single_image_case(seed: int, height: int = 7, width: int = 9):
    """One (1, 3, H, W) float64 map and the gradient-case boxes (kinks included) moved onto image 0."""
    _, rois = _gradient_case(seed, batch=1)
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, height, width, generator=gen, dtype=torch.float64), rois


@pytest.mark.parametrize(("height", "width"), [(7, 9), (8, 5)])
def test_single_bin_path_matches_reference_and_general_forms(height, width):
    feats, rois = _single_image_case(41, height, width)
    rois[:, 1:] *= 2
    expected = reference_pool(feats, rois, 1, 1, 0.5)
    box = _pool_box(feats, rois, 0.5)
    assert box.shape == (rois.shape[0], 3, 1, 1) and box.dtype == torch.float64 and box.is_contiguous()
    torch.testing.assert_close(box, expected, rtol=0, atol=1e-10)
    # "auto" takes the single-bin path on one image; the general forms must agree with it.
    torch.testing.assert_close(prroi_pool2d(feats, rois, 1, 1, 0.5), box, rtol=0, atol=0)
    for method in METHODS:
        torch.testing.assert_close(prroi_pool2d(feats, rois, 1, 1, 0.5, method=method), box, rtol=0, atol=1e-12)
    # Zero width, zero height and negative size pool to exactly 0.
    assert torch.equal(box[5:8], torch.zeros_like(box[5:8]))


def test_single_bin_path_with_and_without_autograd_agree():
    feats, rois = _single_image_case(43)
    plain = _pool_box(feats, rois, 1.0)
    for f_grad, r_grad in ((True, False), (False, True), (True, True)):
        out = _pool_box(feats.clone().requires_grad_(f_grad), rois.clone().requires_grad_(r_grad), 1.0)
        assert out.requires_grad
        torch.testing.assert_close(out.detach(), plain, rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(_pool_box(feats.clone().requires_grad_(), rois, 1.0), plain, rtol=0, atol=0)


def test_single_bin_backward_matches_autograd_of_the_closed_form():
    # Kinks included (zero and negative sizes, integer edges): the one-sided values of autograd through the formula.
    feats, rois = _single_image_case(45)
    rois[:, 1:] *= 2
    weights = torch.randn(rois.shape[0], 3, 1, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    results = []
    for pool in (lambda f, r: _pool_box(f, r, 0.5), lambda f, r: _autograd_separable(f, r, 1, 1, 0.5)):
        f, r = feats.clone().requires_grad_(), rois.clone().requires_grad_()
        out = pool(f, r)
        results.append((out, *torch.autograd.grad((out * weights).sum(), (f, r))))
    for ours, expected in zip(*results):
        torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)
    grad_rois = results[0][2]
    assert torch.equal(grad_rois[:, 0], torch.zeros_like(grad_rois[:, 0]))  # the batch index has no gradient
    assert torch.equal(grad_rois[5:8, 1:], torch.zeros_like(grad_rois[5:8, 1:]))  # flat side at zero size
    assert grad_rois[:, 1:].abs().max() > 0.1


def test_single_bin_gradcheck_features_and_coordinates():
    feats, rois = _single_image_case(47, 6, 7)
    feats = feats.requires_grad_()
    # Generic points only (no edge on an integer): inside, over both borders, tiny.
    coords = rois[[0, 1, 2, 8], 1:].clone().requires_grad_()
    index = rois[[0, 1, 2, 8], :1]

    def pool(f, c):
        return _pool_box(f, torch.cat([index, c], 1), 1.0)

    assert torch.autograd.gradcheck(pool, (feats, coords))
    assert torch.autograd.gradcheck(lambda c: pool(feats.detach(), c), (coords,))
    assert torch.autograd.gradcheck(lambda f: pool(f, coords.detach()), (feats,))


def test_single_bin_mixed_precision_and_only_requested_gradients():
    feats, rois = _single_image_case(49)
    expected = _pool_box(feats, rois, 1.0)
    # float32 boxes on a float64 map: the result and the box gradient follow their own dtypes.
    r32 = rois.float().requires_grad_()
    out = _pool_box(feats, r32, 1.0)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
    out.sum().backward()
    assert r32.grad.dtype == torch.float32 and torch.isfinite(r32.grad).all()
    for f_grad, r_grad in ((True, False), (False, True)):
        f, r = feats.clone().requires_grad_(f_grad), rois.clone().requires_grad_(r_grad)
        _pool_box(f, r, 1.0).sum().backward()
        assert (f.grad is not None) == f_grad and (r.grad is not None) == r_grad


def test_single_bin_several_images_use_the_general_forms():
    feats, rois = _gradient_case(seed=51, batch=2)
    expected = reference_pool(feats, rois, 1, 1, 1.0)
    torch.testing.assert_close(prroi_pool2d(feats, rois, 1, 1, 1.0), expected, rtol=0, atol=1e-10)


def test_invalid_arguments():
    feats = torch.randn(1, 2, 4, 4)
    with pytest.raises(ValueError):
        prroi_pool2d(feats[0], torch.zeros(1, 5), 2, 2, 1.0)
    with pytest.raises(ValueError):
        prroi_pool2d(feats, torch.zeros(1, 4), 2, 2, 1.0)
    with pytest.raises(ValueError):
        prroi_pool2d(feats, torch.zeros(1, 5), 0, 2, 1.0)
    with pytest.raises(ValueError):
        prroi_pool2d(feats, torch.zeros(1, 5), 2, 2, 1.0, method="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_cuda_matches_cpu(method):
    gen = torch.Generator().manual_seed(12)
    feats = torch.randn(2, 32, 18, 18, generator=gen)
    xy = torch.rand(40, 2, generator=gen) * 260 - 20
    wh = torch.rand(40, 2, generator=gen) * 130 + 20
    rois = torch.cat([(torch.arange(40) % 2).float()[:, None], xy, xy + wh], 1)

    def run(device):
        f = feats.detach().to(device).requires_grad_()
        r = rois.detach().to(device).requires_grad_()
        out = prroi_pool2d(f, r, 3, 3, 1 / 16, method=method)
        out.square().sum().backward()
        return out.cpu(), f.grad.cpu(), r.grad.cpu()

    for cpu, gpu in zip(run("cpu"), run("cuda")):
        torch.testing.assert_close(gpu, cpu, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------ prepared tables (tracking)


PREPARED_ROIS = [
    [0, 5.0, 6.0, 40.0, 50.0],
    [1, -10.0, 3.0, 30.0, 20.0],  # partly outside
    [0, 20.0, 20.0, 20.0, 30.0],  # zero width
    [1, 70.0, 60.0, 95.0, 90.0],
    [0, 200.0, 200.0, 230.0, 240.0],  # fully outside
]


@pytest.mark.parametrize(("ph", "pw", "scale"), [(5, 5, 1 / 8), (3, 3, 1 / 16), (1, 1, 1 / 8), (2, 4, 1 / 8)])
def test_prepared_pool_matches_reference_with_exact_box_gradients(ph, pw, scale):
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 9, 11, dtype=torch.float64)
    rois = torch.tensor(PREPARED_ROIS, dtype=torch.float64)
    prepared = PrRoIPool2D(ph, pw, scale).prepare(feats)
    torch.testing.assert_close(prepared(rois), reference_pool(feats, rois, ph, pw, scale), rtol=0, atol=1e-11)
    weights = torch.randn(rois.shape[0], 3, ph, pw, dtype=torch.float64)
    r1 = rois.clone().requires_grad_(True)
    r2 = rois.clone().requires_grad_(True)
    (g1,) = torch.autograd.grad((prepared(r1) * weights).sum(), r1)
    (g2,) = torch.autograd.grad((prroi_pool2d(feats, r2, ph, pw, scale, method="separable") * weights).sum(), r2)
    torch.testing.assert_close(g1, g2, rtol=0, atol=1e-12)
    assert torch.isfinite(g1).all()
    assert g1[4].abs().max() == 0  # nothing under a box outside the map
    nonzero = torch.tensor(PREPARED_ROIS[:2] + PREPARED_ROIS[3:4], dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(prepared, (nonzero,), eps=1e-6, atol=1e-6)


def test_prepared_pool_differentiates_features_when_they_require_grad():
    torch.manual_seed(1)
    feats = torch.randn(1, 2, 6, 7, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0, 3.0, 4.0, 30.0, 40.0]], dtype=torch.float64, requires_grad=True)
    prepared = PrRoIPool2D(3, 3, 1 / 8).prepare(feats)
    assert torch.autograd.gradcheck(prepared, (rois,), eps=1e-6, atol=1e-6)
    (grad,) = torch.autograd.grad(prepared(rois).sum(), feats)
    (expected,) = torch.autograd.grad(prroi_pool2d(feats, rois, 3, 3, 1 / 8).sum(), feats)
    torch.testing.assert_close(grad, expected, rtol=0, atol=1e-12)


def test_prepared_pool_float32_and_argument_checks():
    torch.manual_seed(2)
    feats = torch.randn(1, 16, 36, 36)
    rois = torch.tensor([[0.0, 100.0, 90.0, 160.0, 170.0], [0.0, 20.0, 30.0, 60.0, 50.0]])
    prepared = PrRoIPool2D(5, 5, 1 / 8).prepare(feats)
    torch.testing.assert_close(prepared(rois), prroi_pool2d(feats, rois, 5, 5, 1 / 8), rtol=0, atol=2e-5)
    empty = prepared(torch.zeros(0, 5))
    assert empty.shape == (0, 16, 5, 5)
    with pytest.raises(ValueError, match="rois must be"):
        prepared(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="features must be"):
        PrRoIPool2D(5, 5, 1 / 8).prepare(torch.zeros(16, 36, 36))


def test_table_levels_pool_several_maps_with_padded_bins_exactly():
    torch.manual_seed(3)
    f1 = torch.randn(2, 3, 9, 11, dtype=torch.float64)
    f2 = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    sizes, scales = [(2, 4), (3, 1)], [1 / 8, 1 / 16]
    levels = TableLevels([f1, f2], sizes, scales)
    rois = torch.tensor(PREPARED_ROIS, dtype=torch.float64)
    outs, saved = levels.forward(rois, box_grad=True)
    grads = [torch.randn_like(o) for o in outs]
    grad_rois = levels.backward(saved, grads)
    r = rois.clone().requires_grad_(True)
    expected = [prroi_pool2d(f, r, ph, pw, s, method="separable") for f, (ph, pw), s in zip((f1, f2), sizes, scales)]
    for out, exp in zip(outs, expected):
        torch.testing.assert_close(out, exp.detach(), rtol=0, atol=1e-11)
    (expected_grad,) = torch.autograd.grad(sum((e * g).sum() for e, g in zip(expected, grads)), r)
    torch.testing.assert_close(grad_rois, expected_grad, rtol=0, atol=1e-11)
    with pytest.raises(ValueError, match="common B and C"):
        TableLevels([f1, f2[:, :2]], sizes, scales)


def test_table_levels_pool_boxes_equals_pool_of_the_same_rois():
    torch.manual_seed(4)
    f1 = torch.randn(1, 3, 9, 11, dtype=torch.float64)
    f2 = torch.randn(1, 3, 5, 4, dtype=torch.float64)
    levels = TableLevels([f1, f2], [(2, 4), (3, 1)], [1 / 8, 1 / 16])
    boxes = torch.tensor(
        [[8.0, 4.0, 40.0, 30.0], [-10.0, 20.0, 100.0, 0.0], [30.0, 30.0, 1.5, 2.5]], dtype=torch.float64
    )
    rois = torch.cat((torch.zeros(3, 1, dtype=torch.float64), boxes[:, :2], boxes[:, :2] + boxes[:, 2:]), 1)
    out, saved = levels.pool(rois, box_grad=True)
    out_boxes, saved_boxes = levels.pool_boxes(boxes, box_grad=True)
    torch.testing.assert_close(out_boxes, out, rtol=0, atol=1e-12)
    grad = torch.randn_like(out)
    grad_rois = levels.grad_rois(saved, grad)
    # x0 = x, x1 = x + w: d/dx = d/dx0 + d/dx1, d/dw = d/dx1.
    expected = torch.cat((grad_rois[:, 1:3] + grad_rois[:, 3:5], grad_rois[:, 3:5]), 1)
    torch.testing.assert_close(levels.grad_boxes(saved_boxes, grad), expected, rtol=0, atol=1e-12)
