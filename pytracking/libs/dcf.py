"""Windows, labels, interpolation kernels and regularisation filters for DCF trackers (ECO, ATOM, DiMP).

Conventions follow :mod:`pytracking.libs.fourier`: Fourier-domain quantities are centered half spectra in
the ``(..., 2)`` complex representation, with ``ky = -(H - 1) // 2 .. H // 2`` along rows and
``kx = 0 .. W // 2`` along columns for a full size ``(H, W)``. Sizes are ``(H, W)`` pairs given as tuples,
lists or tensors (float tensors are truncated to integers). Spatial maps are returned as ``(1, 1, H, W)``
so they broadcast against ``(N, C, H, W)`` feature maps. Outputs use ``torch.get_default_dtype()`` unless
stated otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from pytracking.libs import complex, fourier
from pytracking.libs.tensorlist import tensor_operation

__all__ = [
    "hann1d",
    "hann2d",
    "hann2d_clipped",
    "gauss_fourier",
    "gauss_spatial",
    "label_function",
    "label_function_spatial",
    "cubic_spline_fourier",
    "get_interp_fourier",
    "interpolate_dft",
    "get_reg_filter",
    "max2d",
]

SizeLike = torch.Tensor | Sequence[int] | Sequence[float]


def _pair(v: Any) -> tuple[float, float]:
    vals = v.tolist() if isinstance(v, torch.Tensor) else list(v)
    if len(vals) != 2:
        raise ValueError(f"Expected a pair (y, x), got {vals}.")
    return float(vals[0]), float(vals[1])


def _size2(sz: SizeLike) -> tuple[int, int]:
    h, w = _pair(sz)
    return int(h), int(w)


@tensor_operation
def hann1d(sz: int, centered: bool = True) -> torch.Tensor:
    """1-D Hann (raised cosine) window.

    Args:
        sz: Number of samples.
        centered: ``True``: the symmetric window ``0.5 * (1 - cos(2 pi k / (sz + 1)))``, ``k = 1 .. sz``
            (a Hann window of length ``sz + 2`` without its zero end points; ``hann1d(3) = [0.5, 1, 0.5]``).
            ``False``: the window for maps stored in FFT order, peaked at index 0 and symmetric under
            ``k -> sz - k``: ``0.5 * (1 + cos(2 pi d_k / (sz + 2)))`` with ``d_k = min(k, sz - k)`` the
            circular distance to index 0 (``hann1d(4, False) = [1, 0.75, 0.25, 0.75]``).

    Returns:
        Tensor ``(sz,)``.
    """
    sz = int(sz)
    if centered:
        k = torch.arange(1, sz + 1, dtype=torch.float64)
        w = 0.5 * (1 - torch.cos((2 * math.pi / (sz + 1)) * k))
    else:
        k = torch.arange(sz, dtype=torch.float64)
        d = torch.minimum(k, sz - k)
        w = 0.5 * (1 + torch.cos((2 * math.pi / (sz + 2)) * d))
    return w.to(torch.get_default_dtype())


@tensor_operation
def hann2d(sz: SizeLike, centered: bool = True) -> torch.Tensor:
    """2-D separable Hann window, the outer product of :func:`hann1d` along H and W.

    Args:
        sz: ``(H, W)``.
        centered: See :func:`hann1d`.

    Returns:
        Tensor ``(1, 1, H, W)``.
    """
    h, w = _size2(sz)
    return hann1d(h, centered).reshape(1, 1, -1, 1) * hann1d(w, centered).reshape(1, 1, 1, -1)


@tensor_operation
def hann2d_clipped(sz: SizeLike, effective_sz: SizeLike, centered: bool = True) -> torch.Tensor:
    """Hann window of size ``effective_sz`` centred in a map of size ``sz``.

    ``effective_sz`` is first increased by one where ``effective_sz - sz`` is odd, so the window sits
    symmetrically. A larger window is cropped to its central ``sz`` part (the usual case: DiMP's window
    spans the effective search area, which exceeds the score map); a smaller one is padded with zeros.

    Args:
        sz: Map size ``(H, W)``.
        effective_sz: Window size ``(h, w)``.
        centered: ``False`` circularly shifts the map by ``-(H // 2, W // 2)`` so the window peak moves to
            index ``(0, 0)`` (FFT order).

    Returns:
        Tensor ``(1, 1, H, W)``.
    """
    size = _size2(sz)
    eff = [e + (e - s) % 2 for e, s in zip(_size2(effective_sz), size)]
    window = hann2d(eff, centered=True)
    for dim, (s, e) in zip((2, 3), zip(size, eff)):
        if e > s:
            window = window.narrow(dim, (e - s) // 2, s)
        elif e < s:
            pad = [0, 0, 0, 0]
            pad[2 * (3 - dim)] = pad[2 * (3 - dim) + 1] = (s - e) // 2
            window = torch.nn.functional.pad(window, pad)
    if not centered:
        window = torch.roll(window, shifts=(-(size[0] // 2), -(size[1] // 2)), dims=(2, 3))
    return window


@tensor_operation
def gauss_fourier(sz: int, sigma: float, half: bool = False) -> torch.Tensor:
    """Fourier series coefficients of a periodic Gaussian.

    The signal is ``g(t) = sum_m exp(-(t - m sz)^2 / (2 sigma^2))``: a Gaussian of standard deviation
    ``sigma`` samples centred at 0, repeated with period ``sz`` samples. Its coefficients are
    ``c_k = sqrt(2 pi) sigma / sz * exp(-2 (pi sigma k / sz)^2)``, so that
    ``g(t) = sum_k c_k exp(2 pi i k t / sz)`` (exactly over all ``k``; truncating to ``sz`` terms is accurate
    to about ``exp(-(pi sigma)^2 / 2)``).

    Args:
        sz: Period (and number of coefficients) in samples.
        sigma: Standard deviation in samples.
        half: Keep only ``k = 0 .. sz // 2`` (the ``kx`` half); else ``k = -(sz - 1) // 2 .. sz // 2``.

    Returns:
        Real tensor ``(sz,)`` or ``(sz // 2 + 1,)``.
    """
    sz = int(sz)
    sigma = float(sigma)
    start = 0 if half else -((sz - 1) // 2)
    k = torch.arange(start, sz // 2 + 1, dtype=torch.float64)
    c = (math.sqrt(2 * math.pi) * sigma / sz) * torch.exp(-2 * (math.pi * sigma * k / sz) ** 2)
    return c.to(torch.get_default_dtype())


@tensor_operation
def gauss_spatial(sz: int, sigma: float, center: float = 0.0, end_pad: int = 0) -> torch.Tensor:
    """Sampled 1-D Gaussian ``exp(-(t - center)^2 / (2 sigma^2))`` (peak value 1).

    The samples are at ``t = -(sz - 1) / 2 + j``, ``j = 0 .. sz + end_pad - 1``: ``t = 0`` is the middle of the
    first ``sz`` samples (a half-integer position for even ``sz``), and ``end_pad`` appends extra samples.

    Args:
        sz: Number of samples before padding.
        sigma: Standard deviation in samples.
        center: Peak position relative to the middle, in samples.
        end_pad: Extra samples appended at the end.

    Returns:
        Tensor ``(sz + end_pad,)``.
    """
    sz, end_pad = int(sz), int(end_pad)
    t = torch.arange(sz + end_pad, dtype=torch.float64) - (sz - 1) / 2
    g = torch.exp(-((t - float(center)) ** 2) / (2 * float(sigma) ** 2))
    return g.to(torch.get_default_dtype())


@tensor_operation
def label_function(sz: SizeLike, sigma: SizeLike) -> torch.Tensor:
    """Fourier-domain Gaussian label centred at the origin, as a centered half spectrum.

    Product of :func:`gauss_fourier` along y (all ``ky``) and its half along x (``kx >= 0``). The imaginary
    part is zero (the Gaussian is centred at the spatial origin).

    Args:
        sz: Full size ``(H, W)`` (the filter size).
        sigma: Standard deviations ``(sy, sx)`` in samples.

    Returns:
        Complex tensor ``(1, 1, H, W // 2 + 1, 2)``.
    """
    h, w = _size2(sz)
    sy, sx = _pair(sigma)
    g = gauss_fourier(h, sy).reshape(1, 1, -1, 1) * gauss_fourier(w, sx, half=True).reshape(1, 1, 1, -1)
    return complex.complex(g)


@tensor_operation
def label_function_spatial(
    sz: SizeLike, sigma: SizeLike, center: SizeLike | None = None, end_pad: SizeLike | None = None
) -> torch.Tensor:
    """Spatial 2-D Gaussian label (peak value 1), the outer product of :func:`gauss_spatial`.

    Args:
        sz: ``(H, W)``.
        sigma: Standard deviations ``(sy, sx)`` in samples.
        center: Peak offset ``(y, x)`` from the map middle ``((H - 1) / 2, (W - 1) / 2)``; default zero.
        end_pad: Extra rows / columns appended at the end ``(py, px)``; default zero.

    Returns:
        Tensor ``(1, 1, H + py, W + px)``; the peak is at ``((H - 1) / 2 + cy, (W - 1) / 2 + cx)``.
    """
    h, w = _size2(sz)
    sy, sx = _pair(sigma)
    cy, cx = (0.0, 0.0) if center is None else _pair(center)
    py, px = (0, 0) if end_pad is None else _size2(end_pad)
    gy = gauss_spatial(h, sy, cy, py).reshape(1, 1, -1, 1)
    gx = gauss_spatial(w, sx, cx, px).reshape(1, 1, 1, -1)
    return gy * gx


# Even moments M_2n = int x^2n k(x) dx of the Keys kernel, as (constant, coefficient of a); they give
# the Taylor series of the transform near f = 0, where the closed form cancels catastrophically.
_KEYS_MOMENTS = ((2 / 15, 4 / 15), (3 / 70, 24 / 35), (2 / 105, 58 / 35))
_TAYLOR_BELOW = 0.02


@tensor_operation
def cubic_spline_fourier(f: torch.Tensor, a: float) -> torch.Tensor:
    """Continuous Fourier transform of the cubic convolution (Keys) interpolation kernel.

    The kernel is ``k(x) = (a + 2)|x|^3 - (a + 3)|x|^2 + 1`` for ``|x| <= 1``,
    ``a|x|^3 - 5a|x|^2 + 8a|x| - 4a`` for ``1 < |x| < 2`` and 0 elsewhere (``a = -0.5`` is Keys' choice, ECO
    uses ``-0.75``). Its transform ``K(f) = int k(x) exp(-2 pi i f x) dx`` is real and even, ``K(0) = 1``:

    ``K(f) = [6 (1 - cos 2 pi f) + 3a (1 - cos 4 pi f) - (6 + 8a) pi f sin 2 pi f - 2a pi f sin 4 pi f]
    / (4 pi^4 f^4)``,

    evaluated in float64, with its Taylor series ``1 - (2 pi f)^2 M2 / 2 + (2 pi f)^4 M4 / 24 - ...`` for
    ``|f| < 0.02``.

    Args:
        f: Frequencies in cycles per sample, any shape.
        a: Kernel parameter.

    Returns:
        Tensor shaped like ``f`` (its dtype if floating, else the default dtype).
    """
    f = torch.as_tensor(f)
    out_dtype = f.dtype if f.is_floating_point() else torch.get_default_dtype()
    x = f.to(torch.float64)
    a = float(a)
    pi = math.pi
    with torch.no_grad():
        small = x.abs() < _TAYLOR_BELOW
    xs = torch.where(small, torch.ones_like(x), x)  # keeps the closed form finite where it is not used
    closed = (
        6 * (1 - torch.cos(2 * pi * xs))
        + 3 * a * (1 - torch.cos(4 * pi * xs))
        - (6 + 8 * a) * pi * xs * torch.sin(2 * pi * xs)
        - 2 * a * pi * xs * torch.sin(4 * pi * xs)
    ) / (4 * pi**4 * xs**4)
    w2 = (2 * pi * x) ** 2
    m2, m4, m6 = (c0 + ca * a for c0, ca in _KEYS_MOMENTS)
    taylor = 1 - w2 * m2 / 2 + w2**2 * m4 / 24 - w2**3 * m6 / 720
    return torch.where(small, taylor, closed).to(out_dtype)


@tensor_operation
def get_interp_fourier(
    sz: SizeLike,
    method: str = "ideal",
    bicubic_param: float = 0.5,
    centering: bool = True,
    windowing: bool = False,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fourier coefficients of the kernel that interpolates a sampled feature map into a continuous one.

    Multiplying a feature map's :func:`~pytracking.libs.fourier.cfft2` by these (see
    :func:`interpolate_dft`) gives the Fourier series of ``sum_n x[n] k(t - n)`` on the period ``sz``.

    Args:
        sz: Full size ``(H, W)`` of the series (ECO's odd filter size).
        method: ``'ideal'``: ``1 / sz`` for every frequency (ideal low-pass interpolation);
            ``'bicubic'``: ``cubic_spline_fourier(k / sz, bicubic_param) / sz``.
        bicubic_param: Keys parameter ``a`` for ``'bicubic'`` (trackers pass e.g. ``-0.75``).
        centering: Multiply by ``exp(-i pi k / sz)`` along each axis, a shift of the continuous function by
            half a sample (its content moves by ``+1/2`` sample; see :func:`~pytracking.libs.fourier.shift_fs`).
        windowing: Also taper the coefficients with :func:`hann1d` over the full frequency range
            (``hann1d(H)`` along ``ky``; the ``kx >= 0`` half of ``hann1d(W)`` along ``kx``).
        device: Device of the outputs.

    Returns:
        ``(interp_y, interp_x)``: complex tensors ``(H, 1, 2)`` and ``(1, W // 2 + 1, 2)``.
    """
    h, w = _size2(sz)
    ky, kx = fourier.get_frequency_coord((h, w), dtype=torch.float64)
    if method == "ideal":
        iy = torch.full_like(ky, 1.0 / h)
        ix = torch.full_like(kx, 1.0 / w)
    elif method == "bicubic":
        iy = cubic_spline_fourier(ky / h, bicubic_param) / h
        ix = cubic_spline_fourier(kx / w, bicubic_param) / w
    else:
        raise ValueError(f"Unknown interpolation method {method!r}; choose 'ideal' or 'bicubic'.")
    if windowing:
        iy = iy * hann1d(h).to(torch.float64).reshape(-1, 1)
        ix = ix * hann1d(w).to(torch.float64)[(w - 1) // 2 :].reshape(1, -1)
    if centering:
        interp_y = complex.mult_real_cplx(iy, complex.exp_imag((-math.pi / h) * ky))
        interp_x = complex.mult_real_cplx(ix, complex.exp_imag((-math.pi / w) * kx))
    else:
        interp_y, interp_x = complex.complex(iy), complex.complex(ix)
    dtype = torch.get_default_dtype()
    return interp_y.to(device=device, dtype=dtype), interp_x.to(device=device, dtype=dtype)


@tensor_operation
def interpolate_dft(a: torch.Tensor, interp_fs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Apply interpolation coefficients to a centered Fourier series.

    Args:
        a: Complex series ``(..., H, W // 2 + 1, 2)``.
        interp_fs: One complex (or real) tensor broadcastable against ``a``, or a pair ``(interp_y, interp_x)``
            as returned by :func:`get_interp_fourier`.

    Returns:
        Complex series shaped like ``a``.
    """
    if isinstance(interp_fs, torch.Tensor):
        return complex.mult(a, interp_fs)
    if isinstance(interp_fs, (tuple, list)):
        for f in interp_fs:
            a = complex.mult(a, f)
        return a
    raise TypeError(f"interp_fs must be a tensor or a sequence of tensors, got {type(interp_fs).__name__}.")


@tensor_operation
def get_reg_filter(sz: SizeLike, target_sz: SizeLike, params: Any) -> torch.Tensor:
    """ECO's spatial regularisation filter, the sparsified Fourier coefficients of a penalty window.

    The window over one period of ``sz`` samples, centred at the target (the origin), is
    ``w(y, x) = min + (edge - min) * (|y / ry|^p + |x / rx|^p)`` with ``(ry, rx) = target_sz / 2``, so it
    equals ``reg_window_min`` at the target centre and ``reg_window_edge`` at the middle of its sides.
    Its DFT divided by ``H * W`` (the Fourier series coefficients) is thresholded: coefficients with
    magnitude below ``reg_sparsity_threshold * max`` are zeroed, then the DC coefficient is adjusted so
    the minimum of the sparse window is again ``reg_window_min``. The result is cropped to the smallest
    centred block holding the non-zero coefficients.

    Args:
        sz: Period ``(H, W)`` in samples (ECO: the image support size in pixels).
        target_sz: Target size ``(h, w)`` in the same units.
        params: Object with attributes ``use_reg_window`` (default ``True``), ``reg_window_min``,
            ``reg_window_edge``, ``reg_window_power`` and ``reg_sparsity_threshold``.

    Returns:
        Real tensor ``(1, 1, 2 my + 1, 2 mx + 1)``: coefficients for ``ky = -my .. my``, ``kx = -mx .. mx``
        (full, not half, spectrum; real and symmetric). Without ``use_reg_window``: ``reg_window_min`` as a
        ``(1, 1, 1, 1)`` tensor.
    """
    dtype = torch.get_default_dtype()
    reg_min = float(params.reg_window_min)
    if not getattr(params, "use_reg_window", True):
        return torch.full((1, 1, 1, 1), reg_min, dtype=dtype)
    h, w = _size2(sz)
    ty, tx = _pair(target_sz)
    edge, power = float(params.reg_window_edge), float(params.reg_window_power)

    def circular_coords(n: int) -> torch.Tensor:
        # Distances to the origin in FFT order (0, 1, ..., -1): the window is then even and its DFT real.
        k = torch.arange(n, dtype=torch.float64)
        return torch.where(k > n // 2, k - n, k)

    wy = circular_coords(h).reshape(-1, 1)
    wx = circular_coords(w).reshape(1, -1)
    window = (edge - reg_min) * ((wy / (0.5 * ty)).abs() ** power + (wx / (0.5 * tx)).abs() ** power) + reg_min

    n = h * w
    dft = torch.fft.fft2(window) / n
    mag = dft.abs()
    dft = torch.where(mag < float(params.reg_sparsity_threshold) * mag.max(), torch.zeros_like(dft), dft)
    sparse_window = torch.fft.ifft2(dft).real * n
    dft[0, 0] += reg_min - sparse_window.min()
    coeffs = dft.real

    # Center (ky = 0 at (H - 1) // 2, kx = 0 at (W - 1) // 2) and crop symmetrically to the non-zero support.
    cy, cx = (h - 1) // 2, (w - 1) // 2
    coeffs = torch.roll(coeffs, shifts=(cy, cx), dims=(0, 1))
    nz = coeffs != 0
    rows = torch.nonzero(nz.any(dim=1)).flatten() - cy
    cols = torch.nonzero(nz.any(dim=0)).flatten() - cx
    # An unpaired +Nyquist frequency (even sizes) cannot be kept symmetrically.
    my = min(int(rows.abs().max()), cy)
    mx = min(int(cols.abs().max()), cx)
    filt = coeffs[cy - my : cy + my + 1, cx - mx : cx + mx + 1]
    return filt.reshape(1, 1, 2 * my + 1, 2 * mx + 1).to(dtype)


@tensor_operation
def max2d(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum and its position over the last two dimensions.

    Args:
        a: Tensor ``(..., H, W)``.

    Returns:
        ``(max_val, argmax)``: ``max_val`` ``(...)`` and ``argmax`` ``(..., 2)`` int64 holding ``(y, x)``.
        Ties go to the first position in row-major order.
    """
    w = a.shape[-1]
    max_val, idx = a.flatten(-2).max(dim=-1)
    argmax = torch.stack((torch.div(idx, w, rounding_mode="floor"), idx % w), dim=-1)
    return max_val, argmax
