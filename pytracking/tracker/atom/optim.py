"""ATOM's online classifier as least-squares problems for :mod:`pytracking.libs.optimization`.

The classifier is a two-layer network per feature block ``i``: a 1x1 projection ``P_i`` (``compressed_dim`` x
``C_i``) followed by a ``kernel_size`` convolution filter ``f_i``, with activations after each layer. Given
training samples ``x_ij`` (feature maps of image ``j``), Gaussian labels ``y_ij`` and sample weights ``w_ij``, the
residuals are ``sqrt(w_ij) * (act_r(f_i * act_p(P_i x_ij)) - y_ij)`` plus the regularisation terms
``sqrt(filter_reg_i) * f_i`` and ``sqrt(projection_reg_i) * P_i``.

* :class:`FactorizedConvProblem` optimises filters and projections jointly (first frame, Gauss-Newton).
* :class:`ConvProblem` optimises the filters alone (later frames, with the projection fixed).

Both compute CG inner products per feature block (each block gets its own step length and direction), and the
joint problem is preconditioned by the regularisation weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from pytracking.libs import operation, optimization
from pytracking.libs.tensorlist import TensorList

__all__ = ["ConvProblem", "FactorizedConvProblem", "make_activation"]

Activation = Callable[[torch.Tensor], torch.Tensor]


def make_activation(spec: str | tuple[str, float]) -> Activation:
    """The activation named by a parameter (``projection_activation`` / ``response_activation``).

    Args:
        spec: ``'none'``, ``'relu'``, ``'elu'`` or ``('mlu', a)``: the minimal linear unit, identity for ``x >= 0``
            and ``a * (exp(x / a) - 1)`` below (see ``ltr.models.layers.activation.MLU``).

    Returns:
        An elementwise, twice differentiable (almost everywhere) function.
    """
    name, param = (spec, None) if isinstance(spec, str) else (spec[0], float(spec[1]))
    if name == "none":
        return lambda x: x
    if name == "relu":
        return F.relu
    if name == "elu":
        return F.elu
    if name == "mlu":
        if param is None or param <= 0:
            raise ValueError(f"the 'mlu' activation needs a positive parameter, got {spec!r}")
        # Same function as ltr's MLU module; written out so that it stays out-of-place (double backward).
        return lambda x: F.elu(F.leaky_relu(x, 1.0 / param), param)
    raise ValueError(f"unknown activation {spec!r}; use 'none', 'relu', 'elu' or ('mlu', a)")


def _block_dot(a: TensorList, b: TensorList) -> TensorList:
    """Per-block inner products ``(a_i * b_i).sum()``, a TensorList of 0-dim tensors."""
    return TensorList((ai * bi).sum() for ai, bi in zip(a, b, strict=True))


def _weighted(residuals: TensorList, sample_weights: TensorList) -> TensorList:
    return TensorList(r * w.sqrt().reshape(-1, 1, 1, 1) for r, w in zip(residuals, sample_weights, strict=True))


class FactorizedConvProblem(optimization.L2Problem):
    """Joint least squares over filters and projection matrices (variable ``filters.concat(projections)``).

    Args:
        training_samples: one ``(N_i, C_i, H_i, W_i)`` tensor per feature block (un-projected features).
        y: labels, one ``(N_i, 1, H_i, W_i)`` tensor per block.
        filter_reg: ``filter_reg_i`` per block (numbers).
        projection_reg: ``projection_reg_i`` per block (numbers).
        sample_weights: per block, weights ``(N_i,)`` or one weight ``(1,)`` shared by all samples.
        projection_activation: activation after the projection.
        response_activation: activation of the filter output.
    """

    def __init__(
        self,
        training_samples: TensorList,
        y: TensorList,
        filter_reg: Sequence[float],
        projection_reg: Sequence[float],
        sample_weights: TensorList,
        projection_activation: Activation,
        response_activation: Activation,
    ):
        self.training_samples = training_samples
        self.y = y
        self.filter_reg = TensorList(float(r) for r in filter_reg)
        self.projection_reg = TensorList(float(r) for r in projection_reg)
        self.sample_weights = sample_weights
        self.projection_activation = projection_activation
        self.response_activation = response_activation
        # Diagonal preconditioner: each block scaled by its regularisation weight.
        self.diag_M = self.filter_reg.concat(self.projection_reg)

    def __call__(self, x: TensorList) -> TensorList:
        """Residuals for ``x = [f_1 .. f_n, P_1 .. P_n]``: ``[data_1 .. data_n, reg_f_1 .., reg_P_1 ..]``."""
        num = len(x) // 2
        filters, projections = x[:num], x[num:]
        compressed = operation.conv1x1(self.training_samples, projections).apply(self.projection_activation)
        scores = operation.conv2d(compressed, filters, mode="same").apply(self.response_activation)
        residuals = _weighted(scores - self.y, self.sample_weights)
        residuals.extend(f * math.sqrt(r) for f, r in zip(filters, self.filter_reg, strict=True))
        residuals.extend(p * math.sqrt(r) for p, r in zip(projections, self.projection_reg, strict=True))
        return residuals

    def ip_input(self, a: TensorList, b: TensorList) -> TensorList:
        """Per feature block: filter inner product plus projection inner product, repeated for both blocks."""
        num = len(a) // 2
        ip = _block_dot(a[:num], b[:num]) + _block_dot(a[num:], b[num:])
        return ip.concat(ip.clone())

    def M1(self, x: TensorList) -> TensorList:
        """Preconditioner: divide each block by its regularisation weight."""
        return x / self.diag_M


class ConvProblem(optimization.L2Problem):
    """Least squares over the filters alone, on already projected samples.

    Args:
        training_samples: one ``(N_i, D_i, H_i, W_i)`` tensor per feature block (projected features).
        y: labels, one ``(N_i, 1, H_i, W_i)`` tensor per block.
        filter_reg: ``filter_reg_i`` per block.
        sample_weights: per block, weights ``(N_i,)``.
        response_activation: activation of the filter output.

    The attributes may be reassigned between optimizer runs (the tracker points them at the filled part of its
    sample memory).
    """

    def __init__(
        self,
        training_samples: TensorList,
        y: TensorList,
        filter_reg: Sequence[float],
        sample_weights: TensorList,
        response_activation: Activation,
    ):
        self.training_samples = training_samples
        self.y = y
        self.filter_reg = TensorList(float(r) for r in filter_reg)
        self.sample_weights = sample_weights
        self.response_activation = response_activation

    def __call__(self, x: TensorList) -> TensorList:
        """Residuals for filters ``x = [f_1 .. f_n]``: ``[data_1 .. data_n, reg_f_1 .. reg_f_n]``."""
        scores = operation.conv2d(self.training_samples, x, mode="same").apply(self.response_activation)
        residuals = _weighted(scores - self.y, self.sample_weights)
        residuals.extend(f * math.sqrt(r) for f, r in zip(x, self.filter_reg, strict=True))
        return residuals

    def ip_input(self, a: TensorList, b: TensorList) -> TensorList:
        """Per-block inner products (each filter block gets its own CG coefficients)."""
        return _block_dot(a, b)
