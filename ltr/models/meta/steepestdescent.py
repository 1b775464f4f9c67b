"""Generic differentiable steepest-descent optimizers driven by autograd.

The problem to solve is given by a *residual module*: a callable ``r = residual_module(x, **kwargs)`` returning a
:class:`TensorList` of residuals whose squared norm ``L(x) = 0.5 * ||r(x)||^2`` is minimized over the meta
parameter ``x`` (a :class:`TensorList`, e.g. the target-model filter of LWL). Each iteration takes the step

    g = J^T r                 (gradient of L; J is the Jacobian of r at x)
    alpha = <g, g> / (<J g, J g> + steplength_reg * <g, g>)
    x <- x - alpha * g

which, for ``steplength_reg = 0``, is the exact minimizer of the Gauss-Newton model ``0.5 * ||r + J d||^2``
along the direction ``d = -g`` (for residuals affine in ``x`` it is the exact line search). Neither ``J`` nor
``J^T J`` is ever formed: ``g`` is a vector-Jacobian product and ``J g`` is obtained with the "double-backward"
trick (``g = J^T u`` is linear in a dummy vector ``u``, so the gradient of ``<g, v>`` w.r.t. ``u`` is ``J v``).

All operations are kept in the autograd graph (``create_graph=True``), so the returned iterates are
differentiable w.r.t. everything the residual depends on (features, labels, learned regularization), which is
what the meta-learning of LWL / DiMP-simple trains through.

Batches: several independent problems can be solved at once (one per sequence). The inner products are then
summed over every dimension except the batch dimension of each tensor (``parameter_batch_dim`` for the
parameters and gradients, ``residual_batch_dim`` for the residuals), giving one step length per problem.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from pytracking.libs.tensorlist import TensorList

__all__ = ["GNSteepestDescent"]

# Lower bound of the step-length denominator: keeps the step finite (and zero) when the gradient vanishes.
_ALPHA_DEN_MIN = 1e-8


def _sqr_norm_keep_dim(x: TensorList, batch_dim: int) -> torch.Tensor:
    """Sum of squares of all elements of ``x`` except along ``batch_dim``: a (batch,) tensor."""
    total = 0
    for e in x:
        dims = [d for d in range(e.dim()) if d != batch_dim]
        total = total + (e * e).sum(dim=dims) if dims else total + e * e
    return total


def _mean_sqr(res: TensorList) -> torch.Tensor:
    """Mean of the squared residual entries over all tensors of the list (the logged loss)."""
    return sum((e * e).sum() for e in res) / sum(e.numel() for e in res)


def _needs_detach(i: int, detach_length: float) -> bool:
    return i > 0 and not math.isinf(detach_length) and i % int(detach_length) == 0


class GNSteepestDescent(nn.Module):
    """Steepest descent with Gauss-Newton step length on an arbitrary least-squares residual.

    Args:
        residual_module: Callable ``(meta_parameter: TensorList, **kwargs) -> TensorList`` of residuals. It may be
            an ``nn.Module`` with learnable parameters (registered as the submodule ``residual_module``).
        num_iter: Default number of iterations.
        compute_losses: Also return the mean squared residual at every iterate.
        detach_length: Cut the graph through the iterates every ``detach_length`` iterations (``inf``: never).
        parameter_batch_dim: Batch dimension of the parameter tensors.
        residual_batch_dim: Batch dimension of the residual tensors.
        steplength_reg: ``mu`` in ``alpha = <g, g> / (<Jg, Jg> + mu <g, g>)`` (damps the step).
        filter_dilation_factors: Passed on to the residual module as the keyword ``filter_dilation_factors`` when
            not None (residual modules that apply dilated filters accept it).
    """

    def __init__(
        self,
        residual_module: nn.Module,
        num_iter: int = 1,
        compute_losses: bool = False,
        detach_length: float = float("Inf"),
        parameter_batch_dim: int = 0,
        residual_batch_dim: int = 0,
        steplength_reg: float = 0.0,
        filter_dilation_factors: dict | None = None,
    ):
        super().__init__()
        self.residual_module = residual_module
        self.num_iter = num_iter
        self.compute_losses = compute_losses
        self.detach_length = detach_length
        self.steplength_reg = steplength_reg
        self._parameter_batch_dim = parameter_batch_dim
        self._residual_batch_dim = residual_batch_dim
        self.filter_dilation_factors = filter_dilation_factors

    def _residual(self, meta_parameter: TensorList, kwargs: dict) -> TensorList:
        if self.filter_dilation_factors is not None:
            kwargs = {**kwargs, "filter_dilation_factors": self.filter_dilation_factors}
        return TensorList(self.residual_module(meta_parameter, **kwargs))

    def forward(
        self, meta_parameter: TensorList | torch.Tensor, num_iter: int | None = None, **kwargs
    ) -> tuple[TensorList | torch.Tensor, list, list]:
        """Run the iterations.

        Args:
            meta_parameter: Initial parameters (a TensorList, or a single tensor which is then wrapped).
            num_iter: Number of iterations (default ``self.num_iter``).
            **kwargs: Passed to the residual module (e.g. ``feat``, ``label``, ``sample_weight``).

        Returns:
            ``(meta_parameter, iterates, losses)``: the final parameters (same type as the input), the list of
            ``num_iter + 1`` iterates starting with the initial one, and the mean squared residual at each iterate
            (``num_iter + 1`` scalars) if ``compute_losses`` else an empty list. When called with gradients
            disabled, everything returned is detached.
        """
        input_is_list = isinstance(meta_parameter, TensorList)
        if not input_is_list:
            meta_parameter = TensorList([meta_parameter])
        num_iter = self.num_iter if num_iter is None else num_iter
        grad_was_enabled = torch.is_grad_enabled()

        iterates = [meta_parameter]
        losses = []
        # The step needs autograd even at inference (e.g. in the tracker under no_grad).
        with torch.enable_grad():
            for i in range(num_iter):
                if _needs_detach(i, self.detach_length) or not meta_parameter[0].requires_grad:
                    meta_parameter = meta_parameter.detach()
                meta_parameter.requires_grad_(True)

                r = self._residual(meta_parameter, kwargs)
                if self.compute_losses:
                    losses.append(_mean_sqr(r))

                # g = J^T u with u = r; u is a graph node so that J g can be read off as d<g, g>/du.
                u = r.clone()
                g = TensorList(torch.autograd.grad(list(r), list(meta_parameter), list(u), create_graph=True))
                jg = torch.autograd.grad(list(g), list(u), list(g), create_graph=True, allow_unused=True)
                jg = TensorList([torch.zeros_like(ue) if h is None else h for h, ue in zip(jg, u)])

                ip_gg = _sqr_norm_keep_dim(g, self._parameter_batch_dim)
                ip_hh = _sqr_norm_keep_dim(jg, self._residual_batch_dim)
                alpha = ip_gg / (ip_hh + self.steplength_reg * ip_gg).clamp(min=_ALPHA_DEN_MIN)

                def scaled(e: torch.Tensor, alpha: torch.Tensor = alpha) -> torch.Tensor:
                    shape = [-1 if d == self._parameter_batch_dim else 1 for d in range(e.dim())]
                    return alpha.reshape(shape) * e

                meta_parameter = meta_parameter - g.apply(scaled)
                iterates.append(meta_parameter)

            if self.compute_losses:
                losses.append(_mean_sqr(self._residual(meta_parameter, kwargs)))

        if not grad_was_enabled:
            meta_parameter = meta_parameter.detach()
            iterates = [w.detach() for w in iterates]
            losses = [loss.detach() for loss in losses]

        if not input_is_list:
            return meta_parameter[0], [w[0] for w in iterates], losses
        return meta_parameter, iterates, losses
