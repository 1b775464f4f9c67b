"""Base class of all trackers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from pytracking.tracker.base.io_contract import FrameInfo, InitInfo, TrackerOutput
from pytracking.utils.params import TrackerParams
from pytracking.utils.timing import StageTimer

__all__ = ["BaseTracker"]


class BaseTracker(ABC):
    """A single-video online tracker: ``initialize`` on the first frame, then ``track`` on each later frame.

    Subclasses declare their parameters once in :attr:`DEFAULTS` and read them from ``self.params``; both
    methods always return a dict following :class:`~pytracking.tracker.base.io_contract.TrackerOutput`.

    Args:
        params: the tracker's parameters (usually from a parameter file's ``parameters()``); missing entries
            are filled from :attr:`DEFAULTS`. ``None`` gives strict parameters holding just the defaults.
    """

    multiobj_mode: ClassVar[str] = "parallel"
    """How the harness runs multi-object sequences: ``'parallel'`` runs one tracker instance per object."""

    DEFAULTS: ClassVar[Mapping[str, Any]] = {}
    """Every parameter the tracker reads, name -> default value. Parameter files may set only these names."""

    def __init__(self, params: TrackerParams | None = None):
        if params is None:
            params = TrackerParams.strict(self.DEFAULTS)
        else:
            params.set_default_values(self.DEFAULTS)
        self.params = params
        self.visdom: Any = None  # set by the harness when a debug dashboard is attached
        # Stage times of the last frame (trackers call timer.start() / timer.lap(name); see bench_tracker_frame.py).
        self.timer = StageTimer()

    def predicts_segmentation_mask(self) -> bool:
        """Whether the outputs carry a ``segmentation`` label map (False for box trackers)."""
        return False

    @abstractmethod
    def initialize(self, image: np.ndarray, info: InitInfo) -> TrackerOutput:
        """Set up the tracker on the first frame.

        Args:
            image: first frame, (H, W, 3) uint8 RGB.
            info: initial state; ``info['init_bbox']`` is the target box ``[x, y, w, h]`` (float pixels).

        Returns:
            A (possibly empty) output dict, e.g. with ``time`` or an initial ``segmentation``.
        """

    @abstractmethod
    def track(self, image: np.ndarray, info: FrameInfo | None = None) -> TrackerOutput:
        """Estimate the target in the next frame.

        Args:
            image: frame, (H, W, 3) uint8 RGB.
            info: per-frame extras (``previous_output``, initial data of objects that start on this frame).

        Returns:
            An output dict with at least ``target_bbox`` ``[x, y, w, h]`` (float pixels).
        """

    def visdom_draw_tracking(
        self, image: np.ndarray, box: list[float] | Mapping[str, list[float]], segmentation: np.ndarray | None = None
    ) -> None:
        """Show the frame with the current box (and mask) on the attached debug dashboard, if any."""
        if self.visdom is None:
            return
        boxes = list(box.values()) if isinstance(box, Mapping) else [box]
        data = (image, *boxes) if segmentation is None else (image, *boxes, segmentation)
        self.visdom.register(data, "Tracking", 1, "Tracking")
