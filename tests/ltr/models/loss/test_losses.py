"""Tests for the training losses: hand-computed values, independent numpy references, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from ltr.models.loss import (
    GIoULoss,
    KLRegression,
    KLRegressionGrid,
    LBHinge,
    LBHingev2,
    MLRegression,
    TrackingClassificationAccuracy,
)


def np_logsumexp(x: np.ndarray, axis) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis=axis)


# ---------------------------------------------------------------------------------------------------- LBHinge


def test_lbhinge_hand_computed_value_and_gradient():
    # Labels 0 and 0.01 are below the threshold (background): prediction 0.3 -> relu 0.3 vs 0, -0.2 -> 0 vs 0.
    pred = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
    label = torch.tensor([0.0, 0.01, 1.0], dtype=torch.float64)
    loss = LBHinge(threshold=0.05)(pred, label)
    assert loss.item() == pytest.approx((0.3**2 + 0.0 + 0.5**2) / 3, abs=1e-15)
    loss.backward()
    # d/dp mean((p' - t)^2) = 2/3 (p' - t) where the hinge is active, 0 below it on the negative side.
    torch.testing.assert_close(pred.grad, torch.tensor([0.2, 0.0, -1 / 3], dtype=torch.float64))


def test_lbhinge_without_threshold_is_plain_mse_and_clip():
    pred = torch.tensor([0.3, -0.2, 0.5])
    label = torch.tensor([0.0, 0.0, 1.0])
    assert LBHinge()(pred, label).item() == pytest.approx((0.09 + 0.04 + 0.25) / 3, rel=1e-6)
    clipped = LBHinge(threshold=0.05, clip=0.1)(pred, label)
    assert clipped.shape == () and clipped.item() == pytest.approx(0.1)
    assert LBHinge(threshold=0.05, clip=1.0)(pred, label).item() == pytest.approx(0.34 / 3, rel=1e-6)
    l1 = LBHinge(error_metric=nn.L1Loss(), threshold=0.05)(pred, label)
    assert l1.item() == pytest.approx((0.3 + 0.0 + 0.5) / 3, rel=1e-6)


def test_lbhingev2_valid_samples_and_per_sequence():
    pred = torch.tensor([[[[0.3, -0.2], [0.5, 1.0]]], [[[2.0, 0.0], [0.0, 0.0]]]], dtype=torch.float64)
    label = torch.tensor([[[[0.0, 0.0], [1.0, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]], dtype=torch.float64)
    # Per-element squared errors: image 0: [0.09, 0, 0.25, 0]; image 1: [4, 0, 0, 0].
    loss = LBHingev2(threshold=0.05)
    assert loss(pred, label).item() == pytest.approx((0.34 + 4.0) / 8, abs=1e-15)
    valid = torch.tensor([1.0, 0.0], dtype=torch.float64).view(2, 1, 1, 1)
    # The invalid image contributes nothing and the mean is over the 4 valid elements.
    assert loss(pred, label, valid_samples=valid).item() == pytest.approx(0.34 / 4, rel=1e-10)
    per_seq = LBHingev2(threshold=0.05, return_per_sequence=True)(pred, label)
    torch.testing.assert_close(per_seq, torch.tensor([[0.34 / 4], [1.0]], dtype=torch.float64))
    with pytest.raises(ValueError):
        loss(pred[0], label[0])


# --------------------------------------------------------------------------------- TrackingClassificationAccuracy


def test_tracking_classification_accuracy():
    label = torch.zeros(4, 3, 3)
    label[0, 1, 1] = 1.0
    label[0, 1, 2] = 0.5
    label[1, 1, 1] = 1.0
    label[2, 0, 0] = 1.0
    # label[3] has no target.
    pred = torch.zeros(4, 3, 3)
    pred[0, 1, 2] = 5.0  # peak on label 0.5 >= 0.4: correct
    pred[1, 2, 2] = 5.0  # peak on label 0: wrong
    pred[2, 0, 0] = 5.0  # correct
    pred[3, 2, 0] = 5.0  # no target, peak on label 0 < 0.4: correct
    acc = TrackingClassificationAccuracy(threshold=0.4)
    value, per_map = acc(pred, label)
    torch.testing.assert_close(per_map, torch.tensor([1.0, 0.0, 1.0, 1.0]))
    assert value.item() == pytest.approx(0.75)
    value, _ = acc(pred, label, valid_samples=torch.tensor([1, 1, 0, 0]))
    assert value.item() == pytest.approx(0.5)
    value, _ = acc(pred, label, valid_samples=torch.zeros(4))
    assert value.item() == 1.0
    # A stricter threshold makes the 0.5-peak a miss.
    _, per_map = TrackingClassificationAccuracy(threshold=0.6)(pred, label)
    torch.testing.assert_close(per_map, torch.tensor([0.0, 0.0, 1.0, 1.0]))


# ------------------------------------------------------------------------------------------------ KLRegression


def test_klregression_matching_densities_hand_value():
    # With q = p_gt and s = log q + c, the MC estimate is exactly -mean(log q) whatever c.
    q = torch.tensor([[0.5, 0.25, 0.125, 2.0]], dtype=torch.float64)
    for c in (0.0, 3.0):
        value = KLRegression()(torch.log(q) + c, q, q)
        assert value.item() == pytest.approx(-torch.log(q).mean().item(), abs=1e-12)


def test_klregression_matches_numpy_and_mc_dim():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 2, 16, generator=g, dtype=torch.float64)
    q = torch.rand(3, 2, 16, generator=g, dtype=torch.float64) + 0.1
    p = torch.rand(3, 2, 16, generator=g, dtype=torch.float64)
    eps = 1e-3
    s_np, q_np, p_np = scores.numpy(), q.numpy() + eps, p.numpy()
    ref = (np_logsumexp(s_np - np.log(q_np), -1) - math.log(16) - np.mean(s_np * p_np / q_np, -1)).mean()
    loss = KLRegression(eps=eps)
    assert loss(scores, q, p).item() == pytest.approx(ref, abs=1e-12)
    moved = loss(scores.transpose(1, 2), q.transpose(1, 2), p.transpose(1, 2), mc_dim=1)
    assert moved.item() == pytest.approx(ref, abs=1e-12)

    scores.requires_grad_(True)
    loss(scores, q, p).backward()
    assert torch.isfinite(scores.grad).all()
    # d/ds_k = (softmax(s - log q)_k - p_k / (N q_k)) / (number of MC sets)
    w = torch.softmax(scores.detach() - torch.log(q + eps), dim=-1)
    torch.testing.assert_close(scores.grad, (w - p / (16 * (q + eps))) / 6)


def test_mlregression_hand_values_and_numpy():
    density = torch.tensor([[-1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    # Flat scores with unit densities: log Z estimate 0, minus s_0 = 0.
    assert MLRegression()(torch.zeros(1, 4, dtype=torch.float64), density, mc_dim=1).item() == pytest.approx(0.0)
    scores = torch.tensor([[2.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    assert MLRegression()(scores, density, mc_dim=1).item() == pytest.approx(-2.0, abs=1e-15)
    # Densities of 1/2 on the samples: log Z estimate = log(2).
    half = torch.tensor([[-1.0, 0.5, 0.5, 0.5]], dtype=torch.float64)
    assert MLRegression()(scores, half, mc_dim=1).item() == pytest.approx(math.log(2) - 2.0, abs=1e-15)

    g = torch.Generator().manual_seed(1)
    s = torch.randn(4, 9, generator=g, dtype=torch.float64, requires_grad=True)
    q = torch.rand(4, 9, generator=g, dtype=torch.float64) + 0.05
    s_np, q_np = s.detach().numpy(), q.numpy()
    ref = (np_logsumexp(s_np[:, 1:] - np.log(q_np[:, 1:]), 1) - math.log(8) - s_np[:, 0]).mean()
    value = MLRegression()(s, q, mc_dim=1)
    assert value.item() == pytest.approx(ref, abs=1e-12)
    assert MLRegression()(s.t(), q.t(), mc_dim=0).item() == pytest.approx(ref, abs=1e-12)
    value.backward()
    assert torch.isfinite(s.grad).all()
    torch.testing.assert_close(s.grad[:, 0], torch.full((4,), -0.25, dtype=torch.float64))
    with pytest.raises(ValueError):
        MLRegression()(s[:, :1], q[:, :1], mc_dim=1)


def test_klregression_grid_hand_values_and_numpy():
    # Uniform scores, uniform gt density 1/(K A) on K = 6 cells of area A = 0.5: L = log(K A).
    area = 0.5
    scores = torch.zeros(1, 2, 3, dtype=torch.float64)
    gt = torch.full((1, 2, 3), 1 / (6 * area), dtype=torch.float64)
    value = KLRegressionGrid()(scores, gt, grid_dim=(-2, -1), grid_scale=area)
    assert value.item() == pytest.approx(math.log(6 * area), abs=1e-15)

    # A gt density concentrated in one cell (value 1/A): L = logsumexp(s) + log A - s_j.
    s = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    gt = torch.tensor([[0.0, 0.0, 1 / area]], dtype=torch.float64)
    value = KLRegressionGrid()(s, gt, grid_scale=area)
    expected = math.log(1 + math.e + math.e**2) + math.log(area) - 2.0
    assert value.item() == pytest.approx(expected, abs=1e-14)
    value.backward()
    # Gradient: softmax(s) - A * p_gt.
    torch.testing.assert_close(s.grad, torch.softmax(s.detach(), -1) - area * gt)

    g = torch.Generator().manual_seed(2)
    s = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    gt = torch.rand(2, 3, 5, 4, generator=g, dtype=torch.float64)
    s_np, gt_np = s.numpy(), gt.numpy()
    ref = (np_logsumexp(s_np, (-2, -1)) + math.log(0.25) - 0.25 * np.sum(s_np * gt_np, (-2, -1))).mean()
    value = KLRegressionGrid()(s, gt, grid_dim=(-2, -1), grid_scale=0.25)
    assert value.item() == pytest.approx(ref, abs=1e-12)


# --------------------------------------------------------------------------------------------------------- GIoU


def ltrb_map(values: list[list[float]]) -> torch.Tensor:
    """List of per-cell ltrb -> (1, 1, 4, 1, n_cells)."""
    return torch.tensor(values, dtype=torch.float64).t().reshape(1, 1, 4, 1, len(values))


def test_giou_loss_hand_values():
    pred = ltrb_map([[1, 1, 1, 1], [2, 0, 0, 2], [3, 1, 2, 4]])
    target = ltrb_map([[2, 2, 2, 2], [0, 2, 2, 0], [3, 1, 2, 4]])
    loss, ious = GIoULoss()(pred, target)
    # Cell 0: nested 2x2 in 4x4 -> IoU 1/4 = GIoU; cell 1: disjoint 2x2 boxes in a 4x4 hull -> GIoU -1/2;
    # cell 2: identical -> 1.
    torch.testing.assert_close(ious, torch.tensor([0.25, 0.0, 1.0], dtype=torch.float64), atol=1e-6, rtol=0)
    expected = (0.75 + 1.5 + 0.0) / 3
    assert loss.item() == pytest.approx(expected, abs=1e-6)

    weights = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64).reshape(1, 1, 1, 1, 3)
    loss_w, ious_w = GIoULoss()(pred, target, weights)
    assert loss_w.item() == pytest.approx(0.75 / 2, abs=1e-6)
    assert ious_w.shape == (2,)

    # 4-D input (no image dimension) is accepted.
    loss_4d, _ = GIoULoss()(pred[0], target[0])
    assert loss_4d.item() == pytest.approx(expected, abs=1e-6)

    pred.requires_grad_(True)
    GIoULoss()(pred, target)[0].backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
