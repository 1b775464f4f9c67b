"""Optimizers against closed-form solutions of small problems (float64)."""

import math

import pytest
import torch

from pytracking.libs.optimization import (
    ConjugateGradient,
    ConjugateGradientBase,
    GaussNewtonCG,
    GradientDescent,
    GradientDescentL2,
    L2Problem,
    MinimizationProblem,
    NewtonCG,
)
from pytracking.libs.tensorlist import TensorList

F64 = torch.float64
SIZES = (3, 2)  # two variable blocks: 5 unknowns in total


def flat(x):
    return torch.cat([t.reshape(-1) for t in x])


class LinearLSQ(L2Problem):
    """r(x) = [A1 x1 + A2 x2 - b, sqrt(lam) x1, sqrt(lam) x2]."""

    def __init__(self, seed=0, lam=0.1, m=7):
        g = torch.Generator().manual_seed(seed)
        self.A1 = torch.randn(m, SIZES[0], generator=g, dtype=F64)
        self.A2 = torch.randn(m, SIZES[1], generator=g, dtype=F64)
        self.b = torch.randn(m, generator=g, dtype=F64)
        self.lam = lam

    def __call__(self, x):
        s = math.sqrt(self.lam)
        return TensorList([self.A1 @ x[0] + self.A2 @ x[1] - self.b, s * x[0], s * x[1]])

    def dense(self):
        """Stacked C and d with r = C x - d."""
        n1, n2 = SIZES
        s = math.sqrt(self.lam)
        top = torch.cat([self.A1, self.A2], dim=1)
        C = torch.cat([top, s * torch.eye(n1 + n2, dtype=F64)], dim=0)
        d = torch.cat([self.b, torch.zeros(n1 + n2, dtype=F64)])
        return C, d

    def solution(self):
        C, d = self.dense()
        return torch.linalg.solve(C.T @ C, C.T @ d)

    def loss(self, xf):
        C, d = self.dense()
        return ((C @ xf - d) ** 2).sum()


def start(seed=1):
    g = torch.Generator().manual_seed(seed)
    return TensorList([torch.randn(n, generator=g, dtype=F64) for n in SIZES])


# ---------------------------------------------------------------------------------- ConjugateGradient
@pytest.mark.parametrize("fletcher_reeves", [True, False])
@pytest.mark.parametrize("standard_alpha", [True, False])
def test_conjugate_gradient_exact_in_n_steps(fletcher_reeves, standard_alpha):
    problem = LinearLSQ()
    x = start()
    opt = ConjugateGradient(problem, x, fletcher_reeves=fletcher_reeves, standard_alpha=standard_alpha)
    opt.run(sum(SIZES))
    torch.testing.assert_close(flat(x), problem.solution(), atol=1e-10, rtol=0)


def test_conjugate_gradient_updates_in_place_and_keeps_flags():
    problem = LinearLSQ()
    x = start()
    x[1].requires_grad_(True)
    outside = [x[0], x[1]]
    x0 = flat(x).detach().clone()
    opt = ConjugateGradient(problem, x)
    losses, _ = opt.run(5)
    assert x[0] is outside[0] and x[1] is outside[1] and opt.x is x
    assert not x[0].requires_grad and x[1].requires_grad
    assert x[0].is_leaf and x[1].is_leaf and x[1].grad is None
    torch.testing.assert_close(flat(outside).detach(), problem.solution(), atol=1e-10, rtol=0)
    # The loss before the step is always kept, without debug.
    assert losses.shape == (1,)
    torch.testing.assert_close(losses[0], problem.loss(x0))


def test_update_writes_storage_of_views():
    # Variables that are views of one buffer: the buffer itself must hold the result.
    problem = LinearLSQ()
    buffer = flat(start()).clone()
    x = TensorList([buffer[:3], buffer[3:]])
    GaussNewtonCG(problem, x).run(5, 1)
    torch.testing.assert_close(buffer, problem.solution(), atol=1e-10, rtol=0)


def test_conjugate_gradient_debug_records_final_loss_and_residuals():
    problem = LinearLSQ()
    x = start()
    opt = ConjugateGradient(problem, x, debug=True)
    losses, residuals = opt.run(5)
    xs = problem.solution()
    assert losses.shape == (2,) and residuals.shape == (6,)
    torch.testing.assert_close(losses[1], problem.loss(xs))
    assert residuals[-1] < 1e-10 * residuals[0]
    C, d = problem.dense()
    # First residual is ||b|| = ||J^T r(x0)||.
    torch.testing.assert_close(residuals[0], torch.linalg.norm(C.T @ (C @ flat(start()) - d)))
    opt.run(2)
    assert opt.losses.shape == (4,) and opt.residuals.shape == (9,)


def test_conjugate_gradient_zero_iterations_is_a_no_op():
    problem = LinearLSQ()
    x = start()
    before = flat(x).clone()
    losses, residuals = ConjugateGradient(problem, x).run(0)
    assert torch.equal(flat(x), before) and losses.numel() == 0 and residuals.numel() == 0


def test_cg_eps_stops_early():
    problem = LinearLSQ()
    x = start()
    opt = ConjugateGradient(problem, x, cg_eps=1e30)
    _, residuals = opt.run(5)
    # Tolerance met by the initial residual: no CG iteration, no update.
    assert residuals.shape == (1,)
    torch.testing.assert_close(flat(x), flat(start()))


class PreconditionedLSQ(LinearLSQ):
    """Jacobi-like diagonal preconditioner: PCG is still exact in n steps."""

    def M1(self, x):
        return TensorList([x[0] / torch.tensor([1.0, 4.0, 9.0], dtype=F64), x[1] * 0.5])


def test_preconditioned_conjugate_gradient_exact():
    problem = PreconditionedLSQ()
    x = start()
    ConjugateGradient(problem, x, fletcher_reeves=False).run(5)
    torch.testing.assert_close(flat(x), problem.solution(), atol=1e-10, rtol=0)


class BlockSeparable(L2Problem):
    """Two independent blocks with a per-block inner product (one CG coefficient per block)."""

    def __init__(self):
        g = torch.Generator().manual_seed(3)
        self.A = [torch.randn(5, n, generator=g, dtype=F64) for n in SIZES]
        self.b = [torch.randn(5, generator=g, dtype=F64) for _ in SIZES]

    def __call__(self, x):
        return TensorList([A @ xi - b for A, xi, b in zip(self.A, x, self.b)])

    def ip_input(self, a, b):
        return TensorList([(ai * bi).sum() for ai, bi in zip(a, b)])


def test_per_block_inner_product():
    problem = BlockSeparable()
    x = start()
    # max block size = 3 iterations solve both blocks exactly because each block runs its own CG.
    ConjugateGradient(problem, x).run(3)
    for A, b, xi in zip(problem.A, problem.b, x):
        torch.testing.assert_close(xi, torch.linalg.lstsq(A, b).solution, atol=1e-10, rtol=0)


class IgnoresSecondBlock(L2Problem):
    def __call__(self, x):
        return TensorList([x[0] - torch.tensor([1.0, 2.0, 3.0], dtype=F64), 2.0 * torch.ones(2, dtype=F64)])


def test_unused_variable_block_and_constant_residual():
    x = start()
    x1_before = x[1].clone()
    ConjugateGradient(IgnoresSecondBlock(), x).run(3)
    torch.testing.assert_close(x[0], torch.tensor([1.0, 2.0, 3.0], dtype=F64), atol=1e-12, rtol=0)
    assert torch.equal(x[1], x1_before)


# ------------------------------------------------------------------------- state / direction forgetting
def _expected_two_runs(problem, f, fletcher_reeves):
    """Hand-computed x after two single-iteration runs with forget factor f."""
    C, d = problem.dense()
    A = C.T @ C
    x0 = flat(start())
    b0 = C.T @ d - A @ x0
    rho0 = b0 @ b0
    x1 = x0 + rho0 / (b0 @ A @ b0) * b0
    b1 = C.T @ d - A @ x1
    rho1 = b1 @ b1
    beta = rho1 / rho0 if fletcher_reeves else torch.clamp((rho1 - b0 @ b1) / rho0, min=0)
    p1 = b1 + f * beta * b0
    return x1 + rho1 / (p1 @ A @ p1) * p1


@pytest.mark.parametrize("fletcher_reeves", [True, False])
@pytest.mark.parametrize("f", [0.0, 0.5])
def test_direction_forget_factor_second_run(f, fletcher_reeves):
    problem = LinearLSQ()
    x = start()
    opt = ConjugateGradient(problem, x, fletcher_reeves=fletcher_reeves, direction_forget_factor=f)
    opt.run(1)
    opt.run(1)
    torch.testing.assert_close(flat(x), _expected_two_runs(problem, f, fletcher_reeves), atol=1e-12, rtol=0)


@pytest.mark.parametrize("fletcher_reeves", [True, False])
def test_forget_factor_one_continues_cg_across_calls(fletcher_reeves):
    problem = LinearLSQ()
    x = start()
    opt = ConjugateGradient(problem, x, fletcher_reeves=fletcher_reeves, direction_forget_factor=1.0)
    for _ in range(sum(SIZES)):
        opt.run(1)
    torch.testing.assert_close(flat(x), problem.solution(), atol=1e-9, rtol=0)

    # Without memory the same budget is only steepest descent and is still far from the optimum.
    y = start()
    sd = ConjugateGradient(problem, y, fletcher_reeves=fletcher_reeves, direction_forget_factor=0.0)
    for _ in range(sum(SIZES)):
        sd.run(1)
    assert (flat(y) - problem.solution()).abs().max() > 1e-4


def test_reset_state_forgets_direction():
    problem = LinearLSQ()
    x = start()
    opt = ConjugateGradient(problem, x, direction_forget_factor=0.5)
    opt.run(1)
    assert opt.p is not None
    opt.reset_state()
    assert opt.p is None and opt.rho is None
    opt.run(1)
    torch.testing.assert_close(flat(x), _expected_two_runs(problem, 0.0, True), atol=1e-12, rtol=0)


def test_negative_forget_factor_rejected():
    with pytest.raises(ValueError):
        ConjugateGradient(LinearLSQ(), start(), direction_forget_factor=-1.0)


# ------------------------------------------------------------------------------- ConjugateGradientBase
class DenseSystem(ConjugateGradientBase):
    def __init__(self, matrix, rhs, **kw):
        super().__init__(**kw)
        self.matrix = matrix
        self.b = TensorList([rhs])

    def A(self, x):
        return TensorList([self.matrix @ x[0]])

    def ip(self, a, b):
        return (a[0] * b[0]).sum()


def test_run_cg_base_solves_spd_system_and_reports_residuals():
    g = torch.Generator().manual_seed(5)
    B = torch.randn(6, 6, generator=g, dtype=F64)
    M = B @ B.T + 0.5 * torch.eye(6, dtype=F64)
    rhs = torch.randn(6, generator=g, dtype=F64)
    solver = DenseSystem(M, rhs, debug=True)
    x, resvec = solver.run_CG(6)
    torch.testing.assert_close(x[0], torch.linalg.solve(M, rhs), atol=1e-10, rtol=0)
    assert resvec.shape == (7,)
    torch.testing.assert_close(resvec[0], torch.linalg.norm(rhs))
    assert resvec[-1] < 1e-9

    # Warm start from the exact solution: nothing to do.
    x2, _ = solver.run_CG(3, x=x)
    torch.testing.assert_close(x2[0], x[0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("standard_alpha", [True, False])
@pytest.mark.parametrize("fletcher_reeves", [True, False])
@pytest.mark.parametrize("b1_scale", [0.3, 2.0])
def test_run_cg_beta_formulas_across_calls(fletcher_reeves, b1_scale, standard_alpha):
    # Changing b between calls makes <r_prev, z> non-zero, which separates Fletcher-Reeves from Polak-Ribiere;
    # b1_scale=0.3 drives the Polak-Ribiere beta negative, so it is clamped to 0.
    g = torch.Generator().manual_seed(11)
    B = torch.randn(4, 4, generator=g, dtype=F64)
    M = B @ B.T + torch.eye(4, dtype=F64)
    b0 = torch.randn(4, generator=g, dtype=F64)
    b1 = b1_scale * b0 + 0.05 * torch.randn(4, generator=g, dtype=F64)
    f = 0.5
    solver = DenseSystem(
        M, b0, fletcher_reeves=fletcher_reeves, standard_alpha=standard_alpha, direction_forget_factor=f
    )
    solver.run_CG(1)
    solver.b = TensorList([b1])
    x, _ = solver.run_CG(1)

    rho0, rho1 = b0 @ b0, b1 @ b1
    beta = rho1 / rho0 if fletcher_reeves else torch.clamp((rho1 - b0 @ b1) / rho0, min=0)
    if not fletcher_reeves and b1_scale < 1:
        assert beta == 0
    p = b1 + f * beta * b0
    # With a warm direction <p, r> differs from rho, which separates the two step-size rules.
    alpha = (rho1 if standard_alpha else p @ b1) / (p @ M @ p)
    torch.testing.assert_close(x[0], alpha * p, atol=1e-12, rtol=0)


def test_run_cg_degenerate_cases_give_no_nan():
    zero_rhs = DenseSystem(torch.eye(3, dtype=F64), torch.zeros(3, dtype=F64))
    x, resvec = zero_rhs.run_CG(3)
    assert torch.equal(x[0], torch.zeros(3, dtype=F64)) and resvec.numel() == 0

    # A p = 0 (singular operator): <p, A p> = 0 must stop before dividing.
    singular = DenseSystem(torch.zeros(3, 3, dtype=F64), torch.ones(3, dtype=F64))
    x, _ = singular.run_CG(3)
    assert torch.equal(x[0], torch.zeros(3, dtype=F64))


def test_run_cg_without_rhs_raises():
    with pytest.raises(RuntimeError):
        ConjugateGradientBase().run_CG(1)


# ----------------------------------------------------------------------------------------- GaussNewtonCG
def test_gauss_newton_linear_problem_and_histories():
    problem = LinearLSQ()
    x = start()
    opt = GaussNewtonCG(problem, x, debug=True)
    losses, residuals = opt.run(5, 2)
    xs = problem.solution()
    torch.testing.assert_close(flat(x), xs, atol=1e-10, rtol=0)
    # Loss before each GN iteration, then the final one.
    assert losses.shape == (3,)
    torch.testing.assert_close(losses[0], problem.loss(flat(start())))
    torch.testing.assert_close(losses[1], problem.loss(xs))
    torch.testing.assert_close(losses[2], problem.loss(xs))
    assert residuals.shape == (2 * 6,)
    # Histories keep growing across calls.
    opt.run([1, 2])
    assert opt.losses.shape == (6,) and opt.residuals.shape == (12 + 2 + 3,)


def test_gauss_newton_schedule_validation():
    opt = GaussNewtonCG(LinearLSQ(), start())
    with pytest.raises(ValueError):
        opt.run(5)
    with pytest.raises(ValueError):
        opt.run([5, 5], num_gn_iter=3)
    losses, _ = opt.run([])
    assert losses.numel() == 0


class NonlinearWithRoot(L2Problem):
    """Consistent overdetermined system with root a = (2, 3), c = (1, 2, 0.5)."""

    def __call__(self, x):
        a, c = x
        t = torch.tensor
        return TensorList(
            [
                a**2 - t([4.0, 9.0], dtype=F64),
                c**3 - t([1.0, 8.0, 0.125], dtype=F64),
                a[0] * c - t([2.0, 4.0, 1.0], dtype=F64),
            ]
        )


ROOT = TensorList([torch.tensor([2.0, 3.0], dtype=F64), torch.tensor([1.0, 2.0, 0.5], dtype=F64)])


def test_gauss_newton_nonlinear_root():
    x = TensorList([torch.tensor([1.5, 2.5], dtype=F64), torch.tensor([1.3, 1.6, 0.7], dtype=F64)])
    opt = GaussNewtonCG(NonlinearWithRoot(), x, fletcher_reeves=False)
    losses, _ = opt.run(5, 8)
    torch.testing.assert_close(flat(x), flat(ROOT), atol=1e-10, rtol=0)
    assert losses.shape == (8,)
    assert bool((losses[1:] <= losses[:-1]).all())


def test_gauss_newton_zero_residual_gives_no_nan():
    x = ROOT.clone()
    opt = GaussNewtonCG(NonlinearWithRoot(), x, debug=True)
    losses, _ = opt.run(3, 2)
    assert torch.equal(flat(x), flat(ROOT))
    assert torch.equal(losses, torch.zeros(3, dtype=F64))


def test_gauss_newton_analyze_records_cg_losses():
    problem = LinearLSQ()
    opt = GaussNewtonCG(problem, start(), analyze=True)
    opt.run(5, 1)
    assert opt.cg_losses.shape == (5,)
    # CG on a convex quadratic decreases the loss monotonically; the last equals the optimum.
    assert bool((opt.cg_losses[1:] <= opt.cg_losses[:-1] + 1e-12).all())
    torch.testing.assert_close(opt.cg_losses[-1], problem.loss(problem.solution()))


# ------------------------------------------------------------------------------------- GradientDescentL2
def test_gradient_descent_l2_first_steps_exact():
    problem = LinearLSQ()
    C, d = problem.dense()
    x = start()
    step, mom = 0.01, 0.5
    opt = GradientDescentL2(problem, x, step, momentum=mom)
    opt.run(2)
    x0 = flat(start())
    g0 = 2 * C.T @ (C @ x0 - d)
    x1 = x0 - step * g0
    g1 = 2 * C.T @ (C @ x1 - d)
    x2 = x1 - step * (g1 + mom * g0)
    torch.testing.assert_close(flat(x), x2, atol=1e-12, rtol=0)


def test_gradient_descent_l2_converges_in_place():
    problem = LinearLSQ()
    C, _ = problem.dense()
    L = 2 * torch.linalg.eigvalsh(C.T @ C).max().item()
    x = start()
    ref = x[0]
    opt = GradientDescentL2(problem, x, 1.0 / L, momentum=0.6, debug=True)
    losses, grad_mags = opt.run(500)
    assert ref is x[0] and not ref.requires_grad
    torch.testing.assert_close(flat(x), problem.solution(), atol=1e-6, rtol=0)
    assert losses.shape == (501,) and grad_mags.shape == (500,)
    assert grad_mags[-1] < 1e-6


# -------------------------------------------------------------------------------- minimization problems
class Quadratic(MinimizationProblem):
    """f(x) = 0.5 x^T Q x - c^T x over two blocks; minimiser Q^{-1} c."""

    def __init__(self):
        g = torch.Generator().manual_seed(7)
        B = torch.randn(5, 5, generator=g, dtype=F64)
        self.Q = B @ B.T + torch.eye(5, dtype=F64)
        self.c = torch.randn(5, generator=g, dtype=F64)

    def __call__(self, x):
        v = flat(x)
        return 0.5 * v @ self.Q @ v - self.c @ v


def test_newton_cg_quadratic_exact():
    problem = Quadratic()
    x = start()
    opt = NewtonCG(problem, x, debug=True)
    losses, _ = opt.run(5)
    xs = torch.linalg.solve(problem.Q, problem.c)
    torch.testing.assert_close(flat(x), xs, atol=1e-10, rtol=0)
    assert losses.shape == (2,)
    torch.testing.assert_close(losses[1], -0.5 * problem.c @ xs)


def test_newton_cg_hessian_regularisation():
    problem = Quadratic()
    x = start()
    lam = 2.0
    opt = NewtonCG(problem, x, init_hessian_reg=lam, hessian_reg_factor=0.25)
    opt.run(5)
    x0 = flat(start())
    expected = x0 - torch.linalg.solve(problem.Q + lam * torch.eye(5, dtype=F64), problem.Q @ x0 - problem.c)
    torch.testing.assert_close(flat(x), expected, atol=1e-10, rtol=0)
    assert opt.hessian_reg == pytest.approx(0.5)
    opt.run([5, 5])
    assert opt.hessian_reg == pytest.approx(0.5 * 0.25**2)


class ExpMinusLinear(MinimizationProblem):
    """f(x) = sum(exp(x) - 2 x), minimiser log(2) everywhere; separable and non-quadratic."""

    def __call__(self, x):
        return sum((torch.exp(t) - 2 * t).sum() for t in x)


def test_newton_cg_nonlinear_and_zero_gradient():
    x = TensorList([torch.zeros(2, dtype=F64), torch.ones(3, dtype=F64)])
    NewtonCG(ExpMinusLinear(), x).run(5, 10)
    torch.testing.assert_close(flat(x), torch.full((5,), math.log(2.0), dtype=F64), atol=1e-12, rtol=0)

    at_min = TensorList([torch.full((2,), math.log(2.0), dtype=F64)])
    before = at_min[0].clone()
    NewtonCG(ExpMinusLinear(), at_min).run(3, 2)
    assert not torch.isnan(at_min[0]).any()
    torch.testing.assert_close(at_min[0], before, atol=1e-15, rtol=0)


def test_gradient_descent_quadratic():
    problem = Quadratic()
    xs = torch.linalg.solve(problem.Q, problem.c)
    eig = torch.linalg.eigvalsh(problem.Q)
    step = 1.0 / eig.max().item()

    x = start()
    opt = GradientDescent(problem, x, step)
    opt.run(1)
    x0 = flat(start())
    torch.testing.assert_close(flat(x), x0 - step * (problem.Q @ x0 - problem.c), atol=1e-12, rtol=0)

    opt.run(3000)
    torch.testing.assert_close(flat(x), xs, atol=1e-6, rtol=0)
    assert opt.losses.shape == (3001,)


def test_gradient_descent_zero_gradient_and_state():
    problem = Quadratic()
    xs = torch.linalg.solve(problem.Q, problem.c)
    x = TensorList([xs[:3].clone(), xs[3:].clone()])
    opt = GradientDescent(problem, x, 0.1, momentum=0.9)
    opt.run(5)
    torch.testing.assert_close(flat(x), xs, atol=1e-12, rtol=0)
    assert opt.dir is not None
    opt.reset_state()
    assert opt.dir is None
