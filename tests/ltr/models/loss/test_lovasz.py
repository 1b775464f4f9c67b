"""Tests of the Lovasz losses (ltr.models.loss.lovasz_loss) and LovaszSegLoss."""

import itertools

import pytest
import torch

from ltr.models.loss import LovaszSegLoss
from ltr.models.loss.lovasz_loss import lovasz_grad, lovasz_hinge, lovasz_softmax


def jaccard_loss_of_set(errors_set, gt):
    """Delta(M) = |M| / |G u M| for a set M of pixel indices and a 0/1 ground-truth list."""
    if not errors_set:
        return 0.0
    union = {i for i, g in enumerate(gt) if g == 1} | set(errors_set)
    return len(errors_set) / len(union)


def lovasz_extension_by_integral(errors, gt):
    """f(m) = integral_0^inf Delta({j : m_j >= t}) dt, evaluated exactly on the breakpoints (m >= 0)."""
    levels = sorted({float(e) for e in errors if e > 0}, reverse=True) + [0.0]
    total = 0.0
    for upper, lower in zip(levels, levels[1:]):
        level_set = [j for j, e in enumerate(errors) if e >= upper]
        total += (upper - lower) * jaccard_loss_of_set(level_set, gt)
    return total


def test_lovasz_grad_hand_values():
    # gt sorted [1, 0, 1, 0], |G| = 2: Delta of the prefixes = 1/2, 2/3, 3/3, 4/4.
    grad = lovasz_grad(torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(grad, torch.tensor([1 / 2, 1 / 6, 1 / 3, 0.0], dtype=torch.float64))
    # Without any target pixel, Delta(prefix of length i) = i / i = 1: only the largest error counts.
    torch.testing.assert_close(lovasz_grad(torch.zeros(3)), torch.tensor([1.0, 0.0, 0.0]))


def test_binary_softmax_hand_example():
    labels = torch.tensor([[[1, 1, 0, 0]]])
    probas = torch.tensor([[[0.9, 0.4, 0.3, 0.0]]], dtype=torch.float64)
    # errors [0.1, 0.6, 0.3, 0.0], order (1, 2, 0, 3), increments (1/2, 1/6, 1/3, 0):
    # 0.6 / 2 + 0.3 / 6 + 0.1 / 3 = 23 / 60.
    loss = lovasz_softmax(probas, labels, classes=[1])
    torch.testing.assert_close(loss, torch.tensor(23 / 60, dtype=torch.float64))


def test_matches_brute_force_lovasz_extension():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        gt = (torch.rand(1, 2, 5, generator=gen) > 0.5).long()
        probas = torch.rand(1, 2, 5, generator=gen, dtype=torch.float64)
        errors = (gt.double() - probas).abs().flatten().tolist()
        expected = lovasz_extension_by_integral(errors, gt.flatten().tolist())
        loss = lovasz_softmax(probas, gt, classes=[1])
        assert loss.item() == pytest.approx(expected, abs=1e-12)


def test_hard_predictions_give_one_minus_iou():
    gt = torch.tensor([[[1, 1, 1, 0, 0, 0]]])
    pred = torch.tensor([[[1.0, 1.0, 0.0, 1.0, 0.0, 0.0]]])
    # intersection 2, union 4.
    assert lovasz_softmax(pred, gt, classes=[1]).item() == pytest.approx(0.5)
    # All subsets of a 4-pixel image: the extension coincides with the Jaccard loss on 0/1 vectors.
    gt4 = [1, 0, 1, 0]
    for bits in itertools.product([0.0, 1.0], repeat=4):
        loss = lovasz_softmax(torch.tensor([[bits]]), torch.tensor([[gt4]]), classes=[1]).item()
        pred_set = {i for i, b in enumerate(bits) if b == 1}
        gt_set = {0, 2}
        assert loss == pytest.approx(1 - len(pred_set & gt_set) / len(pred_set | gt_set))


def test_perfect_prediction_is_zero():
    gt = (torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).long()
    assert lovasz_softmax(gt.double(), gt, classes=[1], per_image=True).item() == 0.0
    assert lovasz_softmax(gt.double(), gt, classes=[1], per_image=False).item() == 0.0
    logits = (2.0 * gt - 1.0) * 1.5  # margin >= 1 on every pixel
    assert lovasz_hinge(logits, gt).item() == 0.0


def test_absent_class_costs_the_largest_error():
    probas = torch.tensor([[[0.2, 0.7, 0.1]]])
    loss = lovasz_softmax(probas, torch.zeros(1, 1, 3, dtype=torch.long), classes=[1])
    assert loss.item() == pytest.approx(0.7)
    # With classes='present' an absent class is skipped: only class 0 (errors 1 - p0 = 0.2, 0.7, 0.1, all pixels
    # in its ground truth, so the increments are 1/3 each) counts.
    two_class = torch.stack([1 - probas, probas], dim=1)  # (1, 2, 1, 3)
    loss = lovasz_softmax(two_class, torch.zeros(1, 1, 3, dtype=torch.long), classes="present")
    assert loss.item() == pytest.approx((0.2 + 0.7 + 0.1) / 3)
    loss_all = lovasz_softmax(two_class, torch.zeros(1, 1, 3, dtype=torch.long), classes="all")
    assert loss_all.item() == pytest.approx(((0.2 + 0.7 + 0.1) / 3 + 0.7) / 2)


def test_per_image_is_mean_of_image_losses():
    gen = torch.Generator().manual_seed(2)
    gt = (torch.rand(3, 4, 4, generator=gen) > 0.5).long()
    probas = torch.rand(3, 4, 4, generator=gen, dtype=torch.float64)
    per_image = lovasz_softmax(probas, gt, classes=[1], per_image=True)
    singles = [lovasz_softmax(probas[i : i + 1], gt[i : i + 1], classes=[1]) for i in range(3)]
    torch.testing.assert_close(per_image, torch.stack(singles).mean())
    batch = lovasz_softmax(probas, gt, classes=[1], per_image=False)
    expected = lovasz_extension_by_integral((gt.double() - probas).abs().flatten().tolist(), gt.flatten().tolist())
    assert batch.item() == pytest.approx(expected, abs=1e-12)


def test_multiclass_and_ignore():
    labels = torch.tensor([[[0, 1, 2, 255]]])
    # (B=1, C=3, H=1, W=4); the last pixel is ignored.
    probas = torch.tensor([[[1.0, 0.0, 0.0, 0.3], [0.0, 1.0, 0.0, 0.3], [0.0, 0.0, 1.0, 0.4]]]).unsqueeze(-2)
    assert lovasz_softmax(probas, labels.reshape(1, 1, 4), classes="all", ignore=255).item() == 0.0
    # The ignored pixel counts without ignore: for every class it is a false positive (or a miss).
    assert lovasz_softmax(probas, labels.reshape(1, 1, 4), classes="present").item() > 0.0


def test_hinge_hand_example_and_brute_force():
    logits = torch.tensor([[[2.0, 0.5, -0.2, -3.0]]], dtype=torch.float64)
    labels = torch.tensor([[[1, 1, 0, 0]]])
    # hinge errors max(0, 1 - s y): [0, 0.5, 0.8, 0] -> order (2, 1), increments 1/3 (|G u {2}| = 3), 1/3.
    loss = lovasz_hinge(logits, labels)
    torch.testing.assert_close(loss, torch.tensor(0.8 / 3 + 0.5 / 3, dtype=torch.float64))
    errors = [max(0.0, 1 - s * (2 * y - 1)) for s, y in zip(logits.flatten().tolist(), labels.flatten().tolist())]
    assert loss.item() == pytest.approx(lovasz_extension_by_integral(errors, labels.flatten().tolist()))


def test_seg_loss_uses_sigmoid_and_has_finite_gradients():
    torch.manual_seed(3)
    logits = torch.randn(4, 1, 6, 5, dtype=torch.float64, requires_grad=True)
    target = (torch.rand(4, 1, 6, 5) > 0.5).double()
    loss = LovaszSegLoss()(logits, target)
    expected = torch.stack(
        [lovasz_softmax(torch.sigmoid(logits[i : i + 1]), target[i : i + 1], classes=[1]) for i in range(4)]
    ).mean()
    torch.testing.assert_close(loss, expected)
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.isfinite(grad).all()
    # Raising a target pixel's score (or lowering a background pixel's) never increases the loss.
    assert (grad[target == 1] <= 0).all() and (grad[target == 0] >= 0).all()
    assert grad.abs().sum() > 0
