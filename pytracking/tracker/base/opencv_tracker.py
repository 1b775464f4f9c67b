"""Adapter running an OpenCV (contrib) single-object tracker behind the :class:`BaseTracker` interface.

OpenCV has moved its trackers between namespaces: 4.5.1+ and 5.x expose ``cv2.TrackerCSRT_create(params)`` with a
``cv2.TrackerCSRT_Params`` object, older 4.x builds only ``cv2.legacy.TrackerCSRT_create()`` without settable
parameters. :func:`opencv_tracker_api` finds whichever the installed build has.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.tracker.base.io_contract import FrameInfo, InitInfo, TrackerOutput
from pytracking.utils.params import TrackerParams

__all__ = ["OpenCVTracker", "opencv_tracker_api"]

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "install OpenCV's contrib build: pip install opencv-contrib-python-headless "
    "(uninstall other opencv-python* packages first, they shadow it)"
)


def opencv_tracker_api(name: str) -> tuple[Callable[..., Any], type | None]:
    """Locate OpenCV's factory for tracker ``name`` (e.g. ``'TrackerCSRT'``) in the installed cv2.

    Args:
        name: OpenCV class name of the tracker.

    Returns:
        ``(create, params_class)``: ``create()`` or ``create(params)`` builds a tracker; ``params_class`` is
        ``None`` for the legacy API, whose parameters cannot be set from Python.

    Raises:
        ImportError: cv2 is missing or lacks the tracker (not a contrib build); the message says what to install.
    """
    try:
        import cv2
    except ImportError as e:
        raise ImportError(f"the {name} tracker needs OpenCV: {INSTALL_HINT}") from e
    create = getattr(cv2, f"{name}_create", None)
    params_class = getattr(cv2, f"{name}_Params", None)
    if create is None:
        cls = getattr(cv2, name, None)
        create = getattr(cls, "create", None)
        params_class = getattr(cls, "Params", None)
    if create is None:
        create = getattr(getattr(cv2, "legacy", None), f"{name}_create", None)
        params_class = None
    if create is None:
        raise ImportError(f"cv2 {cv2.__version__} has no {name} (it is part of OpenCV contrib): {INSTALL_HINT}")
    return create, params_class


class OpenCVTracker(BaseTracker):
    """Base of trackers that delegate to an OpenCV tracker; subclasses set :attr:`opencv_name` and ``DEFAULTS``.

    Each ``DEFAULTS`` entry is copied onto OpenCV's parameter object of the same name (``None`` keeps OpenCV's
    own default). When OpenCV reports a failure the last box is kept and ``object_presence_score`` is 0.
    """

    opencv_name: ClassVar[str] = ""
    """OpenCV class name of the wrapped tracker, e.g. ``'TrackerCSRT'``."""

    def __init__(self, params: TrackerParams | None = None):
        super().__init__(params)
        # Resolve now so that a missing contrib build fails when the tracker is created, not mid-sequence.
        self._create, self._params_class = opencv_tracker_api(self.opencv_name)
        self._tracker: Any = None
        self._box: list[float] = []

    def _opencv_params(self) -> Any:
        cv_params = self._params_class()
        for name in self.DEFAULTS:
            value = self.params.get(name, None)
            if value is None:
                continue
            if not hasattr(cv_params, name):
                logger.warning("%s: this OpenCV build has no parameter %r; ignored", self.opencv_name, name)
                continue
            current = getattr(cv_params, name)
            # OpenCV's bindings reject e.g. an int where a float field is expected.
            setattr(cv_params, name, type(current)(value) if isinstance(current, (bool, int, float)) else value)
        return cv_params

    def _make_tracker(self) -> Any:
        if self._params_class is None:
            if any(self.params.get(name, None) is not None for name in self.DEFAULTS):
                logger.warning("%s: legacy OpenCV API, parameters cannot be set; using OpenCV's", self.opencv_name)
            return self._create()
        return self._create(self._opencv_params())

    @staticmethod
    def _to_bgr(image: np.ndarray) -> np.ndarray:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        return np.ascontiguousarray(image[:, :, ::-1])

    @staticmethod
    def _init_rect(box: list[float], image_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """Integer ``(x, y, w, h)`` for OpenCV: the box rounded to pixels and clipped to the image."""
        x, y, w, h = (float(v) for v in box)
        height, width = image_shape[:2]
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(width, round(x + w)), min(height, round(y + h))
        if x1 - x0 < 1 or y1 - y0 < 1:
            raise ValueError(f"initial box {list(box)} does not overlap the {width}x{height} image")
        return x0, y0, x1 - x0, y1 - y0

    def initialize(self, image: np.ndarray, info: InitInfo) -> TrackerOutput:
        """Start OpenCV's tracker on ``info['init_bbox']`` ([x, y, w, h], float pixels) in the RGB ``image``."""
        box = [float(v) for v in info["init_bbox"]]
        if len(box) != 4 or not all(math.isfinite(v) for v in box):
            raise ValueError(f"init_bbox must be [x, y, w, h] with finite values, got {info['init_bbox']!r}")
        self._tracker = self._make_tracker()
        # OpenCV 4.5.1+ returns None here, the legacy API a success flag.
        if self._tracker.init(self._to_bgr(image), self._init_rect(box, image.shape)) is False:
            raise RuntimeError(f"OpenCV {self.opencv_name} failed to initialise on box {box}")
        self._box = box
        return {}

    def track(self, image: np.ndarray, info: FrameInfo | None = None) -> TrackerOutput:
        """Update OpenCV's tracker; returns ``target_bbox`` and ``object_presence_score`` (1 found, 0 lost)."""
        if self._tracker is None:
            raise RuntimeError("track() called before initialize()")
        ok, rect = self._tracker.update(self._to_bgr(image))
        found = bool(ok) and rect[2] > 0 and rect[3] > 0
        if found:
            self._box = [float(v) for v in rect]
        return {"target_bbox": list(self._box), "object_presence_score": 1.0 if found else 0.0}
