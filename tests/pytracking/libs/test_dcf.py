"""Tests for the DCF windows, labels, interpolation kernels, regularisation filter and max2d."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pytracking.libs import dcf, fourier
from pytracking.libs.tensorlist import TensorList


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def to_np(a: torch.Tensor) -> np.ndarray:
    return a[..., 0].numpy() + 1j * a[..., 1].numpy()


def keys_kernel(x: np.ndarray, a: float) -> np.ndarray:
    x = np.abs(x)
    inner = (a + 2) * x**3 - (a + 3) * x**2 + 1
    outer = a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return np.where(x <= 1, inner, np.where(x < 2, outer, 0.0))


def keys_fourier_numeric(f: float, a: float) -> float:
    x = np.linspace(0.0, 2.0, 40001)
    return float(2 * np.trapezoid(keys_kernel(x, a) * np.cos(2 * np.pi * f * x), x))


def periodic_gauss(n: int, sigma: float) -> np.ndarray:
    t = np.arange(n)[:, None] - n * np.arange(-5, 6)[None, :]
    return np.exp(-(t**2) / (2 * sigma**2)).sum(1)


# ------------------------------------------------------------------------------------------------ windows
def test_hann1d_centered_values():
    np.testing.assert_allclose(dcf.hann1d(3).numpy(), [0.5, 1.0, 0.5], atol=1e-7)
    c72, c144 = math.cos(2 * math.pi / 5), math.cos(4 * math.pi / 5)
    expected = [0.5 * (1 - c72), 0.5 * (1 - c144), 0.5 * (1 - c144), 0.5 * (1 - c72)]
    np.testing.assert_allclose(dcf.hann1d(4).numpy(), expected, atol=1e-7)
    assert dcf.hann1d(1).tolist() == [1.0]


def test_hann1d_fft_order_values():
    np.testing.assert_allclose(dcf.hann1d(4, centered=False).numpy(), [1.0, 0.75, 0.25, 0.75], atol=1e-7)
    a, b = 0.5 * (1 + math.cos(2 * math.pi / 7)), 0.5 * (1 + math.cos(4 * math.pi / 7))
    np.testing.assert_allclose(dcf.hann1d(5, centered=False).numpy(), [1.0, a, b, b, a], atol=1e-7)


def test_hann2d_outer_product():
    w = dcf.hann2d(torch.tensor([3, 4]))
    assert w.shape == (1, 1, 3, 4)
    torch.testing.assert_close(w[0, 0], dcf.hann1d(3)[:, None] * dcf.hann1d(4)[None, :])
    torch.testing.assert_close(dcf.hann2d((5, 4), centered=False)[0, 0, 0], dcf.hann1d(4, centered=False))


def test_hann2d_clipped():
    # Larger effective window: central crop of the big window.
    big = dcf.hann2d((9, 11))
    torch.testing.assert_close(dcf.hann2d_clipped((5, 7), (9, 11)), big[..., 2:7, 2:9])
    # Odd difference: the effective size is increased by one so the crop is symmetric (8 -> 9).
    torch.testing.assert_close(dcf.hann2d_clipped((5, 7), torch.tensor([8.0, 11.0])), big[..., 2:7, 2:9])
    # Smaller effective window: zero padding.
    small = dcf.hann2d_clipped((7, 5), (3, 3))
    assert small.shape == (1, 1, 7, 5)
    torch.testing.assert_close(small[..., 2:5, 1:4], dcf.hann2d((3, 3)))
    assert small.sum() == dcf.hann2d((3, 3)).sum()
    # FFT order: the peak moves to (0, 0).
    shifted = dcf.hann2d_clipped((5, 7), (9, 11), centered=False)
    torch.testing.assert_close(shifted, torch.roll(big[..., 2:7, 2:9], (-2, -3), dims=(2, 3)))
    assert shifted[0, 0, 0, 0] == shifted.max()


# ------------------------------------------------------------------------------------------------- labels
@pytest.mark.parametrize("sz,sigma", [(15, 2.0), (16, 2.5), (9, 1.5)])
def test_gauss_fourier_is_periodic_gaussian(sz, sigma):
    with_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        c = dcf.gauss_fourier(sz, sigma).numpy()
        half = dcf.gauss_fourier(sz, sigma, half=True).numpy()
    finally:
        torch.set_default_dtype(with_dtype)
    assert c.shape == (sz,) and half.shape == (sz // 2 + 1,)
    np.testing.assert_array_equal(half, c[(sz - 1) // 2 :])
    k = np.arange(-((sz - 1) // 2), sz // 2 + 1)
    t = np.arange(sz)
    g = (c[None, :] * np.exp(2j * np.pi * np.outer(t, k) / sz)).sum(1)
    # Truncating the series costs about exp(-(pi sigma)^2 / 2).
    np.testing.assert_allclose(g.real, periodic_gauss(sz, sigma), atol=5 * math.exp(-((math.pi * sigma) ** 2) / 2))


def test_gauss_fourier_closed_form():
    c = dcf.gauss_fourier(5, 1.0)
    k = torch.arange(-2, 3, dtype=torch.float64)
    expected = math.sqrt(2 * math.pi) / 5 * torch.exp(-2 * (math.pi * k / 5) ** 2)
    torch.testing.assert_close(c, expected.float())


def test_gauss_spatial():
    g = dcf.gauss_spatial(5, 1.0)
    np.testing.assert_allclose(g.numpy(), np.exp(-np.array([4, 1, 0, 1, 4]) / 2.0), rtol=1e-6)
    g = dcf.gauss_spatial(4, 2.0, center=0.5, end_pad=1)  # t = -1.5 .. 2.5, peak at t = 0.5
    assert g.shape == (5,)
    np.testing.assert_allclose(g.numpy(), np.exp(-((np.array([-1.5, -0.5, 0.5, 1.5, 2.5]) - 0.5) ** 2) / 8.0))


def test_label_function_matches_dft_of_periodic_gaussian():
    h, w, sy, sx = 9, 11, 2.0, 2.5
    yf = dcf.label_function(torch.tensor([h, w]), torch.tensor([sy, sx]))
    assert yf.shape == (1, 1, h, w // 2 + 1, 2)
    assert torch.all(yf[..., 1] == 0)
    spatial = torch.from_numpy(np.outer(periodic_gauss(h, sy), periodic_gauss(w, sx)))
    expected = fourier.cfft2(spatial) / (h * w)
    np.testing.assert_allclose(yf[0, 0].numpy(), expected.numpy(), atol=1e-7)


def test_label_function_spatial_peak():
    lab = dcf.label_function_spatial((7, 9), (1.0, 2.0))
    assert lab.shape == (1, 1, 7, 9)
    _, pos = dcf.max2d(lab)
    assert pos.flatten().tolist() == [3, 4]
    assert lab.max().item() == pytest.approx(1.0)
    lab = dcf.label_function_spatial((7, 9), (1.0, 2.0), center=torch.tensor([-2.0, 3.0]), end_pad=(1, 2))
    assert lab.shape == (1, 1, 8, 11)
    _, pos = dcf.max2d(lab)
    assert pos.flatten().tolist() == [1, 7]
    np.testing.assert_allclose(lab[0, 0, 1, 6].item(), math.exp(-1 / 8), rtol=1e-6)


# ------------------------------------------------------------------------------------------ interpolation
@pytest.mark.parametrize("a", [-0.75, -0.5, 0.5])
def test_cubic_spline_fourier_vs_numeric(a):
    f = torch.tensor([0.0, 1e-4, 0.0199, 0.0201, 0.05, 0.3, 0.5, 0.7, 1.3], dtype=torch.float64)
    out = dcf.cubic_spline_fourier(f, a)
    assert out.dtype == torch.float64
    assert out[0].item() == 1.0
    expected = [keys_fourier_numeric(v, a) for v in f.tolist()]
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-8)
    torch.testing.assert_close(dcf.cubic_spline_fourier(-f, a), out, rtol=0, atol=0)


def test_cubic_spline_fourier_is_continuous_at_switch():
    f = torch.linspace(0.0195, 0.0205, 11, dtype=torch.float64)
    d = dcf.cubic_spline_fourier(f, -0.75).diff()
    assert d.abs().max() < 1e-5 and (d > 0).all()  # smooth, increasing there for a = -0.75


def test_get_interp_fourier_ideal_reproduces_samples():
    x = torch.randn(2, 5, 7, dtype=torch.float64)
    iy, ix = dcf.get_interp_fourier((5, 7), method="ideal", centering=False)
    assert iy.shape == (5, 1, 2) and ix.shape == (1, 4, 2)
    np.testing.assert_allclose(to_np(iy).ravel(), np.full(5, 1 / 5), rtol=1e-6)
    xf = dcf.interpolate_dft(fourier.cfft2(x), (iy.double(), ix.double()))
    torch.testing.assert_close(fourier.sample_fs(xf, (5, 7)), x, rtol=0, atol=1e-6)


def test_get_interp_fourier_bicubic_centering_and_windowing():
    h, w, a = 5, 7, -0.75
    iy, ix = dcf.get_interp_fourier((h, w), method="bicubic", bicubic_param=a)
    ky = np.arange(-2, 3)
    kx = np.arange(0, 4)
    exp_y = dcf.cubic_spline_fourier(torch.from_numpy(ky / h), a).numpy() / h * np.exp(-1j * np.pi * ky / h)
    exp_x = dcf.cubic_spline_fourier(torch.from_numpy(kx / w), a).numpy() / w * np.exp(-1j * np.pi * kx / w)
    np.testing.assert_allclose(to_np(iy).ravel(), exp_y, atol=1e-7)
    np.testing.assert_allclose(to_np(ix).ravel(), exp_x, atol=1e-7)
    wy, wx = dcf.get_interp_fourier((h, w), method="bicubic", bicubic_param=a, windowing=True)
    np.testing.assert_allclose(to_np(wy).ravel(), exp_y * dcf.hann1d(h).numpy(), atol=1e-7)
    np.testing.assert_allclose(to_np(wx).ravel(), exp_x * dcf.hann1d(w).numpy()[3:], atol=1e-7)
    with pytest.raises(ValueError, match="bicubic"):
        dcf.get_interp_fourier((h, w), method="cubic")


def test_interpolate_dft_forms_and_tensorlist():
    xf = TensorList([torch.randn(1, 3, 5, 4, 2), torch.randn(1, 2, 3, 2, 2)])
    interp = TensorList([dcf.get_interp_fourier((5, 7)), dcf.get_interp_fourier((3, 3))])
    out = dcf.interpolate_dft(xf, interp)
    assert isinstance(out, TensorList)
    for o, x, (iy, ix) in zip(out, xf, interp):
        expected = to_np(x) * to_np(iy) * to_np(ix)
        np.testing.assert_allclose(to_np(o), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(to_np(dcf.interpolate_dft(x, iy)), to_np(x) * to_np(iy), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError):
        dcf.interpolate_dft(xf[0], 3.0)


# ------------------------------------------------------------------------------------------- reg filter
def reg_params(**kw):
    base = dict(use_reg_window=True, reg_window_min=1e-4, reg_window_edge=10e-3, reg_window_power=2,
                reg_sparsity_threshold=0.05)  # fmt: skip
    base.update(kw)
    return SimpleNamespace(**base)


def embed_and_sample(filt: torch.Tensor, sz: tuple[int, int]) -> np.ndarray:
    """Window values of a centered full-spectrum filter on its period ``sz``."""
    h, w = sz
    f = filt[0, 0].double().numpy()
    full = np.zeros(sz)
    cy, cx = (h - 1) // 2, (w - 1) // 2
    my, mx = (f.shape[0] - 1) // 2, (f.shape[1] - 1) // 2
    full[cy - my : cy + my + 1, cx - mx : cx + mx + 1] = f
    full = np.roll(full, (-cy, -cx), axis=(0, 1))
    return np.real(np.fft.ifft2(full)) * h * w


def test_reg_filter_disabled():
    f = dcf.get_reg_filter((50, 50), (10, 10), reg_params(use_reg_window=False, reg_window_min=3e-4))
    assert f.shape == (1, 1, 1, 1)
    assert f.item() == pytest.approx(3e-4)


def test_reg_filter_exact_without_sparsity():
    sz, tsz = (9, 11), (4.0, 6.0)
    p = reg_params(reg_sparsity_threshold=0.0)
    f = dcf.get_reg_filter(torch.tensor(sz), torch.tensor(tsz), p)
    assert f.shape == (1, 1, 9, 11)
    y = np.where(np.arange(9) > 4, np.arange(9) - 9, np.arange(9))[:, None]
    x = np.where(np.arange(11) > 5, np.arange(11) - 11, np.arange(11))[None, :]
    window = (p.reg_window_edge - p.reg_window_min) * ((y / 2.0) ** 2 + (x / 3.0) ** 2) + p.reg_window_min
    np.testing.assert_allclose(embed_and_sample(f, sz), window, rtol=1e-5, atol=1e-8)


def test_reg_filter_sparse_properties():
    sz = (51, 61)
    p = reg_params()
    f = dcf.get_reg_filter(sz, torch.tensor([12.0, 8.0]), p)
    h, w = f.shape[-2:]
    assert h % 2 == 1 and w % 2 == 1 and 1 < h < 51 and 1 < w < 61
    torch.testing.assert_close(f, f.flip(-1).flip(-2))
    # A sum of a y-term and an x-term: only the ky = 0 row and the kx = 0 column are non-zero.
    mask = torch.zeros_like(f, dtype=torch.bool)
    mask[..., h // 2, :] = True
    mask[..., :, w // 2] = True
    assert torch.all(f[~mask] == 0)
    # The narrower target side (x: 8 < 12) has the steeper penalty, hence more significant kx coefficients.
    assert w > h
    # The DC correction restores the window minimum at the target centre.
    values = embed_and_sample(f, sz)
    assert values.min() == pytest.approx(p.reg_window_min, rel=1e-4)
    assert values[0, 0] == pytest.approx(p.reg_window_min, rel=1e-4)


# ----------------------------------------------------------------------------------------------- max2d
def test_max2d_known_map():
    a = torch.zeros(2, 3, 4, 5)
    a[0, 0, 1, 2] = 5.0
    a[0, 1, 3, 4] = 2.0
    a[0, 2, 0, 0] = 1.0
    a[1, 0, 2, 1] = 7.0
    a[1, 1, 0, 4] = 3.0
    a[1, 2, 3, 0] = 4.0
    val, pos = dcf.max2d(a)
    assert val.shape == (2, 3) and pos.shape == (2, 3, 2) and pos.dtype == torch.int64
    assert val.tolist() == [[5.0, 2.0, 1.0], [7.0, 3.0, 4.0]]
    assert pos.tolist() == [[[1, 2], [3, 4], [0, 0]], [[2, 1], [0, 4], [3, 0]]]


def test_max2d_random_and_tensorlist():
    a = torch.randn(3, 6, 7)
    val, pos = dcf.max2d(a)
    for i in range(3):
        assert a[i, pos[i, 0], pos[i, 1]] == val[i] == a[i].max()
    out = dcf.max2d(TensorList([a, torch.randn(4, 4)]))
    assert isinstance(out, TensorList) and out[1][1].shape == (2,)


def test_tensorlist_mapping_of_constructors():
    windows = dcf.hann2d(TensorList([(3, 3), (4, 5)]))
    assert [tuple(w.shape) for w in windows] == [(1, 1, 3, 3), (1, 1, 4, 5)]
    labels = dcf.label_function(TensorList([(5, 5), (7, 9)]), TensorList([(1.0, 1.0), (2.0, 2.0)]))
    assert [tuple(y.shape) for y in labels] == [(1, 1, 5, 3, 2), (1, 1, 7, 5, 2)]
