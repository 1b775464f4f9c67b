"""IoU-Net box refinement shared by the ATOM, DiMP and KYS trackers.

The current box is jittered into a few proposals, each is moved by gradient ascent on the overlap the IoU
predictor estimates for it, and the ``k`` best results (with a plausible aspect ratio) are averaged. Boxes are
``[x, y, w, h]`` in pixels of the sampled patch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from pytracking.utils.box_ops import rect_to_rel, rel_to_rect

__all__ = ["RefinementSettings", "jitter_boxes", "optimize_boxes", "refine_box", "select_box"]

IoUFunction = Callable[[torch.Tensor], torch.Tensor]
"""Maps boxes (1, N, 4) ``[x, y, w, h]`` to predicted IoUs (1, N), differentiably. It may also have a method
``value_and_grad(boxes) -> (IoUs (1, N), d IoUs.sum() / d boxes (1, N, 4))``, which refinement then uses instead of
autograd."""


# RefinementSettings fields whose tracker parameter has another name.
_PARAM_NAMES = {
    "num_iter": "box_refinement_iter",
    "step_length": "box_refinement_step_length",
    "step_decay": "box_refinement_step_decay",
    "space": "box_refinement_space",
}


@dataclass(frozen=True)
class RefinementSettings:
    """The trackers' IoU-Net parameters (same names without the ``box_refinement_`` prefix where they have one)."""

    num_init_random_boxes: int = 9
    box_jitter_pos: float = 0.1
    box_jitter_sz: float = 0.5
    iounet_k: int = 3
    maximal_aspect_ratio: float = 6.0
    num_iter: int = 5
    step_length: float | Sequence[float] = 1.0  # scalar, or per coordinate (4 values; a pair is (position, size))
    step_decay: float = 1.0
    space: str = "default"  # 'default': steps proportional to the box size; 'relative': log-size parametrisation

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """The defaults as tracker parameters (``box_refinement_iter`` ...), for a tracker's ``DEFAULTS``."""
        return {_PARAM_NAMES.get(f.name, f.name): f.default for f in fields(cls)}

    @classmethod
    def from_params(cls, params) -> RefinementSettings:
        """Read the settings from tracker parameters (``box_refinement_iter``, ``box_refinement_step_length``, ...)."""
        step = params.box_refinement_step_length
        if isinstance(step, list | tuple) and len(step) == 2:
            # A (position, size) pair, as the probabilistic ATOM variants give it.
            step = (step[0], step[0], step[1], step[1])
        return cls(
            num_init_random_boxes=int(params.num_init_random_boxes),
            box_jitter_pos=float(params.box_jitter_pos),
            box_jitter_sz=float(params.box_jitter_sz),
            iounet_k=int(params.iounet_k),
            maximal_aspect_ratio=float(params.maximal_aspect_ratio),
            num_iter=int(params.box_refinement_iter),
            step_length=tuple(step) if isinstance(step, list | tuple) else float(step),
            step_decay=float(params.box_refinement_step_decay),
            space=str(params.get("box_refinement_space", "default")),
        )


def jitter_boxes(init_box: torch.Tensor, num: int, jitter_pos: float, jitter_sz: float) -> torch.Tensor:
    """``init_box`` followed by ``num`` random perturbations of it.

    Centres move and sides change by up to ``±jitter / 2`` times ``sqrt(w * h)`` (uniformly, from torch's global
    RNG); sides stay at least a third of the shorter side of ``init_box``.

    Args:
        init_box: (4,) ``[x, y, w, h]``.

    Returns:
        (1 + num, 4) boxes, ``init_box`` first.
    """
    boxes = init_box.reshape(1, 4)
    if num <= 0:
        return boxes
    square = init_box[2:].prod().sqrt()
    jitter = square * torch.tensor([jitter_pos, jitter_pos, jitter_sz, jitter_sz], dtype=init_box.dtype)
    min_edge = float(init_box[2:].min()) / 3
    rand = (torch.rand(num, 4, dtype=init_box.dtype) - 0.5) * jitter
    new_sz = (init_box[2:] + rand[:, 2:]).clamp(min=min_edge)
    new_centre = init_box[:2] + init_box[2:] / 2 + rand[:, :2]
    return torch.cat([boxes, torch.cat([new_centre - new_sz / 2, new_sz], dim=1)])


def optimize_boxes(
    predict_iou: IoUFunction,
    boxes: torch.Tensor,
    num_iter: int,
    step_length: float | Sequence[float] = 1.0,
    step_decay: float = 1.0,
    space: str = "default",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient ascent on the predicted IoU.

    In the default space each step is ``step * grad * [w, h, w, h]`` (scale invariant); in the relative space the
    state is :func:`rect_to_rel` of the boxes normalised by the first box's size and steps are ``step * grad``.

    Args:
        predict_iou: see :data:`IoUFunction`.
        boxes: (N, 4) initial boxes.
        num_iter: number of steps.
        step_length: scalar or per-coordinate (4,) step.
        step_decay: factor applied to the step after each iteration.
        space: ``'default'`` or ``'relative'``.

    Returns:
        ``(boxes (N, 4) after the last step, IoUs (N,) predicted for the boxes before it)``; with ``num_iter=0`` the
        input boxes and their IoUs.
    """
    if space not in ("default", "relative"):
        raise ValueError(f"unknown box_refinement_space {space!r}; use 'default' or 'relative'")
    relative = space == "relative"
    step = torch.as_tensor(
        step_length if isinstance(step_length, list | tuple) else [step_length] * 4, dtype=boxes.dtype
    ).to(boxes.device)
    step = step.reshape(1, 1, 4)

    boxes = boxes.reshape(1, -1, 4)
    sz_norm = boxes[:, :1, 2:].clone()
    state = rect_to_rel(boxes, sz_norm) if relative else boxes

    def to_rect(s: torch.Tensor) -> torch.Tensor:
        return rel_to_rect(s, sz_norm) if relative else s

    # A predictor may offer value_and_grad (IoUs and d sum(IoU) / d boxes in one call, without autograd); in the
    # default space the boxes are the state, so that is the step's gradient.
    value_and_grad = None if relative else getattr(predict_iou, "value_and_grad", None)
    iou = None
    for _ in range(int(num_iter)):
        if value_and_grad is not None:
            var = state.detach()
            iou, grad = value_and_grad(var)
        else:
            with torch.enable_grad():
                var = state.detach().requires_grad_(True)
                iou = predict_iou(to_rect(var))
                (grad,) = torch.autograd.grad(iou.sum(), var)
        with torch.no_grad():
            scale = 1.0 if relative else var[:, :, 2:].repeat(1, 1, 2)
            state = var.detach() + step * grad * scale
        step = step * step_decay

    with torch.no_grad():
        final = to_rect(state)
        if iou is None:
            iou = predict_iou(final)
    return final.reshape(-1, 4).detach(), iou.detach().reshape(-1)


def select_box(boxes: torch.Tensor, ious: torch.Tensor, k: int, maximal_aspect_ratio: float) -> torch.Tensor | None:
    """Average of the ``k`` highest-IoU boxes among those with finite values and ``1/r < w/h < r``.

    Args:
        boxes: (N, 4) ``[x, y, w, h]``; sides are clamped to at least 1 first.
        ious: (N,) predicted IoUs.

    Returns:
        (4,) averaged box, or None when no box qualifies.
    """
    boxes = boxes.clone()
    boxes[:, 2:] = boxes[:, 2:].clamp(min=1)
    aspect = boxes[:, 2] / boxes[:, 3]
    keep = (aspect < maximal_aspect_ratio) & (aspect > 1 / maximal_aspect_ratio) & torch.isfinite(ious)
    keep &= torch.isfinite(boxes).all(dim=1)
    boxes, ious = boxes[keep], ious[keep]
    if boxes.shape[0] == 0:
        return None
    _, inds = torch.topk(ious, min(int(k), boxes.shape[0]))
    return boxes[inds].mean(0)


def refine_box(
    predict_iou: IoUFunction,
    init_box: torch.Tensor,
    settings: RefinementSettings,
    device: torch.device | str | None = None,
) -> torch.Tensor | None:
    """Jitter ``init_box`` (4,), optimise all proposals on ``device`` (that of the IoU features) and return the
    selected box (4,) on the CPU, or None when no proposal qualifies."""
    boxes = jitter_boxes(
        init_box.float().cpu(), settings.num_init_random_boxes, settings.box_jitter_pos, settings.box_jitter_sz
    )
    device = init_box.device if device is None else device
    out_boxes, out_iou = optimize_boxes(
        predict_iou, boxes.to(device), settings.num_iter, settings.step_length, settings.step_decay, settings.space
    )
    return select_box(out_boxes.cpu(), out_iou.cpu(), settings.iounet_k, settings.maximal_aspect_ratio)
