"""2-D Fourier series helpers of the DCF toolbox, in the (..., 2) complex representation.

Conventions
-----------
*Spatial signals* are real tensors ``(..., H, W)``; the transforms act on the last two dimensions.

A *Fourier series* (the "centered half spectrum") is a complex tensor ``(..., K, L, 2)`` (see
:mod:`pytracking.libs.complex` for the ``(..., 2)`` representation):

* row ``r`` holds the vertical frequency ``ky = r - (K - 1) // 2``, so ``ky`` runs over
  ``-(K - 1) // 2 .. K // 2`` and the zero frequency sits at row ``(K - 1) // 2``;
* column ``c`` holds the horizontal frequency ``kx = c`` (``0 .. L - 1``); negative ``kx`` are implied by
  Hermitian symmetry ``X(-ky, -kx) = conj(X(ky, kx))`` of real signals;
* its *full size* is ``(K, 2 L - 1)``, which is what :func:`get_frequency_coord`, :func:`shift_fs` and
  :func:`sample_fs` take as the series' own size.

Frequencies are integers: on an ``H x W`` grid, coefficient ``X(ky, kx)`` multiplies
``exp(2 pi i (ky y / H + kx x / W))``.

:func:`cfft2` returns the *unnormalised* DFT ``X(ky, kx) = sum_{y,x} x(y, x) exp(-2 pi i (ky y / H + kx x / W))``
in this layout, with ``W // 2 + 1`` columns and always an **odd** number of rows, as in the original
toolbox: for odd ``H`` there are ``H`` rows (``-(H-1)/2 .. (H-1)/2``, i.e. ``np.fft.fftshift`` along ``H``);
for even ``H`` there are ``H + 1`` rows (``-H/2 .. H/2``): the Nyquist row appears at both ends with the
same value, so the series is symmetric. Likewise an even ``W`` has full size ``W + 1`` (the Nyquist column
stands for both ``+-W/2``). Filters built on top of this (ECO) therefore have odd sizes
``sz + (sz + 1) % 2``.

:func:`cifft2` is the inverse DFT (it divides by ``H * W``): ``cifft2(cfft2(x), x.shape[-2:]) == x`` for all
sizes. :func:`sample_fs` with ``rescale=True`` evaluates the series itself,
``f(y, x) = sum X(ky, kx) exp(2 pi i (ky y / G_h + kx x / G_w))`` on a ``G_h x G_w`` grid, so
``sample_fs(cfft2(x), x.shape[-2:]) == H * W * x``.

:func:`inner_prod_fs` is Parseval's inner product over the full spectrum; with odd ``H`` and ``W``,
``inner_prod_fs(cfft2(x), cfft2(y)) == H * W * sum(x * y)``. For even sizes the Nyquist row/column is
counted twice (it is duplicated in the series), so the identity then holds only up to those terms.

Every public function that acts on one tensor is lifted over ``TensorList`` with ``@tensor_operation``;
:func:`sum_fs` and :func:`sum_fs12` take the list itself and return one tensor.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from pytracking.libs import complex
from pytracking.libs.tensorlist import tensor_operation

__all__ = [
    "rfftshift2",
    "irfftshift2",
    "cfft2",
    "cifft2",
    "sample_fs",
    "get_frequency_coord",
    "shift_fs",
    "sum_fs",
    "sum_fs12",
    "inner_prod_fs",
]

SizeLike = torch.Tensor | Sequence[int] | Sequence[float]


def _size2(sz: SizeLike) -> tuple[int, int]:
    vals = sz.tolist() if isinstance(sz, torch.Tensor) else list(sz)
    if len(vals) != 2:
        raise ValueError(f"Expected a 2-element size (H, W), got {vals}.")
    return int(vals[0]), int(vals[1])


def _check_series(a: torch.Tensor, name: str) -> None:
    if a.dim() < 3 or a.shape[-1] != 2:
        raise ValueError(f"{name}: expected a Fourier series of shape (..., K, L, 2), got {tuple(a.shape)}.")


@tensor_operation
def rfftshift2(a: torch.Tensor) -> torch.Tensor:
    """Reorder the rows of a half spectrum from FFT order (``ky = 0, 1, ..., -1``) to centered order.

    The output always has an odd number of rows: for an even input row count ``H`` the Nyquist row
    (``ky = -H/2``, which is also ``+H/2``) is placed at both ends (see the module docstring).

    Args:
        a: Complex tensor ``(..., H, L, 2)`` in FFT row order.

    Returns:
        Complex tensor ``(..., 2 * (H // 2) + 1, L, 2)`` with ``ky = -(H // 2) .. H // 2``.
    """
    _check_series(a, "rfftshift2")
    h = a.shape[-3]
    # Negative frequencies (and, for even H, the Nyquist row) first, then 0 .. H//2 (Nyquist again for even H).
    return torch.cat((a[..., (h + 1) // 2 :, :, :], a[..., : h // 2 + 1, :, :]), dim=-3)


@tensor_operation
def irfftshift2(a: torch.Tensor) -> torch.Tensor:
    """Undo the centering of rows: move row ``(K - 1) // 2`` (``ky = 0``) to row 0 (a circular shift).

    Args:
        a: Centered complex series ``(..., K, L, 2)``.

    Returns:
        Complex tensor ``(..., K, L, 2)`` with rows in FFT order ``ky = 0, 1, ..., K//2, -(K-1)//2, ..., -1``.
    """
    _check_series(a, "irfftshift2")
    mid = (a.shape[-3] - 1) // 2
    return torch.cat((a[..., mid:, :, :], a[..., :mid, :, :]), dim=-3)


@tensor_operation
def cfft2(a: torch.Tensor) -> torch.Tensor:
    """Centered half-spectrum DFT of a real signal (unnormalised; see the module docstring).

    Args:
        a: Real tensor ``(..., H, W)``.

    Returns:
        Complex series ``(..., 2 * (H // 2) + 1, W // 2 + 1, 2)``.
    """
    if a.is_complex():
        raise ValueError("cfft2 expects a real signal (..., H, W).")
    return rfftshift2(torch.view_as_real(torch.fft.rfft2(a)))


@tensor_operation
def cifft2(a: torch.Tensor, signal_sizes: SizeLike | None = None) -> torch.Tensor:
    """Inverse of :func:`cfft2`: real signal from a centered half spectrum (divides by ``H * W``).

    Args:
        a: Complex series ``(..., K, L, 2)``.
        signal_sizes: Output size ``(H, W)``. ``H`` must equal ``K``, or ``K - 1`` when ``K`` is odd (the even
            case of :func:`cfft2`, whose two Nyquist rows are then averaged back into one). ``W`` must satisfy
            ``W // 2 + 1 == L``; it is needed for odd ``W``. Default ``(K, 2 * (L - 1))``, as ``irfft``.

    Returns:
        Real tensor ``(..., H, W)``.
    """
    _check_series(a, "cifft2")
    k, l = a.shape[-3], a.shape[-2]
    h, w = (k, 2 * (l - 1)) if signal_sizes is None else _size2(signal_sizes)
    if w // 2 + 1 != l:
        raise ValueError(f"cifft2: output width {w} needs {w // 2 + 1} spectrum columns, the series has {l}.")
    a = irfftshift2(a)
    if h == k - 1 and h % 2 == 0:
        # Rows h//2 (ky = +h/2) and h//2 + 1 (ky = -h/2) are the same frequency on an h-row grid.
        nyq = 0.5 * (a[..., h // 2 : h // 2 + 1, :, :] + a[..., h // 2 + 1 : h // 2 + 2, :, :])
        a = torch.cat((a[..., : h // 2, :, :], nyq, a[..., h // 2 + 2 :, :, :]), dim=-3)
    elif h != k:
        raise ValueError(f"cifft2: output height {h} does not match a series with {k} rows.")
    return torch.fft.irfft2(torch.view_as_complex(a.contiguous()), s=(h, w))


@tensor_operation
def sample_fs(a: torch.Tensor, grid_sz: SizeLike | None = None, rescale: bool = True) -> torch.Tensor:
    """Sample a centered Fourier series on a regular spatial grid covering one period.

    The series is zero-padded symmetrically to the grid's spectrum size and inverse transformed.

    Args:
        a: Complex series ``(..., K, L, 2)``.
        grid_sz: Grid size ``(G_h, G_w)``; default the series' full size ``(K, 2 L - 1)``. It may not be
            smaller than that, except by the duplicated Nyquist row/column of an even-sized :func:`cfft2`
            (``G_h = K - 1`` even, ``G_w = 2 L - 2``).
        rescale: ``True`` evaluates the series, ``sum X exp(2 pi i (ky y / G_h + kx x / G_w))``;
            ``False`` returns the inverse DFT, i.e. that divided by ``G_h * G_w``.

    Returns:
        Real tensor ``(..., G_h, G_w)``.
    """
    _check_series(a, "sample_fs")
    k, l = a.shape[-3], a.shape[-2]
    gh, gw = (k, 2 * l - 1) if grid_sz is None else _size2(grid_sz)
    lg = gw // 2 + 1
    fold_row = gh == k - 1 and gh % 2 == 0
    if (gh < k and not fold_row) or lg < l:
        raise ValueError(f"sample_fs: grid {(gh, gw)} is smaller than the Fourier series' full size {(k, 2 * l - 1)}.")
    pad_top = pad_bottom = 0
    if gh > k:
        # Keep ky = 0 at row (G_h - 1) // 2 (and kx = 0 at column 0).
        pad_top = (gh - 1) // 2 - (k - 1) // 2
        pad_bottom = gh - k - pad_top
    if pad_top or pad_bottom or lg > l:
        a = torch.nn.functional.pad(a, (0, 0, 0, lg - l, pad_top, pad_bottom))
    out = cifft2(a, signal_sizes=(gh, gw))
    return out * (gh * gw) if rescale else out


@tensor_operation
def get_frequency_coord(
    sz: SizeLike,
    add_complex_dim: bool = False,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer frequency coordinates of a centered half spectrum of full size ``sz``.

    Args:
        sz: Full size ``(H, W)`` (for a series ``(..., K, L, 2)`` that is ``(K, 2 L - 1)``).
        add_complex_dim: Append a singleton dimension so the grids broadcast against ``(..., 2)`` tensors.
        device: Device of the outputs.
        dtype: Floating dtype of the outputs; default ``torch.get_default_dtype()``.

    Returns:
        ``ky`` ``(H, 1)`` with values ``-(H - 1) // 2 .. H // 2`` and ``kx`` ``(1, W // 2 + 1)`` with values
        ``0 .. W // 2`` (``(H, 1, 1)`` and ``(1, W // 2 + 1, 1)`` with ``add_complex_dim``).
    """
    h, w = _size2(sz)
    dtype = torch.get_default_dtype() if dtype is None else dtype
    ky = torch.arange(-((h - 1) // 2), h // 2 + 1, dtype=dtype, device=device).reshape(-1, 1)
    kx = torch.arange(0, w // 2 + 1, dtype=dtype, device=device).reshape(1, -1)
    if add_complex_dim:
        ky, kx = ky.unsqueeze(-1), kx.unsqueeze(-1)
    return ky, kx


@tensor_operation
def shift_fs(a: torch.Tensor, shift: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """Translate the signal represented by a centered Fourier series.

    Multiplies ``X(ky, kx)`` by ``exp(i (ky * sy + kx * sx))``, where ``(sy, sx)`` is the shift as a phase:
    ``2 pi`` is one period. The sampled signal becomes ``f(y + sy * H / (2 pi), x + sx * W / (2 pi))``, i.e. its
    content moves by ``-s * size / (2 pi)`` samples (``torch.roll`` with shift ``-s * size / (2 pi)``).

    Args:
        a: Complex series ``(..., K, L, 2)``.
        shift: ``(sy, sx)`` in radians.

    Returns:
        Complex series ``(..., K, L, 2)``.
    """
    _check_series(a, "shift_fs")
    sy, sx = (float(s) for s in shift)
    if sy == 0 and sx == 0:
        return a
    ky, kx = get_frequency_coord((a.shape[-3], 2 * a.shape[-2] - 1), device=a.device, dtype=a.dtype)
    return complex.mult(a, complex.exp_imag(ky * sy + kx * sx))


def _sum_centered(series: Sequence[torch.Tensor], row_dim: int, col_dim: int) -> torch.Tensor:
    """Sum centered series of different sizes, zero-padding each centrally to the largest."""
    if len(series) == 0:
        raise ValueError("Cannot sum an empty list of Fourier series.")
    k_max = max(e.shape[row_dim] for e in series)
    l_max = max(e.shape[col_dim] for e in series)
    mid = (k_max - 1) // 2
    # Every dimension except the two frequency ones broadcasts.
    other = [list(e.shape) for e in series]
    for shp in other:
        shp[row_dim], shp[col_dim] = 1, 1
    shape = list(torch.broadcast_shapes(*other))
    shape[row_dim], shape[col_dim] = k_max, l_max
    dtype = functools.reduce(torch.promote_types, (e.dtype for e in series))
    out = torch.zeros(shape, dtype=dtype, device=series[0].device)
    for e in series:
        top = mid - (e.shape[row_dim] - 1) // 2
        rows = out.narrow(row_dim, top, e.shape[row_dim])
        block = rows.narrow(col_dim, 0, e.shape[col_dim])
        block += e
    return out


def sum_fs(a: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum centered Fourier series of different sizes (e.g. the scores of several feature blocks).

    Each series is zero-padded centrally (``ky = 0`` rows aligned, ``kx = 0`` columns aligned) to the
    largest row and column counts; the other dimensions broadcast.

    Args:
        a: List (or ``TensorList``) of complex series ``(..., K_i, L_i, 2)``.

    Returns:
        Complex series ``(..., max K_i, max L_i, 2)``.
    """
    if isinstance(a, torch.Tensor):
        return a
    for e in a:
        _check_series(e, "sum_fs")
    return _sum_centered(list(a), -3, -2)


def sum_fs12(a: Sequence[torch.Tensor]) -> torch.Tensor:
    """:func:`sum_fs` for series laid out frequency-first, ``(K_i, L_i, ...)``.

    The frequency dimensions are the first two ("dims 1 and 2"), as in the ECO filter optimizer, which
    stores per-block data as ``(K, L, num_samples, num_filters, 2)``.

    Args:
        a: List (or ``TensorList``) of tensors ``(K_i, L_i, ...)``.

    Returns:
        Tensor ``(max K_i, max L_i, ...)``; the trailing dimensions broadcast.
    """
    if isinstance(a, torch.Tensor):
        return a
    for e in a:
        if e.dim() < 2:
            raise ValueError(f"sum_fs12: expected tensors (K, L, ...), got shape {tuple(e.shape)}.")
    return _sum_centered(list(a), 0, 1)


@tensor_operation
def inner_prod_fs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Real inner product of two half-spectrum series over the implied full spectrum.

    Computes ``2 * Re(sum a * conj(b)) - Re(sum over the kx = 0 column)``: every column except ``kx = 0``
    stands for itself and its Hermitian mirror. All dimensions are summed. Real half spectra ``(..., K, L)``
    are accepted too (same formula with real products). See the module docstring for Parseval's identity.

    Args:
        a: Complex series ``(..., K, L, 2)`` (or real ``(..., K, L)``).
        b: Same layout as ``a`` (broadcastable).

    Returns:
        0-dim real tensor.
    """
    if complex.is_complex(a) != complex.is_complex(b):
        raise ValueError(
            f"inner_prod_fs: both operands must be complex (..., 2) or both real, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}."
        )
    # For the (..., 2) layout, sum(a * b) over both parts is Re(sum a * conj(b)).
    col = -2 if complex.is_complex(a) else -1
    total = (a * b).sum()
    first = (a.select(col, 0) * b.select(col, 0)).sum()
    return 2 * total - first
