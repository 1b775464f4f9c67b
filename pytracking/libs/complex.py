"""Complex arithmetic on real tensors whose last dimension holds (real, imaginary).

The DCF toolbox predates native complex tensors in PyTorch, and the trackers built on it index the two
parts directly (``x[..., 0]`` / ``x[..., 1]``), so this module keeps that representation: a *complex*
tensor is a real tensor of shape ``(..., 2)``, and a *real* tensor is anything else.

Classification is by shape only: ``is_complex(a)`` is true exactly when ``a.shape[-1] == 2``. A real
tensor whose last dimension happens to be 2 is therefore taken for a complex one by :func:`mult`,
:func:`div` and :func:`mtimes`; where that can happen, call the explicit variants (:func:`mult_real_cplx`,
:func:`div_cplx_real`, :func:`mtimes_real_complex`, :func:`mtimes_complex_real`), which never guess.

All operations are written with real arithmetic, so they broadcast like ordinary tensor operations,
keep the input dtype and device, and are differentiable. Every public function is lifted over
:class:`~pytracking.libs.tensorlist.TensorList` arguments with ``@tensor_operation``.
"""

from __future__ import annotations

import torch

from pytracking.libs.tensorlist import tensor_operation

__all__ = [
    "is_complex",
    "is_real",
    "real",
    "imag",
    "complex",
    "conj",
    "abs_sqr",
    "abs",
    "mult",
    "mult_conj",
    "mult_real_cplx",
    "div",
    "div_cplx_real",
    "exp_imag",
    "mtimes",
    "mtimes_real_complex",
    "mtimes_complex_real",
]


def _check_complex(a: torch.Tensor, what: str = "input") -> None:
    if not is_complex(a):
        raise ValueError(
            f"Expected a complex {what} in the (..., 2) real/imaginary representation, got shape {tuple(a.shape)}."
        )


@tensor_operation
def is_complex(a: torch.Tensor) -> bool:
    """Whether ``a`` is in the complex representation, i.e. its last dimension has size 2."""
    return a.dim() >= 1 and a.shape[-1] == 2


@tensor_operation
def is_real(a: torch.Tensor) -> bool:
    """Whether ``a`` is *not* in the complex representation (see :func:`is_complex`)."""
    return not is_complex(a)


@tensor_operation
def real(a: torch.Tensor) -> torch.Tensor:
    """Real part of a complex tensor.

    Args:
        a: Complex tensor ``(..., 2)``.

    Returns:
        Real tensor ``(...)`` (a view).
    """
    _check_complex(a)
    return a[..., 0]


@tensor_operation
def imag(a: torch.Tensor) -> torch.Tensor:
    """Imaginary part of a complex tensor.

    Args:
        a: Complex tensor ``(..., 2)``.

    Returns:
        Real tensor ``(...)`` (a view).
    """
    _check_complex(a)
    return a[..., 1]


@tensor_operation
def complex(a: torch.Tensor | None, b: torch.Tensor | None = None) -> torch.Tensor:
    """Build a complex tensor from its real and imaginary parts.

    Args:
        a: Real part ``(...)``; ``None`` means zero (then ``b`` is required).
        b: Imaginary part, broadcastable with ``a``; ``None`` means zero.

    Returns:
        Complex tensor ``(..., 2)`` with the broadcast shape of ``a`` and ``b``.
    """
    if a is None and b is None:
        raise ValueError("complex() needs at least one of the real and imaginary parts.")
    if b is None:
        b = torch.zeros_like(a)
    elif a is None:
        a = torch.zeros_like(b)
    a, b = torch.broadcast_tensors(a, b)
    return torch.stack((a, b), dim=-1)


@tensor_operation
def conj(a: torch.Tensor) -> torch.Tensor:
    """Complex conjugate of a complex tensor ``(..., 2)``."""
    _check_complex(a)
    return torch.stack((a[..., 0], -a[..., 1]), dim=-1)


@tensor_operation
def abs_sqr(a: torch.Tensor) -> torch.Tensor:
    """Squared magnitude ``re^2 + im^2`` of a complex tensor ``(..., 2)``; returns a real ``(...)`` tensor."""
    _check_complex(a)
    return a[..., 0] ** 2 + a[..., 1] ** 2


@tensor_operation
def abs(a: torch.Tensor) -> torch.Tensor:
    """Magnitude of a complex tensor ``(..., 2)``; returns a real ``(...)`` tensor."""
    return torch.sqrt(abs_sqr(a))


@tensor_operation
def mult_real_cplx(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Product of a real tensor and a complex tensor.

    Args:
        a: Real tensor, broadcastable with ``b[..., 0]``.
        b: Complex tensor ``(..., 2)``.

    Returns:
        Complex tensor ``(..., 2)``.
    """
    _check_complex(b, "second operand")
    return a.unsqueeze(-1) * b


@tensor_operation
def mult(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise complex product ``a * b`` with broadcasting.

    Either operand may be real (no trailing 2), in which case it scales the other; at least one must be
    complex. See the module docstring for how real and complex operands are told apart.

    Args:
        a: Complex ``(..., 2)`` or real tensor.
        b: Complex ``(..., 2)`` or real tensor.

    Returns:
        Complex tensor ``(..., 2)``.
    """
    if is_real(a):
        if is_real(b):
            raise ValueError(
                f"mult() needs at least one complex (..., 2) operand, got shapes {tuple(a.shape)} and {tuple(b.shape)}."
            )
        return mult_real_cplx(a, b)
    if is_real(b):
        return mult_real_cplx(b, a)
    ar, ai = a[..., 0], a[..., 1]
    br, bi = b[..., 0], b[..., 1]
    return torch.stack((ar * br - ai * bi, ar * bi + ai * br), dim=-1)


@tensor_operation
def mult_conj(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise ``a * conj(b)`` with broadcasting; a real operand is its own conjugate.

    Args:
        a: Complex ``(..., 2)`` or real tensor.
        b: Complex ``(..., 2)`` or real tensor (at least one of the two complex).

    Returns:
        Complex tensor ``(..., 2)``.
    """
    if is_real(b):
        if is_real(a):
            raise ValueError(
                f"mult_conj() needs at least one complex (..., 2) operand, got shapes {tuple(a.shape)} and "
                f"{tuple(b.shape)}."
            )
        return mult_real_cplx(b, a)
    return mult(a, conj(b))


@tensor_operation
def div_cplx_real(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Divide a complex tensor ``a`` ``(..., 2)`` by a real tensor ``b`` (broadcastable with ``a[..., 0]``)."""
    _check_complex(a, "first operand")
    return a / b.unsqueeze(-1)


@tensor_operation
def div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise complex division ``a / b`` with broadcasting.

    Args:
        a: Complex ``(..., 2)`` or real tensor.
        b: Complex ``(..., 2)`` or real tensor (at least one of the two complex).

    Returns:
        Complex tensor ``(..., 2)``.
    """
    if is_real(b):
        if is_real(a):
            raise ValueError(
                f"div() needs at least one complex (..., 2) operand, got shapes {tuple(a.shape)} and {tuple(b.shape)}."
            )
        return div_cplx_real(a, b)
    # a / b = a * conj(b) / |b|^2, which also covers a real numerator.
    return div_cplx_real(mult_conj(a, b), abs_sqr(b))


@tensor_operation
def exp_imag(a: torch.Tensor) -> torch.Tensor:
    """``exp(i * a)`` for a real tensor ``a`` ``(...)``; returns the complex tensor ``(..., 2)`` = (cos a, sin a)."""
    return torch.stack((torch.cos(a), torch.sin(a)), dim=-1)


def _parts(a: torch.Tensor, conjugate: bool) -> tuple[torch.Tensor, torch.Tensor]:
    return a[..., 0], (-a[..., 1] if conjugate else a[..., 1])


@tensor_operation
def mtimes(a: torch.Tensor, b: torch.Tensor, conj_a: bool = False, conj_b: bool = False) -> torch.Tensor:
    """Complex matrix product over the last two non-complex dimensions (batched like ``torch.matmul``).

    ``conj_a`` / ``conj_b`` conjugate the entries of an operand before the product (no transpose). A real
    operand (no trailing 2) is dispatched to :func:`mtimes_real_complex` / :func:`mtimes_complex_real`.

    Args:
        a: ``(..., M, K, 2)`` complex or ``(..., M, K)`` real.
        b: ``(..., K, N, 2)`` complex or ``(..., K, N)`` real.
        conj_a: Use ``conj(a)``.
        conj_b: Use ``conj(b)``.

    Returns:
        Complex tensor ``(..., M, N, 2)``.
    """
    if is_real(a):
        if is_real(b):
            raise ValueError(
                f"mtimes() needs at least one complex (..., 2) operand, got shapes {tuple(a.shape)} and "
                f"{tuple(b.shape)}."
            )
        return mtimes_real_complex(a, b, conj_b=conj_b)
    if is_real(b):
        return mtimes_complex_real(a, b, conj_a=conj_a)
    ar, ai = _parts(a, conj_a)
    br, bi = _parts(b, conj_b)
    re = torch.matmul(ar, br) - torch.matmul(ai, bi)
    im = torch.matmul(ar, bi) + torch.matmul(ai, br)
    return torch.stack((re, im), dim=-1)


@tensor_operation
def mtimes_real_complex(a: torch.Tensor, b: torch.Tensor, conj_b: bool = False) -> torch.Tensor:
    """Matrix product of a real ``(..., M, K)`` and a complex ``(..., K, N, 2)`` tensor -> ``(..., M, N, 2)``."""
    _check_complex(b, "second operand")
    br, bi = _parts(b, conj_b)
    return torch.stack((torch.matmul(a, br), torch.matmul(a, bi)), dim=-1)


@tensor_operation
def mtimes_complex_real(a: torch.Tensor, b: torch.Tensor, conj_a: bool = False) -> torch.Tensor:
    """Matrix product of a complex ``(..., M, K, 2)`` and a real ``(..., K, N)`` tensor -> ``(..., M, N, 2)``."""
    _check_complex(a, "first operand")
    ar, ai = _parts(a, conj_a)
    return torch.stack((torch.matmul(ar, b), torch.matmul(ai, b)), dim=-1)
