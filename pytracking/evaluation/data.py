"""Evaluation data model: :class:`Sequence`, :class:`SequenceList` and the :class:`BaseDataset` of the loaders.

Conventions:

* Boxes are ``[x, y, w, h]`` (top-left corner and size) in the pixel coordinates of the annotation files, as
  float64. Single-object ground truth has shape (N, 4) with one row per frame; multi-object ground truth is a
  dict ``{object_id: (N, 4) array}``. Unknown or absent targets are rows of NaN (UAV123, VOS masks) or of -1
  (OxUvA), as the benchmark stores them.
* ``target_visible`` is a bool array of shape (N,) or ``None`` when the benchmark gives no visibility.
* ``ground_truth_seg`` is a list of mask file paths, one per frame (``None`` for frames without a mask).
* Frame indices are 0-based positions in ``frames``; the earliest frame that has initialisation data becomes
  frame 0 (frames, ground truth, masks and visibility before it are dropped).

Laziness: every per-sequence field (``frames``, ``ground_truth_rect``, ``ground_truth_seg``, ``init_data``,
``target_visible``, ``object_ids``) may be given as a zero-argument callable. It is called on first access and
its result cached, so a dataset builds all of its sequences from its name table without touching the disk, and a
sequence whose files are missing fails only when its data is used (the error names the missing path).
"""

from __future__ import annotations

import csv
import functools
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, SupportsIndex

import numpy as np

from pytracking.evaluation.environment import EnvSettings, env_settings, local_file_path
from pytracking.utils.box_ops import mask_to_xywh
from pytracking.utils.image_io import imread_indexed
from pytracking.utils.load_text import load_text

__all__ = [
    "Sequence",
    "SequenceList",
    "BaseDataset",
    "lazy",
    "read_table",
    "read_name_list",
    "read_label_map",
    "load_boxes",
    "require_file",
    "list_frames",
    "mask_box",
    "TABLE_DIR",
]

TABLE_DIR = Path(__file__).resolve().parent / "dataset_tables"

_LAZY_FIELDS = ("frames", "ground_truth_rect", "ground_truth_seg", "target_visible", "object_ids")


def lazy(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap a zero-argument loader so that it runs at most once (lets several fields share one file read)."""
    return functools.cache(fn)


def _resolve(value: Any) -> Any:
    return value() if callable(value) else value


def _as_boxes(gt: Any) -> Any:
    """Ground truth as float64: an (N, 4) array, or an OrderedDict of object id -> (N, 4) array."""
    if gt is None:
        return None
    if isinstance(gt, dict):
        return OrderedDict((k, np.asarray(v, dtype=np.float64).reshape(-1, 4)) for k, v in gt.items())
    return np.asarray(gt, dtype=np.float64).reshape(-1, 4)


def read_label_map(path: str | os.PathLike) -> np.ndarray:
    """Read an annotation mask as labels (H, W) uint8: palette indices, or grayscale values.

    A grayscale mask holding only 0 and 255 (the DAVIS-2016 single-object format) is read as labels 0 and 1, so
    that object id 1 addresses the target in both the 2016 and the palette (2017, YouTube-VOS) formats.
    """
    labels, palette = imread_indexed(path)
    if palette is None and labels.size and labels.max() == 255 and not np.isin(labels, (0, 255), invert=True).any():
        labels = (labels == 255).astype(np.uint8)
    return labels


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Pixel-inclusive ``[x, y, w, h]`` of the non-zero pixels; NaN row for an empty mask (target absent)."""
    box = np.asarray(mask_to_xywh(np.asarray(mask)), dtype=np.float64)
    return box if box[2] > 0 else np.full(4, np.nan)


class Sequence:
    """One annotated video: frame paths, ground truth and initialisation data.

    Args:
        name: sequence name, unique within its dataset.
        frames: frame image paths (or a callable returning them).
        dataset: dataset tag, e.g. ``'otb'`` (used for results handling).
        ground_truth_rect: ``[x, y, w, h]`` boxes, (N, 4) or dict object id -> (N, 4) (or a callable); may be
            ``None`` when ``init_data`` is given.
        ground_truth_seg: mask paths, one per frame, ``None`` where a frame has no mask (or a callable).
        init_data: ``{frame: {'bbox': ..., 'mask': path, 'object_ids': [...]}}`` (or a callable); by default
            frame 0 of the ground truth (and of the masks) initialises every object.
        object_class: class name of the target, if the benchmark gives one.
        target_visible: bool per frame (N,) (or a callable), ``None`` when unknown.
        object_ids: ids of the objects (strings), ``None`` for a plain single-object sequence.
        multiobj_mode: whether ground truth and initial boxes are kept per object (dicts).
    """

    def __init__(
        self,
        name: str,
        frames: list[str] | Callable[[], list[str]],
        dataset: str,
        ground_truth_rect: Any,
        ground_truth_seg: Any = None,
        init_data: Any = None,
        object_class: str | None = None,
        target_visible: Any = None,
        object_ids: Any = None,
        multiobj_mode: bool = False,
    ) -> None:
        self.name = name
        self.dataset = dataset
        self.object_class = object_class
        self.multiobj_mode = multiobj_mode
        self._raw: dict[str, Any] = {
            "frames": frames,
            "ground_truth_rect": ground_truth_rect,
            "ground_truth_seg": ground_truth_seg,
            "target_visible": target_visible,
            "object_ids": object_ids,
        }
        self._raw_init_data = init_data
        self._cache: dict[str, Any] = {}
        self._start: int | None = None

    # ---- lazy fields ------------------------------------------------------------------------------------------

    def _start_frame(self) -> int:
        """Index (in the stored frames) of the earliest frame with initialisation data."""
        if self._start is None:
            if self._raw_init_data is None:
                self._start = 0
            else:
                raw = _resolve(self._raw_init_data)
                self._raw_init_data = raw
                self._start = min(raw.keys()) if raw else 0
        return self._start

    def _field(self, key: str) -> Any:
        if key not in self._cache:
            value = _resolve(self._raw[key])
            if key == "ground_truth_rect":
                value = _as_boxes(value)
            elif key == "target_visible" and value is not None:
                value = np.asarray(value, dtype=bool).reshape(-1)
            elif key in ("frames", "ground_truth_seg") and value is not None:
                value = list(value)
            elif key == "object_ids" and value is not None:
                value = [str(v) for v in value]
            start = self._start_frame() if key != "object_ids" else 0
            if start > 0 and value is not None:
                if isinstance(value, dict):
                    value = OrderedDict((k, v[start:]) for k, v in value.items())
                else:
                    value = value[start:]
            self._cache[key] = value
        return self._cache[key]

    def _set_field(self, key: str, value: Any) -> None:
        self._cache[key] = value

    frames = property(lambda self: self._field("frames"), lambda self, v: self._set_field("frames", v))
    ground_truth_rect = property(
        lambda self: self._field("ground_truth_rect"), lambda self, v: self._set_field("ground_truth_rect", v)
    )
    ground_truth_seg = property(
        lambda self: self._field("ground_truth_seg"), lambda self, v: self._set_field("ground_truth_seg", v)
    )
    target_visible = property(
        lambda self: self._field("target_visible"), lambda self, v: self._set_field("target_visible", v)
    )
    object_ids = property(lambda self: self._field("object_ids"), lambda self, v: self._set_field("object_ids", v))

    @property
    def init_data(self) -> dict[int, dict[str, Any]]:
        """``{frame: {'bbox', 'mask', 'object_ids'}}`` with frames counted from the (trimmed) first frame."""
        if "init_data" not in self._cache:
            start = self._start_frame()
            if self._raw_init_data is None:
                data = self._default_init_data()
            else:
                data = {frame - start: self._normalise_init(dict(val)) for frame, val in self._raw_init_data.items()}
            self._cache["init_data"] = data
        return self._cache["init_data"]

    @init_data.setter
    def init_data(self, value: dict[int, dict[str, Any]]) -> None:
        self._cache["init_data"] = value

    def _normalise_init(self, val: dict[str, Any]) -> dict[str, Any]:
        bbox = val.get("bbox")
        if isinstance(bbox, dict):
            if self.multiobj_mode:
                val["bbox"] = OrderedDict((str(k), list(np.asarray(b, dtype=np.float64))) for k, b in bbox.items())
            else:
                ids = self.object_ids
                if not ids or len(ids) != 1:
                    raise ValueError(
                        f"Sequence {self.name!r}: a per-object init box needs multiobj_mode=True or exactly one "
                        f"object id (got {ids})"
                    )
                val["bbox"] = list(np.asarray(bbox[ids[0]], dtype=np.float64))
        elif bbox is not None:
            val["bbox"] = list(np.asarray(bbox, dtype=np.float64).reshape(4))
        return val

    def _default_init_data(self) -> dict[int, dict[str, Any]]:
        init: dict[str, Any] = {}
        ids = self.object_ids
        if ids is not None:
            init["object_ids"] = ids
        gt = self.ground_truth_rect
        if gt is not None:
            if self.multiobj_mode:
                if not isinstance(gt, dict):
                    raise ValueError(f"Sequence {self.name!r}: multiobj_mode needs per-object ground truth (a dict)")
                init["bbox"] = OrderedDict((k, list(v[0])) for k, v in gt.items())
            elif isinstance(gt, dict):
                if not ids or len(ids) != 1:
                    raise ValueError(f"Sequence {self.name!r}: per-object ground truth needs exactly one object id")
                init["bbox"] = list(gt[ids[0]][0])
            else:
                init["bbox"] = list(gt[0])
        seg = self.ground_truth_seg
        if seg is not None:
            init["mask"] = seg[0]
        return {0: init}

    # ---- accessors --------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Sequence(name={self.name!r}, dataset={self.dataset!r})"

    def object_init_data(self, frame_num: int | None = None) -> dict[str, Any]:
        """Initialisation data of frame ``frame_num`` (default 0) with ``init_``-prefixed keys.

        ``init_mask`` is read as a label map (H, W) uint8; in single-object mode with one object id it is
        binarised to 0/1 for that object. Adds ``object_ids`` and ``sequence_object_ids`` when ids are known.
        Returns an empty dict for a frame without initialisation data.
        """
        frame_num = 0 if frame_num is None else frame_num
        if frame_num not in self.init_data:
            return {}
        info = {f"init_{key}": val for key, val in self.init_data[frame_num].items() if val is not None}
        if "init_mask" in info:
            labels = read_label_map(info["init_mask"])
            ids = self.object_ids
            if not self.multiobj_mode and ids is not None:
                if len(ids) != 1:
                    raise ValueError(f"Sequence {self.name!r}: single-object mode with object ids {ids}")
                labels = (labels == int(ids[0])).astype(np.uint8)
            info["init_mask"] = labels
        if self.object_ids is not None:
            info["object_ids"] = info.pop("init_object_ids", self.object_ids)
            info["sequence_object_ids"] = self.object_ids
        return info

    def frame_info(self, frame_num: int) -> dict[str, Any]:
        """Initialisation data given at frame ``frame_num`` (see :meth:`object_init_data`)."""
        return self.object_init_data(frame_num=frame_num)

    def init_info(self) -> dict[str, Any]:
        """Initialisation data of frame 0, e.g. ``{'init_bbox': [x, y, w, h]}``."""
        return self.frame_info(0)

    def init_bbox(self, frame_num: int = 0) -> Any:
        """Initial ``[x, y, w, h]`` list (a dict per object in multi-object mode), or ``None``."""
        return self.object_init_data(frame_num=frame_num).get("init_bbox")

    def init_mask(self, frame_num: int = 0) -> np.ndarray | None:
        """Initial mask as labels (H, W) uint8, or ``None``."""
        return self.object_init_data(frame_num=frame_num).get("init_mask")

    def get_bbox(self, frame_num: int = 0, object_id: str | None = None) -> Any:
        """Ground-truth box of one frame: (4,) float64, or a dict per object when ``object_id`` is ``None``."""
        gt = self.ground_truth_rect
        if gt is None:
            return None
        if isinstance(gt, dict):
            if object_id is None:
                return OrderedDict((k, v[frame_num]) for k, v in gt.items())
            return gt[str(object_id)][frame_num]
        return gt[frame_num]

    def get_info(self, keys: Iterable[str], frame_num: int | None = None) -> dict[str, Any]:
        """``{key: self.get(key, frame_num)}`` for the keys whose value is not ``None``."""
        info = {}
        for key in keys:
            val = self.get(key, frame_num=frame_num)
            if val is not None:
                info[key] = val
        return info

    def target_class(self, frame_num: int | None = None) -> str | None:
        """Class name of the target (the same for every frame)."""
        return self.object_class

    def get(self, name: str, frame_num: int | None = None) -> Any:
        """Call the accessor ``name`` (e.g. ``'init_bbox'``, ``'target_class'``) for ``frame_num``."""
        method = getattr(self, name)
        return method(frame_num) if frame_num is not None else method()


class SequenceList(list):
    """A list of :class:`Sequence` that can also be indexed by sequence name, by a list of names/indices and by
    slices (which give a :class:`SequenceList`), and concatenated with ``+``."""

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, str):
            for seq in self:
                if seq.name == item:
                    return seq
            raise KeyError(f"no sequence named {item!r} in this list of {len(self)} sequences")
        if isinstance(item, slice):
            return SequenceList(super().__getitem__(item))
        if isinstance(item, (list, tuple)):
            return SequenceList([self[i] for i in item])
        if isinstance(item, SupportsIndex) and not isinstance(item, bool):
            return super().__getitem__(item)
        raise TypeError(f"SequenceList indices must be str, int, slice, list or tuple, not {type(item).__name__}")

    def __add__(self, other: list) -> SequenceList:
        return SequenceList(list.__add__(self, list(other)))

    def copy(self) -> SequenceList:
        return SequenceList(self)

    def names(self) -> list[str]:
        """Names of the sequences, in order."""
        return [seq.name for seq in self]


class BaseDataset:
    """A benchmark: builds the :class:`SequenceList` of its sequences from a name table, lazily.

    Subclasses set ``name`` (the ``Sequence.dataset`` tag) and ``path_attr`` (the :class:`EnvSettings` attribute
    of the root folder) and implement :meth:`sequence_names` and :meth:`_construct_sequence`.

    Args:
        root: dataset root folder; default the ``path_attr`` setting.
        env: settings to read paths from; default :func:`env_settings`.

    Raises:
        FileNotFoundError: the root is not configured or does not exist; the message names the setting and its
            environment variable.
    """

    name: str = ""
    path_attr: str | None = None

    def __init__(self, root: str | os.PathLike | None = None, env: EnvSettings | None = None) -> None:
        self._env = env
        self.base_path = self._root_from(self.path_attr, root) if (root is not None or self.path_attr) else None

    @property
    def env_settings(self) -> EnvSettings:
        """The settings (read on first use, so that a dataset given ``root=`` needs no settings file)."""
        if self._env is None:
            self._env = env_settings()
        return self._env

    def _root_from(self, attr: str | None, explicit: str | os.PathLike | None, what: str = "root folder") -> Path:
        """Resolve a folder from an explicit argument or a settings attribute, with one actionable error."""
        if explicit is not None:
            path = Path(explicit)
            if not path.is_dir():
                raise FileNotFoundError(f"Dataset {self.name!r}: {what} {os.fspath(path)!r} does not exist")
            return path
        assert attr is not None
        value = getattr(self.env_settings, attr)
        hint = (
            f"set `{attr}` in your settings file ({local_file_path()}) or the environment variable "
            f"{EnvSettings.env_var(attr)}"
        )
        if not value:
            raise FileNotFoundError(f"Dataset {self.name!r}: the {what} is not configured; {hint}")
        path = Path(value)
        if not path.is_dir():
            raise FileNotFoundError(
                f"Dataset {self.name!r}: {what} {os.fspath(path)!r} (setting `{attr}`) does not exist; {hint}"
            )
        return path

    def sequence_names(self) -> list[str]:
        """Names of the sequences, without reading any sequence's files."""
        raise NotImplementedError

    def _construct_sequence(self, name: str) -> Sequence:
        raise NotImplementedError

    def get_sequence_list(self) -> SequenceList:
        """All sequences (lazy: their files are read on first use)."""
        return SequenceList(self._construct_sequence(n) for n in self.sequence_names())

    def get_sequence(self, name: str) -> Sequence:
        """One sequence by name."""
        if name not in self.sequence_names():
            raise KeyError(f"Dataset {self.name!r} has no sequence {name!r}")
        return self._construct_sequence(name)

    def __len__(self) -> int:
        return len(self.sequence_names())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_path={os.fspath(self.base_path) if self.base_path else None!r})"

    # ---- helpers for the loaders ------------------------------------------------------------------------------

    def require_file(self, path: Path, seq_name: str, what: str) -> Path:
        """``path`` if it is a file, else FileNotFoundError naming the sequence and the path."""
        return require_file(path, f"{self.name} sequence {seq_name!r}: {what}")


def require_file(path: Path, context: str) -> Path:
    """Return ``path`` if it is an existing file, else raise FileNotFoundError ``'<context> not found: <path>'``."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{context} not found: {os.fspath(path)}")
    return Path(path)


def load_boxes(path: Path, context: str, delimiter: Any = (",", None)) -> np.ndarray:
    """Load an (N, 4) float64 box file (extra columns, e.g. VOT polygons, are kept), naming ``context`` on error."""
    return load_text(require_file(path, context), delimiter=delimiter, dtype=np.float64)


def list_frames(folder: Path, context: str, exts: tuple[str, ...] = (".jpg", ".jpeg", ".png")) -> list[str]:
    """Image files of ``folder`` sorted by the number in their name (``'10.jpg'`` after ``'9.jpg'``)."""
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"{context} not found: {os.fspath(folder)}")

    def key(name: str) -> tuple:
        stem = os.path.splitext(name)[0]
        digits = "".join(c for c in stem if c.isdigit())
        return (int(digits) if digits else -1, name)

    names = sorted((n for n in os.listdir(folder) if n.lower().endswith(exts)), key=key)
    return [os.path.join(folder, n) for n in names]


@functools.cache
def read_table(filename: str) -> tuple[dict[str, str], ...]:
    """Rows of a packaged CSV sequence table (``dataset_tables/<filename>``) as dicts of strings."""
    with open(TABLE_DIR / filename, newline="") as f:
        return tuple(csv.DictReader(f))


@functools.cache
def read_name_list(filename: str) -> tuple[str, ...]:
    """Names listed one per line in ``dataset_tables/<filename>`` (or any path)."""
    path = Path(filename) if os.path.isabs(filename) else TABLE_DIR / filename
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
