"""Iterative optimizers over ``TensorList`` variables (used by the ATOM and ECO trackers).

A variable is a ``TensorList`` of leaf tensors, e.g. the blocks of a multi-layer correlation filter plus a
projection matrix. Two kinds of problems are supported:

* :class:`L2Problem`: residuals ``r(x)`` (a ``TensorList``), loss ``<r, r>``. Solved by a linearised
  least-squares step (:class:`ConjugateGradient`), repeated Gauss-Newton steps (:class:`GaussNewtonCG`) or
  plain gradient descent (:class:`GradientDescentL2`).
* :class:`MinimizationProblem`: a scalar loss ``f(x)``. Solved by Newton steps with a CG inner solver
  (:class:`NewtonCG`) or gradient descent (:class:`GradientDescent`).

Jacobian and Hessian products are never formed as matrices: they are evaluated with autograd. For an L2
problem, ``u = J^T g`` is computed with ``create_graph=True`` for a dummy residual-space tensor ``g`` that
requires grad; ``u`` is linear in ``g``, so differentiating ``u`` with respect to ``g`` along ``v`` gives
``J v``, and a second backward through ``r`` gives ``J^T (J v)``. Choosing ``g = r(x)`` (detached) makes the
same graph yield the right-hand side ``-J^T r`` for free.

All optimizers update the variable **in place** (each tensor keeps its identity, so callers holding the
tensors see the new values) and leave every tensor's ``requires_grad`` flag as it was before the call.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pytracking.libs.tensorlist import TensorList

__all__ = [
    "L2Problem",
    "MinimizationProblem",
    "ConjugateGradientBase",
    "ConjugateGradient",
    "GaussNewtonCG",
    "GradientDescentL2",
    "NewtonCG",
    "GradientDescent",
]

# An inner product is a scalar tensor, or a TensorList of scalars (one per variable block) when a problem
# wants the CG coefficients computed block by block.
InnerProduct = torch.Tensor | TensorList


def _dot(a: TensorList | torch.Tensor, b: TensorList | torch.Tensor) -> torch.Tensor:
    """Euclidean inner product summed over all elements of all blocks, as a 0-dim tensor."""
    if isinstance(a, TensorList):
        return sum(ai.reshape(-1) @ bi.reshape(-1) for ai, bi in zip(a, b, strict=True))
    return a.reshape(-1) @ b.reshape(-1)


def _total(value: InnerProduct) -> torch.Tensor:
    """Reduce an inner product that may be per-block to a single 0-dim tensor."""
    if isinstance(value, TensorList):
        return sum(v.reshape(()) for v in value)
    return value.reshape(())


def _as_variable(variable: TensorList | torch.Tensor) -> TensorList:
    if isinstance(variable, TensorList):
        return variable
    if isinstance(variable, torch.Tensor):
        return TensorList([variable])
    if isinstance(variable, (list, tuple)):
        # A new list holding the same tensors: in-place updates stay visible to the caller.
        return TensorList(variable)
    raise TypeError(f"variable must be a TensorList (or a tensor), got {type(variable).__name__}")


def _as_list(value: TensorList | torch.Tensor) -> TensorList:
    return value if isinstance(value, TensorList) else TensorList([value])


def _grad(
    outputs: Sequence[torch.Tensor],
    inputs: Sequence[torch.Tensor],
    grad_outputs: Sequence[torch.Tensor],
    create_graph: bool = False,
) -> TensorList:
    """Vector-Jacobian product ``sum_i grad_outputs[i]^T d outputs[i] / d inputs`` as a TensorList.

    Outputs that do not depend on any input (no graph) contribute nothing, and inputs that no output depends
    on get zeros, so problems with constant terms or unused variable blocks need no special casing. The graph
    is always retained: CG evaluates many products through the same linearisation.
    """
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    if not pairs:
        return TensorList(torch.zeros_like(x) for x in inputs)
    grads = torch.autograd.grad(
        [o for o, _ in pairs],
        list(inputs),
        [g for _, g in pairs],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    return TensorList(torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs))


def _append(history: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    values = values.detach().reshape(-1)
    return torch.cat((history.to(device=values.device, dtype=values.dtype), values))


class _VariableScope:
    """Context that makes every variable tensor require grad and restores the original flags on exit."""

    def __init__(self, x: TensorList):
        self.x = x
        self.flags = [t.requires_grad for t in x]

    def __enter__(self) -> _VariableScope:
        for t in self.x:
            t.requires_grad_(True)
        return self

    def __exit__(self, *exc) -> None:
        for t, flag in zip(self.x, self.flags):
            t.requires_grad_(flag)


def _add_in_place(x: TensorList, delta: TensorList, scale: float | torch.Tensor | TensorList = 1.0) -> None:
    """``x[i] += scale * delta[i]`` on the existing tensors (outside autograd)."""
    with torch.no_grad():
        for i, (t, d) in enumerate(zip(x, delta, strict=True)):
            s = scale[i] if isinstance(scale, TensorList) else scale
            t.add_(d * s)


# ------------------------------------------------------------------------------------------------- problems
class L2Problem:
    """Least-squares problem: minimise ``ip_output(r(x), r(x))`` over a TensorList ``x``.

    Subclasses implement ``__call__``; the inner products and preconditioners may be overridden.
    """

    def __call__(self, x: TensorList) -> TensorList:
        """Residuals ``r(x)``: a TensorList of tensors of any shapes (one per loss term)."""
        raise NotImplementedError

    def ip_input(self, a: TensorList, b: TensorList) -> InnerProduct:
        """Inner product in variable space: sum over blocks of ``(a * b).sum()``, a 0-dim tensor.

        An override may return a TensorList of 0-dim tensors, one per variable block, to run CG with
        block-wise step sizes.
        """
        return _dot(a, b)

    def ip_output(self, a: TensorList, b: TensorList) -> InnerProduct:
        """Inner product in residual space (defines the loss ``ip_output(r, r)``)."""
        return _dot(a, b)

    def M1(self, x: TensorList) -> TensorList:
        """First preconditioner factor (identity)."""
        return x

    def M2(self, x: TensorList) -> TensorList:
        """Second preconditioner factor (identity)."""
        return x


class MinimizationProblem:
    """General minimisation problem: minimise a scalar ``f(x)`` over a TensorList ``x``."""

    def __call__(self, x: TensorList) -> torch.Tensor:
        """The loss ``f(x)``, a 0-dim tensor."""
        raise NotImplementedError

    def ip_input(self, a: TensorList, b: TensorList) -> InnerProduct:
        """Inner product in variable space: sum over blocks of ``(a * b).sum()``, a 0-dim tensor."""
        return _dot(a, b)

    def M1(self, x: TensorList) -> TensorList:
        """First preconditioner factor (identity)."""
        return x

    def M2(self, x: TensorList) -> TensorList:
        """Second preconditioner factor (identity)."""
        return x


# ------------------------------------------------------------------------------------- conjugate gradient
class ConjugateGradientBase:
    """Preconditioned conjugate gradient for ``A x = b`` with ``A`` symmetric positive (semi-)definite.

    Subclasses provide the operator :meth:`A`, the right-hand side ``self.b`` (a TensorList), the inner
    product :meth:`ip` and optionally the preconditioner ``M = M2 o M1``.

    Search state (direction ``p``, ``rho = <r, M r>`` and, for Polak-Ribiere, the previous residual) can
    persist across :meth:`run_CG` calls, which lets a tracker continue the optimisation frame after frame:
    with ``direction_forget_factor = f > 0`` the first new direction is ``z + f * beta * p_old``, so ``f = 1``
    continues CG exactly where it stopped and smaller ``f`` forgets the old direction faster; ``f = 0``
    restarts from steepest descent on every call.

    Args:
        fletcher_reeves: Fletcher-Reeves ``beta = rho / rho_prev``; otherwise Polak-Ribiere
            ``beta = max(0, (rho - <r_prev, z>) / rho_prev)``.
        standard_alpha: Step ``alpha = rho / <p, A p>``; otherwise ``<p, r> / <p, A p>``.
        direction_forget_factor: ``f >= 0`` as described above.
        debug: Also compute the residual norm at every CG iteration (returned by :meth:`run_CG`).
    """

    def __init__(
        self,
        fletcher_reeves: bool = True,
        standard_alpha: bool = True,
        direction_forget_factor: float = 0.0,
        debug: bool = False,
    ):
        if direction_forget_factor < 0:
            raise ValueError(f"direction_forget_factor must be >= 0, got {direction_forget_factor}")
        self.fletcher_reeves = fletcher_reeves
        self.standard_alpha = standard_alpha
        self.direction_forget_factor = direction_forget_factor
        self.debug = debug
        self.b: TensorList | None = None
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the search direction so that the next CG call starts with steepest descent."""
        self.p: TensorList | None = None
        self.rho: InnerProduct | None = None
        self.r_prev: TensorList | None = None

    def run_CG(self, num_iter: int, x: TensorList | None = None, eps: float = 0.0) -> tuple[TensorList, torch.Tensor]:
        """Run at most ``num_iter`` CG iterations on ``A x = b``.

        Iteration stops early when ``rho`` or ``<p, A p>`` is zero (see :meth:`check_zero`), e.g. when the
        right-hand side is zero, and when the residual norm drops to ``eps`` (if ``eps > 0``).

        Args:
            num_iter: Maximum number of iterations.
            x: Initial guess (not modified); None means zero.
            eps: Residual-norm tolerance; 0 disables the test.

        Returns:
            The solution estimate, and a 1-D tensor of residual norms ``||r||`` (initial, then one per
            iteration) when ``debug`` or ``eps > 0``, otherwise an empty tensor.
        """
        if self.b is None:
            raise RuntimeError("run_CG needs the right-hand side self.b to be set")
        if self.direction_forget_factor == 0:
            self.reset_state()
        elif self.p is not None:
            # Dividing the stored rho scales the first beta of this call by the forget factor.
            self.rho = self.rho / self.direction_forget_factor

        if x is None:
            x = TensorList(torch.zeros_like(e) for e in self.b)
            r = self.b
        else:
            r = self.b - self.A(x)

        record = self.debug or eps > 0
        norms = []
        if record:
            norms.append(self.residual_norm(r))
            if eps > 0 and norms[-1] <= eps:
                return x, torch.stack(norms)

        for it in range(num_iter):
            z = self.M2(self.M1(r))
            rho = self.ip(r, z)
            if self.check_zero(rho):
                break
            if self.p is None:
                p = z.clone()
            elif self.fletcher_reeves:
                p = z + self.p * (rho / self.rho)
            else:
                beta = (rho - self.ip(self.r_prev, z)) / self.rho
                p = z + self.p * beta.clamp(min=0)

            q = self.A(p)
            pq = self.ip(p, q)
            if self.check_zero(pq):
                break
            alpha = rho / pq if self.standard_alpha else self.ip(p, r) / pq

            self.p, self.rho = p, rho
            if not self.fletcher_reeves:
                self.r_prev = r
            x = x + p * alpha
            self.evaluate_CG_iteration(x)
            # The last residual update is only needed for reporting: the next call recomputes r.
            if it < num_iter - 1 or record:
                r = r - q * alpha
            if record:
                norms.append(self.residual_norm(r))
                if eps > 0 and norms[-1] <= eps:
                    break

        if norms:
            return x, torch.stack(norms)
        return x, self.b[0].new_zeros(0) if len(self.b) else torch.zeros(0)

    def A(self, x: TensorList) -> TensorList:
        """The linear operator of the system."""
        raise NotImplementedError

    def ip(self, a: TensorList, b: TensorList) -> InnerProduct:
        """Inner product used for the CG coefficients."""
        raise NotImplementedError

    def M1(self, x: TensorList) -> TensorList:
        """First preconditioner factor (identity unless overridden)."""
        return x

    def M2(self, x: TensorList) -> TensorList:
        """Second preconditioner factor (identity unless overridden)."""
        return x

    def check_zero(self, s: InnerProduct, eps: float = 0.0) -> bool:
        """True when ``|s| <= eps`` for the scalar ``s`` or for any block of a per-block inner product.

        Used to stop before dividing by a vanishing ``rho`` or ``<p, A p>``.
        """
        if isinstance(s, TensorList):
            return any(bool((e.abs() <= eps).any()) for e in s)
        return bool((s.abs() <= eps).any())

    def residual_norm(self, r: TensorList) -> torch.Tensor:
        """``sqrt(|ip(r, r)|)`` summed over blocks, a 0-dim tensor."""
        return _total(self.ip(r, r)).abs().sqrt()

    def evaluate_CG_iteration(self, x: TensorList) -> None:
        """Hook called with the current solution estimate after every CG iteration (no-op by default)."""


class _LinearisedL2(ConjugateGradientBase):
    """Shared machinery: linearise an L2Problem at the current variable and solve the normal equations."""

    def __init__(
        self,
        problem: L2Problem,
        variable: TensorList,
        cg_eps: float = 0.0,
        fletcher_reeves: bool = True,
        standard_alpha: bool = True,
        direction_forget_factor: float = 0.0,
        debug: bool = False,
    ):
        super().__init__(fletcher_reeves, standard_alpha, direction_forget_factor, debug)
        self.problem = problem
        self.x = _as_variable(variable)
        self.cg_eps = cg_eps
        self.losses = torch.zeros(0)
        self.residuals = torch.zeros(0)
        self._clear_temp()

    def _clear_temp(self) -> None:
        self.f0: TensorList | None = None
        self.g: TensorList | None = None
        self.dfdxt_g: TensorList | None = None
        self.b = None

    def _loss(self, residuals: TensorList) -> torch.Tensor:
        return _total(self.problem.ip_output(residuals, residuals)).detach()

    def _gauss_newton_step(self, num_cg_iter: int) -> None:
        """One linearised step ``x <- x + argmin_d ||r(x) + J d||^2`` (approximately, by CG)."""
        with _VariableScope(self.x):
            try:
                self.f0 = _as_list(self.problem(self.x))
                self.g = TensorList(f.detach().requires_grad_(True) for f in self.f0)
                self.dfdxt_g = _grad(self.f0, self.x, self.g, create_graph=True)
                self.b = -self.dfdxt_g.detach()
                self.losses = _append(self.losses, self._loss(self.f0))
                delta_x, res = self.run_CG(num_cg_iter, eps=self.cg_eps)
            finally:
                # Drop the graph before touching x: in-place updates must not hit saved tensors in use.
                self._clear_temp()
            _add_in_place(self.x, delta_x)
        if res.numel():
            self.residuals = _append(self.residuals, res)

    def _record_final_loss(self) -> None:
        if self.debug:
            with torch.no_grad():
                self.losses = _append(self.losses, self._loss(_as_list(self.problem(self.x))))

    def A(self, x: TensorList) -> TensorList:
        """``J^T J x`` at the current linearisation point."""
        jx = _grad(self.dfdxt_g, self.g, x)
        return _grad(self.f0, self.x, jx)

    def ip(self, a: TensorList, b: TensorList) -> InnerProduct:
        return self.problem.ip_input(a, b)

    def M1(self, x: TensorList) -> TensorList:
        return self.problem.M1(x)

    def M2(self, x: TensorList) -> TensorList:
        return self.problem.M2(x)


class ConjugateGradient(_LinearisedL2):
    """One linearised least-squares (Gauss-Newton) step per :meth:`run`, solved with CG.

    Solves ``J^T J dx = -J^T r(x)`` for the Jacobian ``J`` of the problem's residuals at the current
    variable, then sets ``x += dx`` in place. For residuals linear in ``x`` one step with as many CG
    iterations as unknowns gives the exact least-squares solution.

    Attributes:
        losses: Loss ``ip_output(r, r)`` before every step (always kept; with ``debug`` the loss after each
            run is appended too), a 1-D tensor growing across calls.
        residuals: CG residual norms (with ``debug`` or ``cg_eps > 0``), concatenated across calls.

    Args:
        problem: The least-squares problem.
        variable: TensorList of leaf tensors, updated in place.
        cg_eps: CG residual-norm tolerance (0: run all iterations).
        fletcher_reeves, standard_alpha, direction_forget_factor, debug: See :class:`ConjugateGradientBase`.
    """

    def run(self, num_cg_iter: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Perform one step with ``num_cg_iter`` CG iterations (0: do nothing).

        Returns:
            ``(losses, residuals)`` histories.
        """
        if num_cg_iter > 0:
            self._gauss_newton_step(num_cg_iter)
            self._record_final_loss()
        return self.losses, self.residuals


class GaussNewtonCG(_LinearisedL2):
    """Gauss-Newton iterations on an :class:`L2Problem`, each solved with CG.

    Args:
        problem: The least-squares problem.
        variable: TensorList of leaf tensors, updated in place.
        cg_eps: CG residual-norm tolerance (0: run all iterations).
        fletcher_reeves, standard_alpha, direction_forget_factor, debug: See :class:`ConjugateGradientBase`.
        analyze: Evaluate the loss at every CG iteration (costly: one forward pass each) and keep it in
            ``cg_losses``.

    Attributes:
        losses: Loss before every GN iteration (with ``debug`` also after each run), across calls.
        residuals: CG residual norms (with ``debug`` or ``cg_eps > 0``), across calls.
        cg_losses: Loss after every CG iteration when ``analyze``.
    """

    def __init__(
        self,
        problem: L2Problem,
        variable: TensorList,
        cg_eps: float = 0.0,
        fletcher_reeves: bool = True,
        standard_alpha: bool = True,
        direction_forget_factor: float = 0.0,
        debug: bool = False,
        analyze: bool = False,
    ):
        super().__init__(problem, variable, cg_eps, fletcher_reeves, standard_alpha, direction_forget_factor, debug)
        self.analyze = analyze
        self.cg_losses = torch.zeros(0)

    def run(
        self, num_cg_iter: int | Sequence[int], num_gn_iter: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run Gauss-Newton iterations.

        Args:
            num_cg_iter: CG iterations per GN iteration: an int (then ``num_gn_iter`` is required) or one
                count per GN iteration.
            num_gn_iter: Number of GN iterations when ``num_cg_iter`` is an int.

        Returns:
            ``(losses, residuals)`` histories.
        """
        if isinstance(num_cg_iter, int):
            if num_gn_iter is None:
                raise ValueError("num_gn_iter is required when num_cg_iter is a single int")
            schedule = [num_cg_iter] * num_gn_iter
        else:
            schedule = [int(n) for n in num_cg_iter]
            if num_gn_iter is not None and num_gn_iter != len(schedule):
                raise ValueError(f"num_gn_iter={num_gn_iter} disagrees with {len(schedule)} CG iteration counts")
        for n in schedule:
            self.run_GN_iter(n)
        if schedule:
            self._record_final_loss()
        return self.losses, self.residuals

    def run_GN_iter(self, num_cg_iter: int) -> None:
        """One Gauss-Newton iteration with ``num_cg_iter`` CG iterations (0: do nothing)."""
        if num_cg_iter > 0:
            self._gauss_newton_step(num_cg_iter)

    def evaluate_CG_iteration(self, delta_x: TensorList) -> None:
        if not self.analyze:
            return
        with torch.no_grad():
            loss = self._loss(_as_list(self.problem(TensorList(t.detach() for t in self.x) + delta_x)))
        self.cg_losses = _append(self.cg_losses, loss)


class NewtonCG(ConjugateGradientBase):
    """Newton iterations on a :class:`MinimizationProblem`, each solved with CG.

    Each iteration solves ``(H + hessian_reg * I) dx = -grad f(x)`` with Hessian-vector products from double
    autograd, sets ``x += dx`` in place, then multiplies ``hessian_reg`` by ``hessian_reg_factor``.

    Args:
        problem: The minimisation problem.
        variable: TensorList of leaf tensors, updated in place.
        init_hessian_reg: Initial Levenberg-style regularisation added to the Hessian.
        hessian_reg_factor: Factor applied to the regularisation after every Newton iteration.
        cg_eps: CG residual-norm tolerance (0: run all iterations).
        fletcher_reeves, standard_alpha, direction_forget_factor, debug: See :class:`ConjugateGradientBase`.

    Attributes:
        losses: Loss before every Newton iteration (with ``debug`` also after each run), across calls.
        residuals: CG residual norms (with ``debug`` or ``cg_eps > 0``), across calls.
    """

    def __init__(
        self,
        problem: MinimizationProblem,
        variable: TensorList,
        init_hessian_reg: float = 0.0,
        hessian_reg_factor: float = 1.0,
        cg_eps: float = 0.0,
        fletcher_reeves: bool = True,
        standard_alpha: bool = True,
        direction_forget_factor: float = 0.0,
        debug: bool = False,
    ):
        super().__init__(fletcher_reeves, standard_alpha, direction_forget_factor, debug)
        self.problem = problem
        self.x = _as_variable(variable)
        self.hessian_reg = init_hessian_reg
        self.hessian_reg_factor = hessian_reg_factor
        self.cg_eps = cg_eps
        self.losses = torch.zeros(0)
        self.residuals = torch.zeros(0)
        self._clear_temp()

    def _clear_temp(self) -> None:
        self.g: TensorList | None = None
        self.b = None

    def run(
        self, num_cg_iter: int | Sequence[int], num_newton_iter: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run Newton iterations.

        Args:
            num_cg_iter: CG iterations per Newton iteration: an int or one count per Newton iteration.
            num_newton_iter: Number of Newton iterations when ``num_cg_iter`` is an int (default 1).

        Returns:
            ``(losses, residuals)`` histories.
        """
        if isinstance(num_cg_iter, int):
            schedule = [num_cg_iter] * (1 if num_newton_iter is None else num_newton_iter)
        else:
            schedule = [int(n) for n in num_cg_iter]
            if num_newton_iter is not None and num_newton_iter != len(schedule):
                raise ValueError(
                    f"num_newton_iter={num_newton_iter} disagrees with {len(schedule)} CG iteration counts"
                )
        ran = False
        for n in schedule:
            if n > 0:
                self.run_newton_iter(n)
                self.hessian_reg *= self.hessian_reg_factor
                ran = True
        if ran and self.debug:
            with torch.no_grad():
                self.losses = _append(self.losses, _total(self.problem(self.x)))
        return self.losses, self.residuals

    def run_newton_iter(self, num_cg_iter: int) -> None:
        """One Newton iteration with ``num_cg_iter`` CG iterations."""
        with _VariableScope(self.x):
            try:
                loss = _total(self.problem(self.x))
                self.g = _grad([loss], self.x, [torch.ones_like(loss)], create_graph=True)
                self.b = -self.g.detach()
                self.losses = _append(self.losses, loss)
                delta_x, res = self.run_CG(num_cg_iter, eps=self.cg_eps)
            finally:
                self._clear_temp()
            _add_in_place(self.x, delta_x)
        if res.numel():
            self.residuals = _append(self.residuals, res)

    def A(self, x: TensorList) -> TensorList:
        """``(H + hessian_reg * I) x`` at the current iterate."""
        return _grad(self.g, self.x, x) + x * self.hessian_reg

    def ip(self, a: TensorList, b: TensorList) -> InnerProduct:
        return self.problem.ip_input(a, b)

    def M1(self, x: TensorList) -> TensorList:
        return self.problem.M1(x)

    def M2(self, x: TensorList) -> TensorList:
        return self.problem.M2(x)


# ------------------------------------------------------------------------------------------ gradient descent
class _GradientDescentBase:
    """Heavy-ball gradient descent ``d <- grad + momentum * d; x <- x - step_length * d`` (in place).

    The momentum direction persists across :meth:`run` calls until :meth:`reset_state`.
    """

    def __init__(
        self,
        problem: L2Problem | MinimizationProblem,
        variable: TensorList,
        step_length: float | TensorList,
        momentum: float = 0.0,
        debug: bool = False,
    ):
        self.problem = problem
        self.x = _as_variable(variable)
        self.step_length = step_length
        self.momentum = momentum
        self.debug = debug
        self.losses = torch.zeros(0)
        self.gradient_mags = torch.zeros(0)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the momentum direction."""
        self.dir: TensorList | None = None

    def _loss(self, x: TensorList) -> torch.Tensor:
        raise NotImplementedError

    def run(self, num_iter: int, dummy: object = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Take ``num_iter`` steps; ``dummy`` is accepted for call compatibility with the CG optimizers.

        Returns:
            ``(losses, gradient_mags)``: the loss before every step (always kept; with ``debug`` the final
            loss is appended too) and, with ``debug``, the gradient norm at every step.
        """
        if num_iter <= 0:
            return self.losses, self.gradient_mags
        with _VariableScope(self.x):
            for _ in range(num_iter):
                loss = self._loss(self.x)
                grad = _grad([loss], self.x, [torch.ones_like(loss)])
                self.losses = _append(self.losses, loss)
                if self.debug:
                    self.gradient_mags = _append(self.gradient_mags, _dot(grad, grad).sqrt())
                self.dir = grad if self.dir is None else grad + self.dir * self.momentum
                _add_in_place(self.x, self.dir, -self.step_length)
        if self.debug:
            with torch.no_grad():
                self.losses = _append(self.losses, self._loss(self.x))
        return self.losses, self.gradient_mags


class GradientDescentL2(_GradientDescentBase):
    """Gradient descent on the loss ``ip_output(r(x), r(x))`` of an :class:`L2Problem`.

    The gradient is that of the plain sum of squares (``2 J^T r`` for the default inner product).

    Args:
        problem: The least-squares problem.
        variable: TensorList of leaf tensors, updated in place.
        step_length: Step size, a number or a TensorList of per-block numbers.
        momentum: Heavy-ball momentum factor.
        debug: Also record gradient norms and the final loss of each run.
    """

    def _loss(self, x: TensorList) -> torch.Tensor:
        residuals = _as_list(self.problem(x))
        return _total(self.problem.ip_output(residuals, residuals))


class GradientDescent(_GradientDescentBase):
    """Gradient descent on the loss of a :class:`MinimizationProblem`.

    Args:
        problem: The minimisation problem.
        variable: TensorList of leaf tensors, updated in place.
        step_length: Step size, a number or a TensorList of per-block numbers.
        momentum: Heavy-ball momentum factor.
        debug: Also record gradient norms and the final loss of each run.
    """

    def _loss(self, x: TensorList) -> torch.Tensor:
        return _total(self.problem(x))
