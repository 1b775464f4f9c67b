"""Tests for ltr.models.layers.normalization."""

from __future__ import annotations

import math

import torch

from ltr.models.layers.normalization import InstanceL2Norm

F64 = torch.float64


def test_size_average_norm_per_sample():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 6, dtype=F64) * torch.tensor([0.1, 1.0, 10.0], dtype=F64).view(3, 1, 1, 1)
    scale = 0.25
    out = InstanceL2Norm(scale=scale, eps=0.0)(x)
    norms = out.reshape(3, -1).norm(dim=1)
    torch.testing.assert_close(norms, torch.full((3,), scale * math.sqrt(4 * 5 * 6), dtype=F64))
    # Each sample is multiplied by one positive factor: scale * sqrt(C*H*W) / ||x_b||.
    factors = scale * math.sqrt(4 * 5 * 6) / x.reshape(3, -1).norm(dim=1)
    torch.testing.assert_close(out, x * factors.view(3, 1, 1, 1))


def test_exact_value_with_eps():
    x = torch.tensor([[[[3.0, 4.0]]]], dtype=F64)  # C*H*W = 2, sum of squares = 25
    out = InstanceL2Norm(size_average=True, eps=1.0, scale=2.0)(x)
    torch.testing.assert_close(out, x * 2.0 * math.sqrt(2.0 / 26.0))
    out = InstanceL2Norm(size_average=False, eps=1.0, scale=2.0)(x)
    torch.testing.assert_close(out, x * 2.0 / math.sqrt(26.0))


def test_no_size_average_gives_norm_scale():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 4, 4, dtype=F64)
    out = InstanceL2Norm(size_average=False, eps=0.0, scale=3.0)(x)
    torch.testing.assert_close(out.reshape(2, -1).norm(dim=1), torch.full((2,), 3.0, dtype=F64))


def test_zero_input_stays_finite_and_no_state():
    module = InstanceL2Norm()
    out = module(torch.zeros(1, 2, 3, 3))
    assert torch.equal(out, torch.zeros(1, 2, 3, 3))
    assert module.state_dict() == {}
