"""Tests of the autograd-driven Gauss-Newton steepest descent (ltr.models.meta.steepestdescent)."""

import math

import pytest
import torch

from ltr.models.meta.steepestdescent import GNSteepestDescent
from pytracking.libs.tensorlist import TensorList


class LinearResidual(torch.nn.Module):
    """r(x) = A x - b for a batch of problems: x (batch, n), A (batch, m, n), b (batch, m)."""

    def forward(self, meta_parameter, A, b):
        x = meta_parameter[0]
        return TensorList([torch.einsum("bmn,bn->bm", A, x) - b])


def _problem(seed, batch=1, m=6, n=3):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(batch, m, n, generator=g, dtype=torch.float64)
    b = torch.randn(batch, m, generator=g, dtype=torch.float64)
    return A, b


def _well_conditioned(seed, m=6, n=3):
    """A = U diag(s) V^T with singular values in [1, 1.5]: steepest descent converges fast."""
    A, b = _problem(seed, m=m, n=n)
    U, _, Vh = torch.linalg.svd(A[0], full_matrices=False)
    s = torch.linspace(1.0, 1.5, n, dtype=torch.float64)
    return (U @ torch.diag(s) @ Vh).unsqueeze(0), b


def test_one_step_reaches_lstsq_when_normal_matrix_is_isotropic():
    # A = c Q with orthonormal columns: A^T A = c^2 I, so the gradient points straight at the minimizer and the
    # Gauss-Newton step length (1 / c^2) lands on it.
    A0, b = _problem(0)
    Q, _ = torch.linalg.qr(A0[0])
    A = (2.5 * Q).unsqueeze(0)
    x0 = torch.randn(1, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    opt = GNSteepestDescent(LinearResidual(), num_iter=1)
    x1, iterates, losses = opt(TensorList([x0]), A=A, b=b)
    expected = torch.linalg.lstsq(A[0], b[0].unsqueeze(-1)).solution.squeeze(-1)
    torch.testing.assert_close(x1[0][0], expected, rtol=1e-12, atol=1e-12)
    assert len(iterates) == 2 and losses == []
    torch.testing.assert_close(iterates[0][0], x0)


def test_one_step_is_exact_line_search_for_general_matrix():
    A, b = _problem(2)
    x0 = torch.zeros(1, 3, dtype=torch.float64)
    x1 = GNSteepestDescent(LinearResidual(), num_iter=1)(TensorList([x0]), A=A, b=b)[0][0].detach()

    M, v = A[0], b[0]
    g = M.T @ (M @ x0[0] - v)
    alpha = (g @ g) / ((M @ g) @ (M @ g))
    torch.testing.assert_close(x1[0], x0[0] - alpha * g, rtol=1e-12, atol=1e-12)

    # The loss drops by exactly (g^T g)^2 / (2 |A g|^2), and the new gradient is orthogonal to the old one.
    def loss(x):
        return 0.5 * ((M @ x - v) ** 2).sum()

    torch.testing.assert_close(loss(x0[0]) - loss(x1[0]), (g @ g) ** 2 / (2 * (M @ g) @ (M @ g)))
    g1 = M.T @ (M @ x1[0] - v)
    assert abs(float(g1 @ g)) < 1e-10


def test_iterations_follow_the_steepest_descent_recurrence_and_approach_lstsq():
    A, b = _well_conditioned(3)
    M, v = A[0], b[0]
    x, iterates, losses = GNSteepestDescent(LinearResidual(), num_iter=8, compute_losses=True)(
        TensorList([torch.zeros(1, 3, dtype=torch.float64)]), A=A, b=b
    )
    expected = torch.zeros(3, dtype=torch.float64)
    for k in range(8):
        g = M.T @ (M @ expected - v)
        expected = expected - (g @ g) / ((M @ g) @ (M @ g)) * g
        torch.testing.assert_close(iterates[k + 1][0][0], expected, rtol=1e-10, atol=1e-12)
    assert len(losses) == 9
    # Monotone decrease (exact line search on a convex quadratic); the loss is the mean squared residual.
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    torch.testing.assert_close(losses[-1], ((M @ x[0][0] - v) ** 2).mean())
    solution = torch.linalg.lstsq(M, v.unsqueeze(-1)).solution.squeeze(-1)
    # Error contracts at least by (kappa - 1) / (kappa + 1) = 0.385 per step in the A^T A norm (kappa = 2.25).
    assert (x[0][0] - solution).norm() < 2 * 0.385**8 * solution.norm()


def test_batch_elements_get_independent_step_lengths():
    A, b = _problem(4, batch=2)
    x0 = torch.zeros(2, 3, dtype=torch.float64)
    opt = GNSteepestDescent(LinearResidual(), num_iter=3)
    joint = opt(TensorList([x0]), A=A, b=b)[0][0]
    for i in range(2):
        single = opt(TensorList([x0[i : i + 1]]), A=A[i : i + 1], b=b[i : i + 1])[0][0]
        torch.testing.assert_close(joint[i : i + 1], single, rtol=1e-12, atol=1e-12)


def test_steplength_reg_damps_the_step():
    A, b = _problem(5)
    x0 = torch.zeros(1, 3, dtype=torch.float64)
    mu = 0.7
    x1 = GNSteepestDescent(LinearResidual(), num_iter=1, steplength_reg=mu)(TensorList([x0]), A=A, b=b)[0][0]
    M, v = A[0], b[0]
    g = M.T @ (M @ x0[0] - v)
    alpha = (g @ g) / ((M @ g) @ (M @ g) + mu * (g @ g))
    torch.testing.assert_close(x1[0], -alpha * g, rtol=1e-12, atol=1e-12)


class RegularizedResidual(torch.nn.Module):
    """Two parameter tensors, a data and a regularization residual; residual batch dim 1 (as in LWL)."""

    def forward(self, meta_parameter, A, b, lam):
        x = torch.cat([meta_parameter[0], meta_parameter[1]], dim=1)  # (1, n)
        data = (torch.einsum("mn,bn->bm", A, x) - b).unsqueeze(0)  # (1, batch, m)
        reg = lam * x.unsqueeze(0)  # (1, batch, n)
        return TensorList([data, reg])


def test_tensorlist_parameters_and_residuals_converge_to_ridge_solution():
    A, b = _well_conditioned(6, m=8, n=4)
    lam = 0.3
    x0 = TensorList([torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, 3, dtype=torch.float64)])
    opt = GNSteepestDescent(RegularizedResidual(), num_iter=60, residual_batch_dim=1)
    x, iterates, _ = opt(x0, A=A[0], b=b, lam=lam)
    assert isinstance(x, TensorList) and len(iterates) == 61
    stacked_A = torch.cat([A[0], lam * torch.eye(4, dtype=torch.float64)])
    stacked_b = torch.cat([b[0], torch.zeros(4, dtype=torch.float64)])
    expected = torch.linalg.lstsq(stacked_A, stacked_b.unsqueeze(-1)).solution.squeeze(-1)
    # The step-length denominator is clamped at 1e-8, which stalls progress once |A g|^2 < 1e-8.
    torch.testing.assert_close(torch.cat([x[0], x[1]], dim=1)[0], expected, rtol=0, atol=1e-4)


def test_single_tensor_input_and_no_grad_outputs_are_detached():
    A, b = _problem(7)
    opt = GNSteepestDescent(LinearResidual(), num_iter=2, compute_losses=True)
    x0 = torch.zeros(1, 3, dtype=torch.float64)
    with torch.no_grad():
        x, iterates, losses = opt(x0, A=A, b=b)
    assert torch.is_tensor(x) and x.shape == (1, 3)
    assert not x.requires_grad and not any(w.requires_grad for w in iterates)
    assert not any(loss.requires_grad for loss in losses) and len(losses) == 3
    assert not x0.requires_grad  # the caller's tensor is not modified


def test_iterates_are_differentiable_wrt_problem_data():
    A, _ = _problem(8)
    opt = GNSteepestDescent(LinearResidual(), num_iter=2)

    def solve(b):
        return opt(TensorList([torch.zeros(1, 3, dtype=torch.float64)]), A=A, b=b)[0][0]

    b = torch.randn(1, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(solve, (b,))


@pytest.mark.parametrize("detach_length, connected", [(math.inf, True), (1, False)])
def test_detach_length_cuts_the_graph_to_the_initial_parameter(detach_length, connected):
    A, b = _problem(9)
    x0 = torch.ones(1, 3, dtype=torch.float64, requires_grad=True)
    opt = GNSteepestDescent(LinearResidual(), num_iter=3, detach_length=detach_length)
    x = opt(TensorList([x0]), A=A, b=b)[0][0]
    grad = torch.autograd.grad(x.sum(), x0, allow_unused=True)[0]
    assert (grad is not None) == connected


def test_zero_gradient_gives_zero_step():
    A, b = _problem(10)
    solution = torch.linalg.lstsq(A[0], b[0].unsqueeze(-1)).solution.squeeze(-1).unsqueeze(0)
    # Exactly consistent system: r = 0 and g = 0, the clamped denominator keeps the step at zero.
    x = GNSteepestDescent(LinearResidual(), num_iter=1)(TensorList([solution]), A=A, b=A[0:1] @ solution[0])[0]
    assert torch.isfinite(x[0]).all()
    torch.testing.assert_close(x[0], solution)
