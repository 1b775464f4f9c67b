"""Target state bookkeeping shared by the ATOM and DiMP trackers.

State conventions: ``pos = [cy, cx]`` (``cy = y + (h - 1) / 2``), ``target_sz = [h, w]``, in image pixels;
``target_scale`` is the image-to-sample scale and ``base_target_sz = target_sz / target_scale`` at scale 1. Boxes
handed to the IoU-Net are ``[x, y, w, h]`` in pixels of the patch sampled at ``sample_pos`` with ``sample_scale``.
"""

from __future__ import annotations

import math

import torch

__all__ = ["TargetStateMixin"]


class TargetStateMixin:
    """Position/size updates and patch-box conversions; the tracker sets ``pos``, ``target_sz``, ``target_scale``,
    ``base_target_sz``, ``image_sz``, ``img_sample_sz``, ``min_scale_factor``, ``max_scale_factor`` and has
    ``params.target_inside_ratio``."""

    def current_box(self) -> list[float]:
        """The current state as ``[x, y, w, h]``."""
        cy, cx = (float(v) for v in self.pos)
        h, w = (float(v) for v in self.target_sz)
        return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]

    def clamp_position(self, pos: torch.Tensor) -> torch.Tensor:
        """``pos`` moved so that ``target_inside_ratio`` of the (current-size) target stays in the image."""
        offset = (self.params.target_inside_ratio - 0.5) * self.target_sz
        return torch.maximum(torch.minimum(pos.float().cpu(), self.image_sz - offset), offset)

    def update_state(self, new_pos: torch.Tensor, new_scale: float | None = None) -> None:
        """Set the position (clamped, see :meth:`clamp_position`) and, when given, the scale (within its bounds)."""
        if new_scale is not None:
            self.target_scale = min(max(new_scale, self.min_scale_factor), self.max_scale_factor)
            self.target_sz = self.base_target_sz * self.target_scale
        self.pos = self.clamp_position(new_pos)

    def get_iounet_box(
        self, pos: torch.Tensor, sz: torch.Tensor, sample_pos: torch.Tensor, sample_scale: float
    ) -> torch.Tensor:
        """Box ``[x, y, w, h]`` in the coordinates of the patch sampled at ``sample_pos`` with ``sample_scale``."""
        centre = (pos - sample_pos.float().cpu()) / sample_scale + (self.img_sample_sz - 1) / 2
        box_sz = sz / sample_scale
        top_left = centre - (box_sz - 1) / 2
        return torch.cat([top_left.flip(0), box_sz.flip(0)])

    def refined_state(
        self, box: torch.Tensor, sample_pos: torch.Tensor, sample_scale: float
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Image position (clamped), size and scale of a refined patch box ``[x, y, w, h]``.

        The centre is ``x + w / 2`` as in the original (not the ``(w - 1) / 2`` of :meth:`get_iounet_box`).
        Deliberate deviation: the scale is kept within the tracker's bounds (a side of at least 10 px, at most the
        image) and the size follows it; the original leaves it free, which only matters once the box has already
        degenerated.
        """
        new_sz = box[2:].flip(0) * sample_scale
        new_pos = (box[:2] + box[2:] / 2).flip(0)
        new_pos = (new_pos - (self.img_sample_sz - 1) / 2) * sample_scale + sample_pos.float().cpu()
        new_scale = math.sqrt(float(new_sz.prod() / self.base_target_sz.prod()))
        bounded = min(max(new_scale, self.min_scale_factor), self.max_scale_factor)
        return self.clamp_position(new_pos), new_sz * (bounded / new_scale), bounded
