"""Tests for ltr.models.kys.conv_gru.ConvGRUCell: layout, gate equations, gradients."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ltr.models.kys.conv_gru import ConvGRUCell


def test_state_dict_layout():
    cell = ConvGRUCell(4, 8, 3)
    listing = [(k, tuple(v.shape)) for k, v in cell.state_dict().items()]
    assert listing == [
        ("conv_reset.weight", (8, 12, 3, 3)),
        ("conv_reset.bias", (8,)),
        ("conv_update.weight", (8, 12, 3, 3)),
        ("conv_update.bias", (8,)),
        ("conv_state_new.weight", (8, 12, 3, 3)),
        ("conv_state_new.bias", (8,)),
    ]


def test_constant_gates_give_closed_form():
    # Zero kernels: every gate equals its bias, so h' = (1 - s(b_u)) h + s(b_u) tanh(b_n) element-wise.
    cell = ConvGRUCell(2, 3, 3).double()
    for conv, bias in ((cell.conv_reset, 0.3), (cell.conv_update, -0.4), (cell.conv_state_new, 0.7)):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.constant_(conv.bias, bias)
    torch.manual_seed(0)
    x = torch.randn(2, 2, 4, 5, dtype=torch.float64)
    h = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    update = 1.0 / (1.0 + math.exp(0.4))
    expected = (1 - update) * h + update * math.tanh(0.7)
    torch.testing.assert_close(cell(x, h), expected, rtol=1e-14, atol=1e-14)


def test_closed_gate_keeps_state():
    cell = ConvGRUCell(2, 3, 3)
    torch.nn.init.zeros_(cell.conv_update.weight)
    torch.nn.init.constant_(cell.conv_update.bias, -200.0)  # sigmoid underflows to 0
    torch.manual_seed(1)
    h = torch.randn(1, 3, 4, 4)
    assert torch.equal(cell(torch.randn(1, 2, 4, 4), h), h)


def test_matches_gru_equations_with_random_weights():
    torch.manual_seed(2)
    cell = ConvGRUCell(4, 8, 3).double()
    x = torch.randn(2, 4, 6, 5, dtype=torch.float64)
    h = torch.randn(2, 8, 6, 5, dtype=torch.float64)

    def conv(layer, inp):
        return F.conv2d(inp, layer.weight, layer.bias, padding=1)

    reset = torch.sigmoid(conv(cell.conv_reset, torch.cat((x, h), 1)))
    update = torch.sigmoid(conv(cell.conv_update, torch.cat((x, h), 1)))
    candidate = torch.tanh(conv(cell.conv_state_new, torch.cat((x, reset * h), 1)))
    expected = (1 - update) * h + update * candidate
    torch.testing.assert_close(cell(x, h), expected, rtol=1e-12, atol=1e-12)


def test_reset_gate_acts_on_state_only():
    # Reset fully closed and a candidate kernel that only reads the state channels: the candidate is tanh(bias).
    cell = ConvGRUCell(1, 2, 3).double()
    torch.nn.init.zeros_(cell.conv_reset.weight)
    torch.nn.init.constant_(cell.conv_reset.bias, -200.0)
    with torch.no_grad():
        cell.conv_state_new.weight[:, :1] = 0.0
        cell.conv_state_new.bias.fill_(0.25)
    torch.nn.init.zeros_(cell.conv_update.weight)
    torch.nn.init.constant_(cell.conv_update.bias, 200.0)  # update gate 1: output is the candidate
    torch.manual_seed(3)
    out = cell(torch.randn(1, 1, 3, 3, dtype=torch.float64), torch.randn(1, 2, 3, 3, dtype=torch.float64))
    torch.testing.assert_close(out, torch.full_like(out, math.tanh(0.25)))


@pytest.mark.parametrize("padding_mode", ["zeros", "replicate"])
def test_shape_and_gradients(padding_mode):
    torch.manual_seed(4)
    cell = ConvGRUCell(4, 8, (3, 3), padding_mode=padding_mode)
    x = torch.randn(2, 4, 7, 6, requires_grad=True)
    h = torch.randn(2, 8, 7, 6, requires_grad=True)
    out = cell(x, h)
    assert out.shape == (2, 8, 7, 6)
    out.square().sum().backward()
    for t in (x, h, *cell.parameters()):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
