"""Tests for the centered half-spectrum Fourier helpers against numpy."""

import numpy as np
import pytest
import torch

from pytracking.libs import fourier
from pytracking.libs.tensorlist import TensorList

SIZES = [(5, 7), (4, 6), (4, 7), (5, 6)]


def to_np(a: torch.Tensor) -> np.ndarray:
    return a[..., 0].numpy() + 1j * a[..., 1].numpy()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def eval_series(xf: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Directly evaluate a centered half-spectrum series of odd full size on a grid (Hermitian completion)."""
    k, l = xf.shape
    gh, gw = grid
    y = np.arange(gh)[:, None]
    x = np.arange(gw)[None, :]
    out = np.zeros(grid, dtype=complex)
    for r in range(k):
        ky = r - (k - 1) // 2
        for c in range(-(l - 1), l):
            coef = xf[r, c] if c >= 0 else np.conj(xf[k - 1 - r, -c])
            out += coef * np.exp(2j * np.pi * (ky * y / gh + c * x / gw))
    assert np.abs(out.imag).max() < 1e-9
    return out.real


@pytest.mark.parametrize("h,w", SIZES)
def test_cfft2_matches_numpy(h, w):
    x = torch.randn(2, 3, h, w, dtype=torch.float64)
    xf = fourier.cfft2(x)
    rows = h + (h + 1) % 2  # always odd
    assert xf.shape == (2, 3, rows, w // 2 + 1, 2)
    ref = np.fft.fftshift(np.fft.rfft2(x.numpy()), axes=-2)
    np.testing.assert_allclose(to_np(xf)[..., :h, :], ref, atol=1e-12)
    if h % 2 == 0:
        # The Nyquist row is repeated at the end (ky = +h/2 equals ky = -h/2).
        np.testing.assert_array_equal(xf[..., -1, :, :].numpy(), xf[..., 0, :, :].numpy())
    # Zero frequency at row (rows - 1) // 2: the sum of the signal.
    np.testing.assert_allclose(xf[..., (rows - 1) // 2, 0, 0].numpy(), x.sum((-2, -1)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("h,w", SIZES)
def test_round_trip(h, w):
    x = torch.randn(3, h, w, dtype=torch.float64)
    xf = fourier.cfft2(x)
    torch.testing.assert_close(fourier.cifft2(xf, signal_sizes=(h, w)), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(fourier.cifft2(xf, torch.tensor([h, w])), x, rtol=0, atol=1e-12)


def test_cifft2_default_size_and_errors():
    x = torch.randn(5, 6, dtype=torch.float64)
    out = fourier.cifft2(fourier.cfft2(x))  # default (K, 2 (L - 1)) = (5, 6)
    torch.testing.assert_close(out, x, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="width"):
        fourier.cifft2(fourier.cfft2(x), signal_sizes=(5, 8))
    with pytest.raises(ValueError, match="height"):
        fourier.cifft2(fourier.cfft2(x), signal_sizes=(3, 6))
    with pytest.raises(ValueError):
        fourier.cifft2(torch.zeros(5, 4))


def test_shift_helpers():
    a = torch.arange(5 * 3 * 2, dtype=torch.float64).reshape(5, 3, 2)
    # FFT order 0,1,2,-2,-1 -> centered -2,-1,0,1,2
    assert fourier.rfftshift2(a)[:, 0, 0].tolist() == [18.0, 24.0, 0.0, 6.0, 12.0]
    torch.testing.assert_close(fourier.irfftshift2(fourier.rfftshift2(a)), a)
    b = torch.arange(4 * 3 * 2, dtype=torch.float64).reshape(4, 3, 2)
    # Even: FFT order 0,1,-2(=+2),-1 -> -2,-1,0,1,+2
    assert fourier.rfftshift2(b)[:, 0, 0].tolist() == [12.0, 18.0, 0.0, 6.0, 12.0]
    # irfftshift2 moves row (K - 1) // 2 to the top for any K.
    assert fourier.irfftshift2(b)[:, 0, 0].tolist() == [6.0, 12.0, 18.0, 0.0]


def test_get_frequency_coord():
    ky, kx = fourier.get_frequency_coord((5, 7))
    assert ky.shape == (5, 1) and kx.shape == (1, 4)
    assert ky.flatten().tolist() == [-2, -1, 0, 1, 2]
    assert kx.flatten().tolist() == [0, 1, 2, 3]
    ky, kx = fourier.get_frequency_coord(torch.tensor([4.0, 6.0]), add_complex_dim=True, dtype=torch.float64)
    assert ky.shape == (4, 1, 1) and kx.shape == (1, 4, 1) and ky.dtype == torch.float64
    assert ky.flatten().tolist() == [-1, 0, 1, 2]
    assert kx.flatten().tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("h,w", [(5, 7), (3, 5)])
def test_sample_fs_matches_direct_evaluation(h, w):
    x = torch.randn(h, w, dtype=torch.float64)
    xf = fourier.cfft2(x)
    # Own size: rescale gives the series values, H * W * x.
    torch.testing.assert_close(fourier.sample_fs(xf), h * w * x, rtol=0, atol=1e-10)
    torch.testing.assert_close(fourier.sample_fs(xf, rescale=False), x, rtol=0, atol=1e-12)
    for grid in [(8, 9), (9, 10), (h, w + 1)]:
        expected = eval_series(to_np(xf), grid)
        np.testing.assert_allclose(fourier.sample_fs(xf, grid).numpy(), expected, atol=1e-9)
        np.testing.assert_allclose(
            fourier.sample_fs(xf, torch.tensor(grid), rescale=False).numpy(), expected / np.prod(grid), atol=1e-12
        )


def test_sample_fs_even_signal_and_errors():
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    xf = fourier.cfft2(x)  # (5, 4) series, full size (5, 7)
    torch.testing.assert_close(fourier.sample_fs(xf, (4, 6)), 24 * x, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="smaller"):
        fourier.sample_fs(xf, (3, 7))
    with pytest.raises(ValueError, match="smaller"):
        fourier.sample_fs(fourier.cfft2(torch.randn(5, 7)), (5, 5))


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("dy,dx", [(1, 2), (-2, 3), (0, -1)])
def test_shift_fs_is_circular_shift(h, w, dy, dx):
    x = torch.randn(2, h, w, dtype=torch.float64)
    shift = torch.tensor([2 * np.pi * dy / h, 2 * np.pi * dx / w], dtype=torch.float64)
    shifted = fourier.cifft2(fourier.shift_fs(fourier.cfft2(x), shift), (h, w))
    torch.testing.assert_close(shifted, torch.roll(x, (-dy, -dx), dims=(-2, -1)), rtol=0, atol=1e-12)


def test_shift_fs_zero_is_identity():
    xf = fourier.cfft2(torch.randn(5, 5))
    assert fourier.shift_fs(xf, (0.0, 0.0)) is xf


def test_sum_fs_pads_centrally():
    a = torch.randn(2, 5, 4, 2, dtype=torch.float64)
    b = torch.randn(1, 3, 2, 2, dtype=torch.float64)
    s = fourier.sum_fs(TensorList([b, a]))
    assert s.shape == (2, 5, 4, 2)
    expected = a.clone()
    expected[:, 1:4, :2, :] += b
    torch.testing.assert_close(s, expected)
    # Summing series means summing the represented functions.
    grid = (9, 9)
    torch.testing.assert_close(
        fourier.sample_fs(s, grid), fourier.sample_fs(a, grid) + fourier.sample_fs(b, grid), rtol=0, atol=1e-10
    )
    # The inputs are left untouched and a single tensor passes through.
    assert not torch.equal(s, a)
    assert fourier.sum_fs(a) is a


def test_sum_fs_mixed_largest_dims():
    a = torch.ones(5, 2, 2)
    b = 2 * torch.ones(3, 4, 2)
    s = fourier.sum_fs([a, b])
    assert s.shape == (5, 4, 2)
    assert s[:, :, 0].tolist() == [[1, 1, 0, 0], [3, 3, 2, 2], [3, 3, 2, 2], [3, 3, 2, 2], [1, 1, 0, 0]]


def test_sum_fs12_frequency_first():
    a = torch.randn(5, 4, 3, 2, 2, dtype=torch.float64)  # (K, L, samples, filters, 2)
    b = torch.randn(3, 2, 3, 2, 2, dtype=torch.float64)
    s = fourier.sum_fs12(TensorList([a, b]))
    expected = a.clone()
    expected[1:4, :2] += b
    torch.testing.assert_close(s, expected)


@pytest.mark.parametrize("h,w", [(5, 7), (3, 3), (7, 5)])
def test_inner_prod_fs_parseval(h, w):
    x = torch.randn(2, 3, h, w, dtype=torch.float64)
    y = torch.randn(2, 3, h, w, dtype=torch.float64)
    ip = fourier.inner_prod_fs(fourier.cfft2(x), fourier.cfft2(y))
    assert ip.dim() == 0
    np.testing.assert_allclose(ip.item(), h * w * float((x.numpy() * y.numpy()).sum()), rtol=1e-12)


def test_inner_prod_fs_formula_and_real_case():
    a = torch.randn(3, 4, 2, dtype=torch.float64)
    b = torch.randn(3, 4, 2, dtype=torch.float64)
    za, zb = to_np(a), to_np(b)
    expected = 2 * np.real((za * np.conj(zb)).sum()) - np.real((za[:, 0] * np.conj(zb[:, 0])).sum())
    np.testing.assert_allclose(fourier.inner_prod_fs(a, b).item(), expected, rtol=1e-12)
    ra, rb = a[..., 0], b[..., 0]  # real (K, L) half spectra
    expected_real = 2 * (ra * rb).sum() - (ra[:, 0] * rb[:, 0]).sum()
    torch.testing.assert_close(fourier.inner_prod_fs(ra, rb), expected_real)
    with pytest.raises(ValueError):
        fourier.inner_prod_fs(a, ra)


def test_tensorlist_mapping():
    xs = TensorList([torch.randn(3, 5, dtype=torch.float64), torch.randn(4, 4, dtype=torch.float64)])
    xf = fourier.cfft2(xs)
    assert isinstance(xf, TensorList)
    assert [tuple(e.shape) for e in xf] == [(3, 3, 2), (5, 3, 2)]
    back = fourier.cifft2(xf, TensorList([(3, 5), (4, 4)]))
    for r, x in zip(back, xs):
        torch.testing.assert_close(r, x, rtol=0, atol=1e-12)
    ips = fourier.inner_prod_fs(xf, xf)
    assert isinstance(ips, TensorList) and len(ips) == 2
