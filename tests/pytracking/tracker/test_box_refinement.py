"""Shared IoU-Net box refinement: proposals, gradient ascent and top-k selection."""

import math

import pytest
import torch

from pytracking.tracker.base.box_refinement import (
    RefinementSettings,
    jitter_boxes,
    optimize_boxes,
    refine_box,
    select_box,
)
from pytracking.utils.params import TrackerParams


def quadratic(target: torch.Tensor):
    """'IoU' = -|box - target|^2 / 2, so the gradient is target - box."""
    return lambda boxes: -0.5 * ((boxes - target) ** 2).sum(-1)


def test_jitter_boxes_keeps_the_initial_box_first_and_bounds_the_perturbation():
    torch.manual_seed(0)
    init = torch.tensor([10.0, 20.0, 40.0, 10.0])
    boxes = jitter_boxes(init, 200, 0.1, 0.5)
    assert boxes.shape == (201, 4)
    assert boxes[0].tolist() == init.tolist()
    square = 20.0  # sqrt(40 * 10)
    centres = boxes[1:, :2] + boxes[1:, 2:] / 2
    assert ((centres - torch.tensor([30.0, 25.0])).abs() <= 0.05 * square + 1e-5).all()
    assert (boxes[1:, 2:] >= 10.0 / 3 - 1e-6).all()  # a third of the shorter side
    assert ((boxes[1:, 2] - 40.0).abs() <= 0.25 * square + 1e-5).all()
    assert jitter_boxes(init, 0, 0.1, 0.5).shape == (1, 4)


def test_optimize_boxes_default_space_step_is_proportional_to_box_size():
    target = torch.tensor([12.0, 8.0, 20.0, 10.0], dtype=torch.float64)
    box = torch.tensor([[10.0, 10.0, 20.0, 10.0]], dtype=torch.float64)
    out, iou = optimize_boxes(quadratic(target), box, num_iter=1, step_length=0.01)
    torch.testing.assert_close(out, torch.tensor([[10.4, 9.8, 20.0, 10.0]], dtype=torch.float64))
    torch.testing.assert_close(iou, torch.tensor([-4.0], dtype=torch.float64))


class QuadraticWithGradient:
    """:func:`quadratic` offering ``value_and_grad``, counting which path refinement takes."""

    def __init__(self, target: torch.Tensor):
        self.score, self.target, self.calls = quadratic(target), target, {"call": 0, "value_and_grad": 0}

    def __call__(self, boxes: torch.Tensor) -> torch.Tensor:
        self.calls["call"] += 1
        return self.score(boxes)

    def value_and_grad(self, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls["value_and_grad"] += 1
        return self.score(boxes), self.target - boxes


def test_optimize_boxes_uses_value_and_grad_in_the_default_space_only():
    target = torch.tensor([12.0, 8.0, 22.0, 11.0], dtype=torch.float64)
    boxes = torch.tensor([[10.0, 10.0, 20.0, 10.0], [14.0, 7.0, 25.0, 12.0]], dtype=torch.float64)
    expected = optimize_boxes(quadratic(target), boxes, 3, 0.01, step_decay=0.5)
    fast = QuadraticWithGradient(target)
    result = optimize_boxes(fast, boxes, 3, 0.01, step_decay=0.5)
    assert fast.calls == {"call": 0, "value_and_grad": 3}
    for a, b in zip(result, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    # The relative space differentiates through its parametrisation, so it keeps autograd.
    relative = QuadraticWithGradient(target)
    optimize_boxes(relative, boxes, 2, 1e-3, space="relative")
    assert relative.calls == {"call": 2, "value_and_grad": 0}


def test_optimize_boxes_step_decay_and_per_coordinate_steps():
    target = torch.zeros(4, dtype=torch.float64)
    box = torch.tensor([[1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    # Relative space with a unit reference size: x, y move by -step * x; two steps of 0.5 then 0.25.
    out, _ = optimize_boxes(quadratic(target), box, 2, step_length=[0.5, 0.0, 0.0, 0.0], step_decay=0.5)
    assert out[0, 0].item() == pytest.approx(1.0 * (1 - 0.5 * 1) * (1 - 0.25 * 1))
    assert out[0, 1].item() == 1.0


def test_optimize_boxes_relative_space_converges_and_zero_iterations_returns_input():
    target = torch.tensor([12.0, 8.0, 22.0, 11.0], dtype=torch.float64)
    boxes = torch.tensor([[10.0, 10.0, 20.0, 10.0], [14.0, 7.0, 25.0, 12.0]], dtype=torch.float64)
    out, _ = optimize_boxes(quadratic(target), boxes, 150, 1e-3, space="relative")
    torch.testing.assert_close(out, target.expand(2, 4), atol=1e-3, rtol=0)
    same, iou = optimize_boxes(quadratic(target), boxes, 0)
    torch.testing.assert_close(same, boxes)
    torch.testing.assert_close(iou, -0.5 * ((boxes - target) ** 2).sum(-1))
    with pytest.raises(ValueError, match="box_refinement_space"):
        optimize_boxes(quadratic(target), boxes, 1, space="log")


def test_select_box_averages_the_top_k_plausible_boxes():
    boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],  # iou 0.9
            [2.0, 2.0, 10.0, 20.0],  # iou 0.8
            [0.0, 0.0, 70.0, 10.0],  # aspect 7 > 6: dropped despite the best iou
            [4.0, 4.0, 20.0, 10.0],  # iou 0.7
            [9.0, 9.0, 9.0, 9.0],  # iou 0.1, outside the top 3
            [0.0, 0.0, float("nan"), 1.0],  # not finite
        ]
    )
    ious = torch.tensor([0.9, 0.8, 0.99, 0.7, 0.1, 0.95])
    box = select_box(boxes, ious, 3, 6.0)
    assert box.tolist() == pytest.approx([2.0, 2.0, 40 / 3, 40 / 3])
    assert select_box(boxes[2:3], ious[2:3], 3, 6.0) is None
    # Sides below one pixel are clamped before the aspect test.
    assert select_box(torch.tensor([[0.0, 0.0, 0.1, 0.2]]), torch.tensor([1.0]), 1, 6.0).tolist() == [0, 0, 1, 1]


def test_refine_box_finds_the_optimum_of_a_smooth_score():
    torch.manual_seed(1)
    target = torch.tensor([30.0, 40.0, 50.0, 30.0])
    settings = RefinementSettings(num_iter=80, step_length=2e-4, space="relative", iounet_k=3)
    box = refine_box(quadratic(target), torch.tensor([25.0, 45.0, 40.0, 36.0]), settings)
    torch.testing.assert_close(box, target, atol=0.05, rtol=0)


def test_settings_from_tracker_params():
    params = TrackerParams()
    params.num_init_random_boxes = 4
    params.box_jitter_pos = 0.2
    params.box_jitter_sz = 0.3
    params.iounet_k = 2
    params.maximal_aspect_ratio = 5
    params.box_refinement_iter = 7
    params.box_refinement_step_length = (1e-2, 5e-2)
    params.box_refinement_step_decay = 0.9
    s = RefinementSettings.from_params(params)
    assert s == RefinementSettings(4, 0.2, 0.3, 2, 5.0, 7, (1e-2, 1e-2, 5e-2, 5e-2), 0.9, "default")
    assert math.isclose(s.step_decay, 0.9)
