"""Run a single-object tracker on a multi-object sequence: one tracker instance per object ('parallel' mode).

The wrapper looks like one tracker to the evaluation loop: ``initialize``/``track`` take the sequence's
multi-object info (``init_bbox`` as ``{object id: [x, y, w, h]}``, ``init_mask`` as a label map, ``object_ids``)
and return merged outputs: every key becomes ``{object id: value}``, except ``segmentation``, which becomes one
(H, W) uint8 label map (see :func:`default_merge`). A tracker class may define its own ``merge_results(outputs)``.

Objects may appear after the first frame: a frame whose info lists new ``object_ids`` (or ``init_object_ids``)
starts a tracker for each of them on that frame.

Debug views: each object's tracker draws through an :class:`ObjectDebugView` of the shared view, which appends
`` (object <id>)`` to its block titles (so the objects' score maps, info tables... do not overwrite each other) and
drops its 'Tracking' block: the harness draws one 'Tracking' block with every object's box and the merged mask.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pytracking.evaluation.data import mask_box

__all__ = ["MultiObjectWrapper", "ObjectDebugView", "default_merge", "DEFAULT_SEGMENTATION_THRESHOLD"]

DEFAULT_SEGMENTATION_THRESHOLD = 0.5

# Keys of the whole-sequence info that describe initialisation (split per object instead of passed through).
_INIT_KEYS = ("init_bbox", "init_mask", "object_ids", "init_object_ids", "sequence_object_ids", "previous_output")


def _label_of(obj_id: Any) -> int:
    try:
        label = int(obj_id)
    except (TypeError, ValueError):
        raise ValueError(f"object id {obj_id!r} is not an integer label, so masks cannot be merged") from None
    if not 0 < label <= 255:
        raise ValueError(f"object id {obj_id!r} is outside 1..255 and cannot be stored in a uint8 label map")
    return label


def default_merge(outputs: Mapping[Any, Mapping[str, Any]], threshold: float = DEFAULT_SEGMENTATION_THRESHOLD) -> dict:
    """Merge per-object tracker outputs into one output.

    Segmentation: each object's ``segmentation`` is read as a score map: a float array as probabilities, an
    integer or bool array as a binary mask (non-zero = 1). A pixel takes the label (``int(object id)``) of the
    object with the highest score if that score exceeds ``threshold``, else 0 (background); ties go to the
    object listed first.

    Args:
        outputs: object id -> that object's output dict, in object order.
        threshold: score a pixel must exceed to belong to an object.

    Returns:
        ``{'segmentation': (H, W) uint8 label map}`` (when any object has one) and, for every other key,
        ``{object id: value}`` over the objects that returned it.

    Raises:
        ValueError: masks of different shapes, or an object id that is not an integer in 1..255.
    """
    merged: dict[str, Any] = {}
    for out in outputs.values():
        for key in out:
            if key != "segmentation" and key not in merged:
                merged[key] = OrderedDict((oid, o[key]) for oid, o in outputs.items() if key in o)

    masks = [(oid, np.asarray(o["segmentation"])) for oid, o in outputs.items() if o.get("segmentation") is not None]
    if masks:
        shapes = {m.shape for _, m in masks}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"default_merge: object masks must share one (H, W) shape, got {sorted(shapes)}")
        scores = np.stack(
            [
                m.astype(np.float64) if np.issubdtype(m.dtype, np.floating) else (m != 0).astype(np.float64)
                for _, m in masks
            ]
        )
        labels = np.array([_label_of(oid) for oid, _ in masks], dtype=np.uint8)
        best = scores.argmax(axis=0)
        best_score = np.take_along_axis(scores, best[None], axis=0)[0]
        merged["segmentation"] = np.where(best_score > threshold, labels[best], 0).astype(np.uint8)
    return merged


class ObjectDebugView:
    """One object's window onto a shared debug view (the ``tracker.visdom`` of that object's tracker).

    Block ``title`` is registered as ``f"{title} (object {obj_id})"``, except the block titled 'Tracking', which
    is dropped: one tracker sees only its own object, so the frame with all objects is drawn by the harness
    (the debug hook of :meth:`pytracking.evaluation.tracker.Tracker.run_sequence`) from the merged output instead.

    Args:
        view: the shared view (:class:`~pytracking.utils.debug_view.DebugView` interface).
        obj_id: the object's id.
    """

    def __init__(self, view: Any, obj_id: Any) -> None:
        self.view = view
        self.obj_id = obj_id

    def __deepcopy__(self, memo: dict) -> ObjectDebugView:
        return self  # a view is shared, not tracker state

    @property
    def debug(self) -> int:
        """The shared view's debug level."""
        return self.view.debug

    @property
    def registered_this_frame(self) -> set[str]:
        """The shared view's titles registered this frame (holding the suffixed titles)."""
        return self.view.registered_this_frame

    def title(self, title: str) -> str:
        """The shared view's title of this object's block ``title``."""
        return f"{title} (object {self.obj_id})"

    def register(self, data: Any, mode: str, debug_level: int = 0, title: str = "Data", **kwargs: Any) -> None:
        """Register block ``title`` of this object in the shared view (nothing for 'Tracking', see the class)."""
        if title == "Tracking":
            return
        self.view.register(data, mode, debug_level, self.title(title), **kwargs)

    def block_until_unpaused(self, timeout: float | None = None) -> bool:
        """The shared view's pause hook (the harness calls it once per frame, not the objects' trackers)."""
        return self.view.block_until_unpaused(timeout)


class MultiObjectWrapper:
    """One ``base_tracker_class`` instance per object, presented as a single tracker.

    Args:
        base_tracker_class: tracker class, called as ``base_tracker_class(params)``.
        params: parameters shared by every object's tracker; ``segmentation_threshold`` (default 0.5) is read
            for merging masks.
        visdom: debug view; each object's tracker gets an :class:`ObjectDebugView` of it as ``tracker.visdom``
            (when not ``None``). Read when objects start, so it may also be set as ``wrapper.visdom`` later.
        fast_load: build one tracker up front (running its ``initialize_features()`` if it has one, e.g. to load
            a network once) and deep-copy it for each object.
        frame_reader: accepted for signature compatibility; unused.
    """

    def __init__(
        self,
        base_tracker_class: type,
        params: Any,
        visdom: Any = None,
        fast_load: bool = False,
        frame_reader: Callable | None = None,
    ) -> None:
        self.base_tracker_class = base_tracker_class
        self.params = params
        self.visdom = visdom
        self.fast_load = fast_load
        self.frame_reader = frame_reader
        self.trackers: OrderedDict[Any, Any] = OrderedDict()
        self.initialized_ids: list = []
        self._previous: dict[Any, dict] = {}
        self._template = self._new_tracker() if fast_load else None

    def _new_tracker(self) -> Any:
        tracker = self.base_tracker_class(self.params)
        if self.fast_load and hasattr(tracker, "initialize_features"):
            tracker.initialize_features()
        return tracker

    def create_tracker(self) -> Any:
        """A new tracker for one object (a deep copy of the template with ``fast_load``)."""
        return copy.deepcopy(self._template) if self._template is not None else self._new_tracker()

    def predicts_segmentation_mask(self) -> bool:
        """Whether the wrapped tracker outputs masks."""
        probe = self._template or next(iter(self.trackers.values()), None)
        if probe is not None and hasattr(probe, "predicts_segmentation_mask"):
            return bool(probe.predicts_segmentation_mask())
        return False

    # ---- per-object info --------------------------------------------------------------------------------------

    @staticmethod
    def _new_ids(info: Mapping[str, Any]) -> list:
        ids = info.get("init_object_ids", info.get("object_ids"))
        return [] if ids is None else list(ids)

    def _split_info(self, info: Mapping[str, Any], ids: list) -> OrderedDict:
        """Per-object init info: own box, own binary mask, and ``init_other`` holding every new object's."""
        bboxes = info.get("init_bbox")
        label_map = info.get("init_mask")
        per_object: OrderedDict[Any, dict] = OrderedDict()
        for oid in ids:
            obj: dict[str, Any] = {"object_ids": [oid]}
            if label_map is not None:
                obj["init_mask"] = (np.asarray(label_map) == _label_of(oid)).astype(np.uint8)
            if isinstance(bboxes, Mapping):
                if oid in bboxes:
                    obj["init_bbox"] = list(bboxes[oid])
            elif bboxes is not None and len(ids) == 1:
                obj["init_bbox"] = list(bboxes)
            if "init_bbox" not in obj and "init_mask" in obj:
                obj["init_bbox"] = [float(v) for v in mask_box(obj["init_mask"])]
            if "init_bbox" not in obj and "init_mask" not in obj:
                raise ValueError(f"MultiObjectWrapper: no initial box or mask for object {oid!r}")
            if "sequence_object_ids" in info:
                obj["sequence_object_ids"] = info["sequence_object_ids"]
            per_object[oid] = obj
        others = OrderedDict(
            (oid, {k: v for k, v in obj.items() if k.startswith("init_")}) for oid, obj in per_object.items()
        )
        for obj in per_object.values():
            obj["init_other"] = others
        return per_object

    def _initialize_objects(self, image: np.ndarray, info: Mapping[str, Any], ids: list) -> OrderedDict:
        outputs: OrderedDict[Any, dict] = OrderedDict()
        for oid, obj_info in self._split_info(info, ids).items():
            tracker = self.create_tracker()
            if self.visdom is not None:
                tracker.visdom = ObjectDebugView(self.visdom, oid)
            start = time.perf_counter()
            out = tracker.initialize(image, obj_info)
            out = {} if out is None else dict(out)
            out.setdefault("time", time.perf_counter() - start)
            out.setdefault("target_bbox", obj_info.get("init_bbox"))
            if "init_mask" in obj_info:
                out.setdefault("segmentation", obj_info["init_mask"])
            self.trackers[oid] = tracker
            self.initialized_ids.append(oid)
            self._previous[oid] = out
            outputs[oid] = out
        return outputs

    # ---- tracker interface ------------------------------------------------------------------------------------

    def initialize(self, image: np.ndarray, info: Mapping[str, Any]) -> dict:
        """Start one tracker per object in ``info['object_ids']`` (or ``init_object_ids``).

        Args:
            image: first frame, (H, W, 3) uint8 RGB.
            info: ``init_bbox`` ({object id: [x, y, w, h]}), optional ``init_mask`` ((H, W) label map),
                ``object_ids``.

        Returns:
            The merged outputs of the objects (see :func:`default_merge`).
        """
        self.trackers.clear()
        self.initialized_ids = []
        self._previous = {}
        ids = self._new_ids(info)
        if not ids:
            raise ValueError("MultiObjectWrapper.initialize: the init info lists no object ids")
        return self.merge_outputs(self._initialize_objects(image, info, ids))

    def track(self, image: np.ndarray, info: Mapping[str, Any] | None = None) -> dict:
        """Track every started object on ``image`` and start the objects that ``info`` introduces.

        Returns:
            The merged outputs of all started objects (see :func:`default_merge`).
        """
        info = {} if info is None else info
        passthrough = {k: v for k, v in info.items() if k not in _INIT_KEYS and k != "init_other"}
        outputs: OrderedDict[Any, dict] = OrderedDict()
        for oid in self.initialized_ids:
            obj_info = {**passthrough, "previous_output": self._previous[oid]}
            start = time.perf_counter()
            out = self.trackers[oid].track(image, obj_info)
            out = {} if out is None else dict(out)
            out.setdefault("time", time.perf_counter() - start)
            self._previous[oid] = out
            outputs[oid] = out
        new_ids = [oid for oid in self._new_ids(info) if oid not in self.trackers]
        if new_ids:
            outputs.update(self._initialize_objects(image, info, new_ids))
        return self.merge_outputs(outputs)

    def merge_outputs(self, outputs: Mapping[Any, Mapping[str, Any]]) -> dict:
        """The tracker class's ``merge_results(outputs)`` if it has one, else :func:`default_merge`."""
        if hasattr(self.base_tracker_class, "merge_results") and self.trackers:
            return next(iter(self.trackers.values())).merge_results(outputs)
        threshold = getattr(self.params, "segmentation_threshold", DEFAULT_SEGMENTATION_THRESHOLD)
        return default_merge(outputs, threshold)
