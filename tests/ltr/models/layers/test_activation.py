"""Tests for ltr.models.layers.activation."""

from __future__ import annotations

import math

import pytest
import torch

from ltr.models.layers.activation import (
    MLU,
    BentIdentPar,
    BentIdentParDeriv,
    LeakyReluPar,
    LeakyReluParDeriv,
    softmax_reg,
)

F64 = torch.float64


def test_softmax_reg_none_is_plain_softmax():
    x = torch.tensor([[0.0, math.log(3.0)]], dtype=F64)
    torch.testing.assert_close(softmax_reg(x, dim=1), torch.tensor([[0.25, 0.75]], dtype=F64))


def test_softmax_reg_exact_values():
    # exp(x) = [1, 2, 5]; with reg = 2 the denominator is 10.
    x = torch.tensor([0.0, math.log(2.0), math.log(5.0)], dtype=F64)
    out = softmax_reg(x, dim=0, reg=2.0)
    torch.testing.assert_close(out, torch.tensor([0.1, 0.2, 0.5], dtype=F64))


def test_softmax_reg_dim_and_tensor_reg_per_row():
    x = torch.zeros(2, 3, 4, dtype=F64)
    reg = torch.tensor([1.0, 4.0], dtype=F64).view(2, 1, 1)
    out = softmax_reg(x, dim=-2, reg=reg)
    assert out.shape == (2, 3, 4)
    torch.testing.assert_close(out[0], torch.full((3, 4), 1 / 4, dtype=F64))
    torch.testing.assert_close(out[1], torch.full((3, 4), 1 / 7, dtype=F64))


def test_softmax_reg_is_stable_for_large_logits():
    x = torch.tensor([1000.0, 1000.0], dtype=F64)
    out = softmax_reg(x, dim=0, reg=1.0)
    torch.testing.assert_close(out, torch.tensor([0.5, 0.5], dtype=F64))
    out_small = softmax_reg(-x, dim=0, reg=1.0)
    assert torch.isfinite(out_small).all() and out_small.max() < 1e-300


def test_mlu_values_and_bound():
    mlu = MLU(min_val=0.5)
    x = torch.tensor([-100.0, -1.0, 0.0, 2.0], dtype=F64)
    expected = torch.tensor([-0.5 * (1 - math.exp(-200.0)), 0.5 * (math.exp(-2.0) - 1), 0.0, 2.0], dtype=F64)
    torch.testing.assert_close(mlu(x), expected)
    assert list(mlu.parameters()) == [] and list(mlu.buffers()) == []


def test_mlu_slope_one_at_zero_and_inplace():
    x = torch.tensor([-1e-6, 1e-6], dtype=F64, requires_grad=True)
    MLU(2.0)(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(2, dtype=F64), rtol=1e-5, atol=1e-6)
    y = torch.tensor([-2.0, 3.0], dtype=F64)
    out = MLU(2.0, inplace=True)(y)
    assert out.data_ptr() == y.data_ptr()
    torch.testing.assert_close(y, torch.tensor([2.0 * (math.exp(-1.0) - 1), 3.0], dtype=F64))


def test_mlu_rejects_non_positive_min_val():
    with pytest.raises(ValueError):
        MLU(0.0)


def test_leaky_relu_par_values():
    x = torch.tensor([-2.0, -0.5, 0.0, 3.0], dtype=F64)
    torch.testing.assert_close(LeakyReluPar()(x, 0.1), torch.tensor([-0.2, -0.05, 0.0, 3.0], dtype=F64))
    torch.testing.assert_close(LeakyReluPar()(x, 0.0), torch.relu(x))
    torch.testing.assert_close(LeakyReluPar()(x, 1.0), x)


def test_leaky_relu_par_tensor_slope_broadcasts():
    x = torch.tensor([[-1.0, 2.0]], dtype=F64)
    a = torch.tensor([[0.0], [0.5]], dtype=F64)
    torch.testing.assert_close(LeakyReluPar()(x, a), torch.tensor([[0.0, 2.0], [-0.5, 2.0]], dtype=F64))


def test_leaky_relu_par_deriv_values_and_zero_convention():
    x = torch.tensor([-3.0, 0.0, 4.0], dtype=F64)
    torch.testing.assert_close(LeakyReluParDeriv()(x, 0.2), torch.tensor([0.2, 0.6, 1.0], dtype=F64))


def test_leaky_relu_par_deriv_matches_autograd():
    torch.manual_seed(0)
    x = torch.randn(50, dtype=F64)
    x = x + 0.1 * torch.sign(x)  # keep away from the kink at 0
    a = torch.rand(50, dtype=F64)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(LeakyReluPar()(x, a).sum(), x)
    torch.testing.assert_close(LeakyReluParDeriv()(x.detach(), a), grad)


def test_bent_ident_par_values():
    f = BentIdentPar(b=1.0)
    # With b = 1 the smooth |x| is sqrt(x^2 + 4) - 2: 0 at x = 0 and exactly 1 at x = +-sqrt(5).
    x = torch.tensor([0.0, math.sqrt(5.0), -math.sqrt(5.0)], dtype=F64)
    a = 0.5
    expected = torch.tensor(
        [0.0, 0.25 * 1.0 + 0.75 * math.sqrt(5.0), 0.25 * 1.0 - 0.75 * math.sqrt(5.0)],
        dtype=F64,
    )
    torch.testing.assert_close(f(x, a), expected)
    # a = 1 is the identity, whatever b.
    torch.testing.assert_close(BentIdentPar(b=0.3)(x, 1.0), x)


def test_bent_ident_par_asymptotic_slopes():
    f = BentIdentPar(b=0.5)
    a = 0.1
    big = torch.tensor([1e6, 1e6 + 1.0], dtype=F64)
    out = f(big, a)
    torch.testing.assert_close(out[1] - out[0], torch.tensor(1.0, dtype=F64), rtol=0, atol=1e-6)
    out = f(-big, a)
    torch.testing.assert_close(out[0] - out[1], torch.tensor(a, dtype=F64), rtol=0, atol=1e-6)


def test_bent_ident_par_deriv_values():
    # x = sqrt(5), b = 1: x / sqrt(x^2 + 4) = sqrt(5) / 3.
    x = torch.tensor([0.0, math.sqrt(5.0)], dtype=F64)
    out = BentIdentParDeriv(b=1.0)(x, 0.0)
    torch.testing.assert_close(out, torch.tensor([0.5, 0.5 * math.sqrt(5.0) / 3.0 + 0.5], dtype=F64))


@pytest.mark.parametrize("b", [0.25, 1.0, 3.0])
def test_bent_ident_par_deriv_matches_autograd(b):
    torch.manual_seed(1)
    x = (3 * torch.randn(40, dtype=F64)).requires_grad_(True)
    a = torch.rand(40, dtype=F64)
    (grad,) = torch.autograd.grad(BentIdentPar(b)(x, a).sum(), x)
    torch.testing.assert_close(BentIdentParDeriv(b)(x.detach(), a), grad)


def test_activations_hold_no_state():
    for module in (LeakyReluPar(), LeakyReluParDeriv(), BentIdentPar(), BentIdentParDeriv(), MLU(1.0)):
        assert module.state_dict() == {}
