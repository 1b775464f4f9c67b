"""Activation functions used by the DiMP-family target models.

The parametric activations (``LeakyReluPar``, ``BentIdentPar``) take their shape parameter ``a`` at call time rather
than at construction: the steepest-descent optimizer passes a per-position mask (target region vs. background) so
that the same module behaves as an identity inside the target and as a (leaky) rectifier outside it. Each comes
with a ``...Deriv`` module giving the elementwise derivative with respect to ``x``, which the optimizer needs for
its Gauss-Newton step. None of these modules hold parameters or buffers.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "softmax_reg",
    "MLU",
    "LeakyReluPar",
    "LeakyReluParDeriv",
    "BentIdentPar",
    "BentIdentParDeriv",
]


def softmax_reg(x: torch.Tensor, dim: int, reg: float | torch.Tensor | None = None) -> torch.Tensor:
    """Softmax with an extra implicit logit of value ``log(reg)``.

    Computes ``exp(x) / (reg + sum(exp(x), dim))``, i.e. a softmax over ``dim`` where a virtual entry with
    weight ``reg`` absorbs part of the mass, so the outputs sum to less than one. The computation appends the
    logit and uses :func:`torch.softmax`, which subtracts the maximum and stays finite for large ``x``.

    Args:
        x: Logits of any shape.
        dim: Dimension to normalise over (negative values allowed).
        reg: Weight of the implicit entry (``> 0``): a number, or a tensor broadcastable to ``x`` with size 1
            along ``dim``. ``None`` gives the plain softmax.

    Returns:
        Tensor with the shape of ``x``.
    """
    if reg is None:
        return torch.softmax(x, dim=dim)
    dim = dim % x.dim()
    reg_t = torch.as_tensor(reg, dtype=x.dtype, device=x.device)
    extra_shape = list(x.shape)
    extra_shape[dim] = 1
    extra_logit = reg_t.log().expand(extra_shape)
    probs = torch.softmax(torch.cat((x, extra_logit), dim=dim), dim=dim)
    return probs.narrow(dim, 0, x.shape[dim])


class MLU(nn.Module):
    """Minimal linear unit: the identity for ``x >= 0`` and a smooth floor at ``-min_val`` below zero.

    ``MLU(x) = x`` for ``x >= 0`` and ``min_val * (exp(x / min_val) - 1)`` for ``x < 0``. The function is
    continuous with slope 1 at zero and tends to ``-min_val`` as ``x -> -inf``, so ``min_val`` is the largest
    negative value it can output. It equals ``elu(leaky_relu(x, 1 / min_val), alpha=min_val)``.

    Args:
        min_val: Magnitude of the lower bound (``> 0``).
        inplace: Modify the input in place.
    """

    def __init__(self, min_val: float, inplace: bool = False):
        super().__init__()
        if min_val <= 0:
            raise ValueError(f"min_val must be positive, got {min_val}")
        self.min_val = min_val
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the activation elementwise (any shape)."""
        # leaky_relu divides the negative part by min_val, then elu maps it to min_val * (exp(.) - 1).
        x = F.leaky_relu(x, 1.0 / self.min_val, inplace=self.inplace)
        return F.elu(x, self.min_val, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, inplace={self.inplace}"


class LeakyReluPar(nn.Module):
    """Leaky ReLU with the negative slope given at call time.

    ``f(x, a) = (1 - a) / 2 * |x| + (1 + a) / 2 * x``, which is ``x`` for ``x >= 0`` and ``a * x`` for ``x < 0``
    (``a = 0``: ReLU, ``a = 1``: identity).
    """

    def forward(self, x: torch.Tensor, a: float | torch.Tensor) -> torch.Tensor:
        """Evaluate elementwise.

        Args:
            x: Input of any shape.
            a: Negative slope, a number or a tensor broadcastable to ``x``.

        Returns:
            Tensor of the broadcast shape of ``x`` and ``a``.
        """
        return (1.0 - a) / 2.0 * torch.abs(x) + (1.0 + a) / 2.0 * x


class LeakyReluParDeriv(nn.Module):
    """Derivative of :class:`LeakyReluPar` with respect to ``x``.

    ``f'(x, a) = (1 - a) / 2 * sign(x) + (1 + a) / 2``: ``1`` for ``x > 0`` and ``a`` for ``x < 0``. At ``x = 0``
    ``sign(0) = 0`` gives the mean of the one-sided slopes, ``(1 + a) / 2``.
    """

    def forward(self, x: torch.Tensor, a: float | torch.Tensor) -> torch.Tensor:
        """Evaluate elementwise.

        Args:
            x: Input of any shape.
            a: Negative slope, a number or a tensor broadcastable to ``x``.

        Returns:
            Elementwise derivative, of the broadcast shape of ``x`` and ``a``.
        """
        return (1.0 - a) / 2.0 * torch.sign(x) + (1.0 + a) / 2.0


class BentIdentPar(nn.Module):
    """Smooth counterpart of :class:`LeakyReluPar` (a parametric "bent identity").

    ``f(x, a) = (1 - a) / 2 * (sqrt(x^2 + 4 b^2) - 2 b) + (1 + a) / 2 * x``. ``|x|`` of the leaky ReLU is replaced by
    the smooth ``sqrt(x^2 + 4 b^2) - 2 b`` (zero at ``x = 0``), so ``f(0, a) = 0`` and the asymptotic slopes are
    ``1`` for ``x -> +inf`` and ``a`` for ``x -> -inf``; ``b`` sets the width of the bend.

    Args:
        b: Bend width (``> 0``).
    """

    def __init__(self, b: float = 1.0):
        super().__init__()
        self.b = b

    def forward(self, x: torch.Tensor, a: float | torch.Tensor) -> torch.Tensor:
        """Evaluate elementwise.

        Args:
            x: Input of any shape.
            a: Asymptotic negative slope, a number or a tensor broadcastable to ``x``.

        Returns:
            Tensor of the broadcast shape of ``x`` and ``a``.
        """
        smooth_abs = torch.sqrt(x * x + 4.0 * self.b * self.b) - 2.0 * self.b
        return (1.0 - a) / 2.0 * smooth_abs + (1.0 + a) / 2.0 * x

    def extra_repr(self) -> str:
        return f"b={self.b}"


class BentIdentParDeriv(nn.Module):
    """Derivative of :class:`BentIdentPar` with respect to ``x``.

    ``f'(x, a) = (1 - a) / 2 * x / sqrt(x^2 + 4 b^2) + (1 + a) / 2``.

    Args:
        b: Bend width, as in the matching :class:`BentIdentPar`.
    """

    def __init__(self, b: float = 1.0):
        super().__init__()
        self.b = b

    def forward(self, x: torch.Tensor, a: float | torch.Tensor) -> torch.Tensor:
        """Evaluate elementwise.

        Args:
            x: Input of any shape.
            a: Asymptotic negative slope, a number or a tensor broadcastable to ``x``.

        Returns:
            Elementwise derivative, of the broadcast shape of ``x`` and ``a``.
        """
        return (1.0 - a) / 2.0 * (x / torch.sqrt(x * x + 4.0 * self.b * self.b)) + (1.0 + a) / 2.0

    def extra_repr(self) -> str:
        return f"b={self.b}"
