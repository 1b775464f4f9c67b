"""Trivial reference tracker: reports the initial box on every frame, or moves it at a fixed velocity.

It needs no weights and no image content, so it gives the floor of any benchmark score (a tracker doing worse
than the static box is broken) and a fast, deterministic tracker for testing the evaluation harness.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.tracker.base.io_contract import FrameInfo, InitInfo, TrackerOutput
from pytracking.utils.params import TrackerParams

__all__ = ["Baseline"]


class Baseline(BaseTracker):
    """Box ``t`` frames after the first = initial box shifted by ``t * velocity`` (size unchanged)."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "velocity": (0.0, 0.0),  # (vx, vy) in pixels per frame; (0, 0) is the static-box baseline
        "clip_to_image": True,  # keep the box centre inside the image when the velocity moves it out
    }

    def __init__(self, params: TrackerParams | None = None):
        super().__init__(params)
        self._init_box: list[float] = []
        self._frame = 0

    def initialize(self, image: np.ndarray, info: InitInfo) -> TrackerOutput:
        """Remember ``info['init_bbox']`` ([x, y, w, h], float pixels)."""
        box = [float(v) for v in info["init_bbox"]]
        if len(box) != 4 or not all(math.isfinite(v) for v in box):
            raise ValueError(f"init_bbox must be [x, y, w, h] with finite values, got {info['init_bbox']!r}")
        self._init_box = box
        self._frame = 0
        return {}

    def track(self, image: np.ndarray, info: FrameInfo | None = None) -> TrackerOutput:
        """The initial box moved by ``frame_index * velocity``; ``image`` is used only for its size."""
        if not self._init_box:
            raise RuntimeError("track() called before initialize()")
        self._frame += 1
        vx, vy = (float(v) for v in self.params.velocity)
        x, y, w, h = self._init_box
        x, y = x + self._frame * vx, y + self._frame * vy
        if self.params.clip_to_image:
            height, width = image.shape[:2]
            x = min(max(x, -w / 2), width - w / 2)
            y = min(max(y, -h / 2), height - h / 2)
        return {"target_bbox": [x, y, w, h]}
