"""A tracker to evaluate: tracker name + parameter file (+ run id), its results folders and its per-sequence loop.

A tracker NAME is a sub-package ``pytracking/tracker/<name>/`` whose ``__init__.py`` defines
``get_tracker_class()``; a PARAMETER file is ``pytracking/parameter/<name>/<parameter_name>.py`` defining
``parameters()``. Both are imported only when a sequence is run, so a :class:`Tracker` can be built just to
locate result files (the analysis does this) even when the tracker's code is not installed.

Results live in ``{results_path}/{name}/{parameter_name}`` (``..._{run_id:03d}`` for numbered runs) and
segmentation masks in the same sub-folders of ``segmentation_path``.

Determinism: :meth:`Tracker.run_sequence` seeds Python's ``random``, NumPy's global generator and torch (CPU and
CUDA) with :func:`sequence_seed` of (tracker name, parameter name, run id, sequence name) before creating the
tracker, so two runs of the same tracker on the same sequence draw the same random numbers and, on the same
hardware and software, give identical boxes. Non-deterministic GPU kernels are not switched off; set
``torch.use_deterministic_algorithms(True)`` yourself for bit-exact GPU runs.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import pkgutil
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from pytracking.evaluation.environment import EnvSettings, env_settings
from pytracking.utils.image_io import imread

if TYPE_CHECKING:
    from pytracking.evaluation.data import Sequence

__all__ = ["Tracker", "trackerlist", "sequence_seed", "seed_everything", "OUTPUT_KEYS"]

#: Per-frame outputs collected by :meth:`Tracker.run_sequence` (other keys a tracker returns are ignored).
OUTPUT_KEYS = ("target_bbox", "time", "segmentation", "object_presence_score")

#: Called after every frame with (frame number, image (H, W, 3) uint8 RGB, the tracker's output dict).
FrameCallback = Callable[[int, np.ndarray, dict], None]


def sequence_seed(tracker_name: str, parameter_name: str, run_id: int | None, sequence_name: str) -> int:
    """Seed for one (tracker, sequence) run: the first 4 bytes of a SHA-256 of the four ids.

    A hash instead of Python's ``hash()`` keeps the value identical across processes and interpreter runs.

    Returns:
        An integer in ``[0, 2**32)``.
    """
    key = f"{tracker_name}\x00{parameter_name}\x00{run_id}\x00{sequence_name}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little")


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy's global generator and torch (CPU and every CUDA device) with ``seed``."""
    import torch  # imported here so that building a Tracker (e.g. in the analysis) does not load torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _debug_view_callback(tracker: Any, view: Any, init_info: dict, callback: FrameCallback | None) -> FrameCallback:
    """Per-frame hook with a debug view: show the frame and box(es) unless the tracker registered a 'Tracking'
    block itself this frame, call ``callback``, then wait while the user has the view paused.

    A :class:`~pytracking.evaluation.multi_object_wrapper.MultiObjectWrapper` never registers 'Tracking' (its
    per-object trackers' blocks are renamed or dropped), so with several objects this draws every object's box
    and the merged mask in the one 'Tracking' block."""

    def on_frame(frame_num: int, image: np.ndarray, out: dict) -> None:
        if "Tracking" not in view.registered_this_frame:
            first = frame_num == 0  # initialize() may return no box or mask: show the initial ones
            box = out.get("target_bbox", init_info.get("init_bbox") if first else None)
            mask = out.get("segmentation", init_info.get("init_mask") if first else None)
            if box is not None and hasattr(tracker, "visdom_draw_tracking"):
                tracker.visdom_draw_tracking(image, box, mask)
            elif box is not None:  # e.g. MultiObjectWrapper: {object id: box}
                boxes = list(box.values()) if isinstance(box, dict) else [box]
                view.register((image, *boxes) if mask is None else (image, *boxes, mask), "Tracking", 1, "Tracking")
        if callback is not None:
            callback(frame_num, image, out)
        view.block_until_unpaused()

    return on_frame


def _param(params: Any, name: str, default: Any) -> Any:
    """``params.name`` or ``default`` (works for TrackerParams and for plain attribute objects)."""
    return getattr(params, name, default)


def _available(package: str) -> list[str]:
    """Names of the sub-modules of ``package`` ([] when the package itself does not exist)."""
    try:
        pkg = importlib.import_module(package)
    except ImportError:
        return []
    return sorted(info.name for info in pkgutil.iter_modules(getattr(pkg, "__path__", [])))


def _import(module_name: str, what: str, parent: str) -> Any:
    """Import ``module_name``; when it (not one of its own imports) is missing, list what ``parent`` holds."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise  # the module exists but one of its imports is missing: keep the original error
        choices = _available(parent)
        hint = f"available: {', '.join(choices)}" if choices else f"{parent} has none"
        raise ModuleNotFoundError(f"{what} not found: no module {module_name!r} ({hint})", name=module_name) from e


class Tracker:
    """A tracker with one parameter setting (and optionally a run id), as evaluated on datasets.

    Args:
        name: tracker name: the sub-package of ``<module_prefix>.tracker``.
        parameter_name: parameter file name: the module of ``<module_prefix>.parameter.<name>``.
        run_id: run number for repeated runs (results go to ``{parameter_name}_{run_id:03d}``), or ``None``.
        display_name: name shown in plots and tables (default: built from the ids).
        env: settings giving ``results_path``/``segmentation_path``; default :func:`env_settings`.
        module_prefix: top-level package holding ``tracker/`` and ``parameter/`` (default ``'pytracking'``);
            lets trackers live in another package, e.g. a plug-in or a test fixture.
        tracker_class: use this class instead of importing ``<prefix>.tracker.<name>``. It must be importable by
            its module path when sequences run in worker processes (``threads > 0``).
        parameters: a zero-argument callable returning the parameters, used instead of the parameter file (must
            be picklable for ``threads > 0``: a module-level function).
        trust_checkpoint: load the networks of the parameters without the safe-unpickling allowlist
            (``--trust-checkpoint``; only for files from a trusted source). Applied by :meth:`get_parameters`,
            hence also in worker processes.
    """

    def __init__(
        self,
        name: str,
        parameter_name: str,
        run_id: int | None = None,
        display_name: str | None = None,
        *,
        env: EnvSettings | None = None,
        module_prefix: str = "pytracking",
        tracker_class: type | None = None,
        parameters: Callable[[], Any] | None = None,
        trust_checkpoint: bool = False,
    ) -> None:
        if run_id is not None and (not isinstance(run_id, (int, np.integer)) or run_id < 0):
            raise ValueError(f"Tracker {name!r}: run_id must be a non-negative int or None, got {run_id!r}")
        self.name = name
        self.parameter_name = parameter_name
        self.run_id = None if run_id is None else int(run_id)
        self.display_name = display_name
        self.module_prefix = module_prefix
        self._tracker_class = tracker_class
        self._parameters = parameters
        self.trust_checkpoint = bool(trust_checkpoint)

        env = env_settings() if env is None else env
        leaf = parameter_name if self.run_id is None else f"{parameter_name}_{self.run_id:03d}"
        self.results_dir = os.path.join(env.results_path, name, leaf)
        self.segmentation_dir = os.path.join(env.segmentation_path, name, leaf)

    def __repr__(self) -> str:
        return (
            f"Tracker(name={self.name!r}, parameter_name={self.parameter_name!r}, run_id={self.run_id!r}, "
            f"display_name={self.display_name!r})"
        )

    @property
    def id_string(self) -> str:
        """``name/parameter_name`` plus ``_run_id`` (used in logs and summaries)."""
        run = "" if self.run_id is None else f"_{self.run_id:03d}"
        return f"{self.name}/{self.parameter_name}{run}"

    # ---- code lookup ------------------------------------------------------------------------------------------

    @property
    def tracker_class(self) -> type:
        """The tracker class: the override, else ``get_tracker_class()`` of ``<prefix>.tracker.<name>``.

        Raises:
            ModuleNotFoundError: no such tracker package (the message lists the available ones).
        """
        if self._tracker_class is None:
            parent = f"{self.module_prefix}.tracker"
            module = _import(f"{parent}.{self.name}", f"Tracker {self.name!r}", parent)
            if not hasattr(module, "get_tracker_class"):
                raise AttributeError(f"Tracker package {module.__name__!r} defines no get_tracker_class()")
            return module.get_tracker_class()
        return self._tracker_class

    def get_parameters(self) -> Any:
        """A fresh parameter object: the override, else ``parameters()`` of the parameter file.

        With ``trust_checkpoint`` every network the parameters hold is marked trusted
        (:func:`~pytracking.features.net_wrappers.trust_networks`).

        Raises:
            ModuleNotFoundError: no such parameter file (the message lists the tracker's parameter files).
        """
        if self._parameters is not None:
            params = self._parameters()
        else:
            parent = f"{self.module_prefix}.parameter.{self.name}"
            module = _import(f"{parent}.{self.parameter_name}", f"Parameter file {self.parameter_name!r}", parent)
            params = module.parameters()
        if self.trust_checkpoint:
            from pytracking.features.net_wrappers import trust_networks

            trust_networks(params)
        return params

    def create_tracker(self, params: Any) -> Any:
        """Instantiate the tracker class with ``params``."""
        return self.tracker_class(params)

    # ---- running ----------------------------------------------------------------------------------------------

    def sequence_seed(self, sequence_name: str) -> int:
        """The seed :meth:`run_sequence` uses for ``sequence_name`` (see :func:`sequence_seed`)."""
        return sequence_seed(self.name, self.parameter_name, self.run_id, sequence_name)

    def run_sequence(
        self,
        seq: Sequence,
        debug: int | None = None,
        visdom_info: dict | None = None,
        multiobj_mode: str | None = None,
        *,
        seed: int | None = None,
        callback: FrameCallback | None = None,
    ) -> dict[str, Any]:
        """Track ``seq`` from its first frame to its last.

        Args:
            seq: the sequence (frames are read as (H, W, 3) uint8 RGB).
            debug: debug level stored in ``params.debug``; ``None`` keeps the parameter file's value (default 0).
            visdom_info: visdom connection settings; kept in ``params.visdom_info`` for trackers that use it.
                With ``debug > 0`` a live view (:func:`~pytracking.utils.debug_view.make_debug_view`: Visdom,
                else matplotlib, else none) is set as ``tracker.visdom``; every frame is shown in its
                'Tracking' block (unless the tracker drew it) and the loop waits there while it is paused.
            multiobj_mode: ``'default'`` (the tracker handles all objects) or ``'parallel'`` (one tracker per
                object, see :class:`~pytracking.evaluation.multi_object_wrapper.MultiObjectWrapper`); default the
                parameters' ``multiobj_mode``, else the tracker class's. Only used for multi-object sequences.
            seed: seed for ``random``/NumPy/torch; default :meth:`sequence_seed` of the sequence name.
            callback: called after every frame with (frame number, image, tracker output), e.g. to visualise.

        Returns:
            Dict of per-frame lists, aligned with the frames (entry ``i`` is frame ``i``; ``None`` where the
            tracker gave no value): ``target_bbox`` ([x, y, w, h], or {object id: box} for multi-object
            sequences), ``time`` (seconds), ``segmentation`` ((H, W) uint8 label maps) and
            ``object_presence_score``. Frame 0 defaults to the initial box, the initialisation time, the initial
            mask and presence 1.0. A key is left out when the tracker returned it for no frame after the first
            (for ``time``: for no frame). Also ``image_shape`` ((H, W) of the last frame) and
            ``object_presence_score_threshold`` (parameter, default 0.55).
        """
        params = self.get_parameters()
        if debug is None:
            debug = _param(params, "debug", 0)
        params.debug = debug
        params.tracker_name = self.name
        params.param_name = self.parameter_name
        if visdom_info is not None:
            params.visdom_info = visdom_info

        seed_everything(self.sequence_seed(seq.name) if seed is None else seed)

        view = None
        if debug and debug > 0:
            from pytracking.utils.debug_view import make_debug_view

            view = make_debug_view(debug, visdom_info)

        tracker_class = self.tracker_class
        if multiobj_mode is None:
            multiobj_mode = _param(params, "multiobj_mode", getattr(tracker_class, "multiobj_mode", "default"))
        if getattr(seq, "multiobj_mode", False) and multiobj_mode == "parallel":
            from pytracking.evaluation.multi_object_wrapper import MultiObjectWrapper

            tracker = MultiObjectWrapper(tracker_class, params, visdom=view, fast_load=True)
        elif multiobj_mode in ("default", "parallel"):
            tracker = self.create_tracker(params)
        else:
            raise ValueError(f"Unknown multiobj_mode {multiobj_mode!r}; choose 'default' or 'parallel'")

        init_info = seq.init_info()
        if view is not None:
            tracker.visdom = view
            callback = _debug_view_callback(tracker, view, init_info, callback)
        output = self._track_sequence(tracker, seq, init_info, callback)
        output["object_presence_score_threshold"] = _param(params, "object_presence_score_threshold", 0.55)
        return output

    def _track_sequence(
        self, tracker: Any, seq: Sequence, init_info: dict, callback: FrameCallback | None
    ) -> dict[str, Any]:
        output: dict[str, list] = OrderedDict((key, []) for key in OUTPUT_KEYS)

        def store(out: dict, defaults: dict) -> None:
            for key, values in output.items():
                values.append(out[key] if key in out else defaults.get(key))

        frames = seq.frames
        if not frames:
            raise ValueError(f"Sequence {seq.name!r} has no frames")
        image = imread(frames[0])
        start = time.perf_counter()
        out = tracker.initialize(image, init_info)
        out = {} if out is None else dict(out)
        init_defaults = {
            "target_bbox": init_info.get("init_bbox"),
            "time": time.perf_counter() - start,
            "segmentation": init_info.get("init_mask"),
            "object_presence_score": 1.0,
        }
        store(out, init_defaults)
        if callback is not None:
            callback(0, image, out)
        previous = OrderedDict(out)

        for frame_num in range(1, len(frames)):
            image = imread(frames[frame_num])
            info = seq.frame_info(frame_num)
            info["previous_output"] = previous
            start = time.perf_counter()
            out = tracker.track(image, info)
            out = {} if out is None else dict(out)
            store(out, {"time": time.perf_counter() - start})
            if callback is not None:
                callback(frame_num, image, out)
            previous = OrderedDict(out)

        for key in list(output):
            # A value on frame 0 only is a default (init box, init mask, presence 1.0), not tracker output.
            produced = output[key] if key == "time" else output[key][1:]
            if all(value is None for value in produced):
                del output[key]
        output["image_shape"] = tuple(image.shape[:2])
        return output


def trackerlist(
    name: str,
    parameter_name: str,
    run_ids: int | Iterable[int] | None = None,
    display_name: str | None = None,
    **kwargs: Any,
) -> list[Tracker]:
    """One :class:`Tracker` per run id (a single one when ``run_ids`` is ``None``).

    Args:
        name, parameter_name, display_name: see :class:`Tracker`.
        run_ids: an int, an iterable of ints (e.g. ``range(5)``) or ``None``.
        kwargs: further keyword arguments of :class:`Tracker`.
    """
    if run_ids is None or isinstance(run_ids, (int, np.integer)):
        run_ids = [run_ids]
    return [Tracker(name, parameter_name, run_id, display_name, **kwargs) for run_id in run_ids]
