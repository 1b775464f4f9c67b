"""The data a tracker receives and returns, written once and shared by trackers and the evaluation harness.

Conventions used by every field below:

* **image**: ``numpy.ndarray`` of shape (H, W, 3), dtype ``uint8``, channels in **RGB** order (the harness
  converts OpenCV's BGR before calling the tracker).
* **box**: ``[x, y, w, h]`` as a list of four Python floats in pixels; ``(x, y)`` is the top-left corner of the
  box and pixel ``(0, 0)`` covers ``[0, 1) x [0, 1)``. Boxes may be fractional and may reach outside the image.
* **segmentation**: ``numpy.ndarray`` (H, W) ``uint8`` label map: 0 is background, object ``k`` is ``k`` (a
  single-object tracker uses 0/1).
* **time**: seconds, a Python float (wall-clock time of the call).
* **object ids**: strings (``'1'``, ``'2'`` ...), as :class:`pytracking.evaluation.data.Sequence` gives them.

Multi-object sequences: the harness passes per-object values as dicts keyed by object id (``init_bbox`` then
maps id -> box) and expects the same from a tracker that handles all objects at once; in ``'parallel'`` mode a
wrapper runs one single-object tracker per object and merges their outputs into such dicts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np

__all__ = ["NOT_FOUND_BOX", "Box", "FrameInfo", "InitInfo", "TrackerOutput", "validate_output"]

Box = list[float]
"""``[x, y, w, h]`` in pixels (floats)."""

NOT_FOUND_BOX = [-1.0, -1.0, -1.0, -1.0]
"""What a tracker reports instead of a box when it considers the target absent and its parameters ask for it
(DiMP's ``output_not_found_box``; the VOT long-term convention)."""


class InitInfo(TypedDict, total=False):
    """Argument ``info`` of ``BaseTracker.initialize(image, info)``.

    Fields:
        init_bbox: initial box ``[x, y, w, h]`` (float pixels); in multi-object mode a dict object id -> box.
        init_mask: initial segmentation, (H, W) uint8 label map (0/1 for a single object); absent for
            box-only sequences.
        object_ids: ids of the objects to initialise on this frame (strings).
        sequence_object_ids: ids of all objects of the sequence, including those initialised later.
    """

    init_bbox: Box | dict[str, Box]
    init_mask: np.ndarray
    object_ids: list[str]
    sequence_object_ids: list[str]


class TrackerOutput(TypedDict, total=False):
    """Return value of ``initialize`` and ``track`` (``track`` must set at least ``target_bbox``).

    Fields:
        target_bbox: estimated box ``[x, y, w, h]`` (float pixels); multi-object: dict object id -> box.
        time: seconds spent on the frame; added by the harness when the tracker does not set it.
        segmentation: (H, W) uint8 label map, for trackers whose ``predicts_segmentation_mask()`` is true.
        segmentation_raw: the tracker's soft mask before thresholding, (H, W) float (optional).
        object_presence_score: confidence in [0, 1] that the target is visible in the frame; 0 means the
            tracker has lost it (the reported box is then only the last known position).
        object_ids: ids of the objects the output describes (multi-object trackers).
    """

    target_bbox: Box | dict[str, Box]
    time: float
    segmentation: np.ndarray
    segmentation_raw: np.ndarray
    object_presence_score: float | dict[str, float]
    object_ids: list[str]


class FrameInfo(InitInfo, total=False):
    """Argument ``info`` of ``BaseTracker.track(image, info)`` (``None`` is also allowed).

    Fields (besides the :class:`InitInfo` ones, present only on a frame where new objects start):
        previous_output: the :class:`TrackerOutput` of the previous frame, as completed by the harness.
    """

    previous_output: TrackerOutput


def _check_box(box: Any, where: str) -> None:
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        raise ValueError(f"{where}: expected a box [x, y, w, h] (4 numbers), got {box!r}")
    if not all(isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v)) for v in box):
        raise ValueError(f"{where}: box values must be finite numbers, got {box!r}")
    if list(box) == NOT_FOUND_BOX:
        return
    if box[2] < 0 or box[3] < 0:
        raise ValueError(f"{where}: box width and height must be >= 0, got {box!r}")


def _per_object(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, Mapping) else [("", value)]


def validate_output(output: Mapping[str, Any], image_shape: tuple[int, ...] | None = None) -> None:
    """Check that a tracker output follows :class:`TrackerOutput`; raise ``ValueError`` naming the bad field.

    Args:
        output: the dict returned by ``initialize`` or ``track``.
        image_shape: shape of the frame, (H, W) or (H, W, 3); when given, segmentations must be (H, W).
    """
    if not isinstance(output, Mapping):
        raise ValueError(f"tracker output must be a dict, got {type(output).__name__}")
    if "target_bbox" in output:
        for obj, box in _per_object(output["target_bbox"]):
            _check_box(box, f"target_bbox{f'[{obj}]' if obj else ''}")
    if "time" in output and not (isinstance(output["time"], (int, float)) and output["time"] >= 0):
        raise ValueError(f"time must be a non-negative number of seconds, got {output['time']!r}")
    if "object_presence_score" in output:
        for obj, score in _per_object(output["object_presence_score"]):
            if not 0.0 <= float(score) <= 1.0:
                raise ValueError(f"object_presence_score{f'[{obj}]' if obj else ''} must be in [0, 1], got {score}")
    if "segmentation" in output and output["segmentation"] is not None:
        seg = output["segmentation"]
        if not isinstance(seg, np.ndarray) or seg.ndim != 2 or seg.dtype != np.uint8:
            raise ValueError(f"segmentation must be an (H, W) uint8 array, got {getattr(seg, 'shape', seg)!r}")
        if image_shape is not None and seg.shape != tuple(image_shape[:2]):
            raise ValueError(f"segmentation shape {seg.shape} differs from the image's {tuple(image_shape[:2])}")
