"""Base class of the training datasets that serve sequences, and the helpers the dataset loaders share.

A dataset holds a list of sequences (``sequence_list``) and answers, per sequence id (an index into that list):

* :meth:`BaseVideoDataset.get_sequence_info`: the per-frame annotation of the whole sequence, a dict with
  ``'bbox'`` (N, 4) float32 ``[x, y, w, h]`` in pixels, ``'valid'`` (N,) bool (``w > 0 and h > 0``; NaN boxes
  are invalid), ``'visible'`` (N,) bool (the target is present and valid) and, where the dataset has them,
  ``'visible_ratio'`` (N,) float32 and ``'mask'``;
* :meth:`BaseVideoDataset.get_frames`: the images of some frames as (H, W, 3) uint8 RGB arrays, the annotation of
  those frames (``{key: [value per frame]}``) and the object's meta data (see :func:`object_meta`).

Samplers (``ltr.data.sampler``) draw frames through these two calls only.
"""

from __future__ import annotations

import os
import random
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.utils.data

from ltr.data.image_loader import default_image_loader
from ltr.data_specs import DATA_SPECS_DIR
from pytracking.utils.load_text import load_text

__all__ = [
    "BaseVideoDataset",
    "ImageLoader",
    "OBJECT_META_KEYS",
    "object_meta",
    "resolve_root",
    "read_data_spec",
    "read_split",
    "sample_fraction",
    "load_boxes",
    "load_labels",
    "valid_boxes",
    "frames_annotation",
]

PathLike = str | os.PathLike

#: Reads one image file and returns it as an (H, W, 3) uint8 RGB array.
ImageLoader = Callable[[str], np.ndarray]

#: Keys of the object meta data returned by ``get_frames`` (GOT-10k's meta fields; ``None`` where unknown).
OBJECT_META_KEYS: tuple[str, ...] = ("object_class_name", "motion_class", "major_class", "root_class", "motion_adverb")


def object_meta(**values: str | None) -> OrderedDict:
    """The object meta data dict: every key of :data:`OBJECT_META_KEYS`, ``None`` unless given.

    Raises:
        KeyError: a key that is not one of :data:`OBJECT_META_KEYS`.
    """
    unknown = sorted(set(values) - set(OBJECT_META_KEYS))
    if unknown:
        raise KeyError(f"object_meta: unknown key(s) {unknown}; valid: {list(OBJECT_META_KEYS)}")
    return OrderedDict((key, values.get(key)) for key in OBJECT_META_KEYS)


# ---------------------------------------------------------------------------------------------------------------
# Helpers of the loaders


def resolve_root(dataset: str, setting: str, root: PathLike | None, layout: str) -> Path:
    """The dataset's root folder: ``root`` if given, else the ``setting`` attribute of ``ltr``'s local settings.

    Args:
        dataset: dataset name for the messages.
        setting: attribute of :class:`ltr.admin.environment.EnvironmentSettings`, e.g. ``'got10k_dir'``.
        root: explicit folder (the settings are then not read at all).
        layout: what the folder must hold, for the messages.

    Raises:
        FileNotFoundError: the setting is empty or the folder does not exist; the message names the settings file
            and attribute, the environment variable and the expected layout.
    """
    if root is None:
        # Imported here: reading the settings may create ltr/admin/local.py, which a given root must not do.
        from ltr.admin.environment import EnvironmentSettings, env_settings, local_file_path

        where = f"{local_file_path()}: {setting}"
        hint = f"(or the environment variable {EnvironmentSettings.env_var(setting)}, or pass root=...)"
        value = getattr(env_settings(), setting)
        if not value:
            raise FileNotFoundError(
                f"{dataset}: the dataset folder is not configured. Set {where} {hint} to the folder that holds "
                f"{layout}."
            )
        origin = f"({where})"
        root = value
    else:
        origin = "(argument root)"
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{dataset}: dataset folder {os.fspath(path)!r} {origin} does not exist; expected the folder that holds "
            f"{layout}."
        )
    return path


def read_data_spec(filename: str, dataset: str, path: PathLike | None = None) -> list[str]:
    """Non-empty lines of a split file: ``ltr/data_specs/<filename>``, or ``path`` when given.

    Raises:
        FileNotFoundError: the file is missing; the message says where the packaged file comes from.
    """
    spec = Path(path) if path is not None else DATA_SPECS_DIR / filename
    if not spec.is_file():
        if path is not None:
            raise FileNotFoundError(f"{dataset}: split file not found: {os.fspath(spec)}")
        raise FileNotFoundError(
            f"{dataset}: split file {os.fspath(spec)} is missing. It is one of the id lists the original PyTracking "
            f"ships (github.com/visionml/pytracking, ltr/data_specs/{filename}): copy it into {DATA_SPECS_DIR}, or "
            f"pass your own list with split_file=..."
        )
    return [line.strip() for line in spec.read_text().splitlines() if line.strip()]


def read_split(
    split: str | None,
    split_file: PathLike | None,
    *,
    split_files: dict[str, str],
    owner: str,
    dataset: str,
    line_ok: Callable[[str], bool],
    expected: str,
) -> list[str]:
    """Lines of a named split's file under ``ltr/data_specs`` or of ``split_file``, each checked with ``line_ok``.

    Args:
        split: split name, a key of ``split_files``; ignored when ``split_file`` is given.
        split_file: the user's own split file, read instead.
        split_files: split name -> file name under ``ltr/data_specs``.
        owner: class name that starts the ``ValueError`` messages (e.g. ``'Got10k'``).
        dataset: dataset name for the :func:`read_data_spec` messages (e.g. ``'GOT-10k'``).
        line_ok: whether a line is a well-formed entry.
        expected: what a line should be, for the message (e.g. ``'an index'``).

    Raises:
        ValueError: unknown split, or a line ``line_ok`` rejects (the message names the file and the line).
        FileNotFoundError: the split file is missing.
    """
    if split is not None and split not in split_files:
        raise ValueError(f"{owner}: unknown split {split!r}; choose one of {sorted(split_files)}")
    filename = split_files[split] if split is not None else ""
    lines = read_data_spec(filename, dataset, split_file)
    for number, line in enumerate(lines, start=1):
        if not line_ok(line):
            where = split_file if split_file is not None else filename
            raise ValueError(f"{owner}: split file {os.fspath(where)}, line {number}: {line!r} is not {expected}")
    return lines


def sample_fraction(items: Sequence, data_fraction: float | None, seed: int | None) -> list:
    """A random subset of ``int(len(items) * data_fraction)`` items (all items, in order, for ``None``).

    Args:
        items: the full list.
        data_fraction: fraction in (0, 1], or ``None``.
        seed: seed of the draw; ``None`` draws from the global :mod:`random` state (the original behaviour).

    Raises:
        ValueError: ``data_fraction`` outside (0, 1].
    """
    if data_fraction is None:
        return list(items)
    if not 0 < data_fraction <= 1:
        raise ValueError(f"data_fraction must lie in (0, 1], got {data_fraction}")
    rng = random if seed is None else random.Random(seed)
    return rng.sample(list(items), int(len(items) * data_fraction))


def load_boxes(path: PathLike) -> torch.Tensor:
    """Ground-truth boxes, one ``x,y,w,h`` line per frame (',' or whitespace separated; ``NaN`` allowed).

    Returns:
        Tensor of shape (N, 4), float32.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a malformed line (the message names the file and the line) or not 4 values per line.
    """
    boxes = load_text(path, delimiter=(",", None), dtype=np.float32)
    if boxes.shape[1] != 4:
        raise ValueError(f"'{os.fspath(path)}': expected 4 values per line (x, y, w, h), got {boxes.shape[1]}")
    return torch.from_numpy(np.ascontiguousarray(boxes))


def load_labels(path: PathLike, num_frames: int | None = None, gt_path: PathLike | None = None) -> np.ndarray:
    """Integer per-frame labels, one per line or all on one comma-separated line.

    Args:
        path: label file (GOT-10k ``absence.label``/``cover.label``, LaSOT ``full_occlusion.txt``, ...).
        num_frames: expected number of labels (the ground truth's length).
        gt_path: the ground-truth file, named in the length-mismatch message.

    Returns:
        Array of shape (N,), int64.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a malformed line (named), or a length differing from ``num_frames``.
    """
    labels = load_text(path, delimiter=(",", None), dtype=np.int64).reshape(-1)
    if num_frames is not None and len(labels) != num_frames:
        against = f" has {num_frames} frames ({os.fspath(gt_path)})" if gt_path is not None else f" has {num_frames}"
        raise ValueError(f"'{os.fspath(path)}': {len(labels)} labels, but the sequence{against}")
    return labels


def valid_boxes(bbox: torch.Tensor) -> torch.Tensor:
    """``(w > 0) & (h > 0)`` of (N, 4) ``[x, y, w, h]`` boxes, shape (N,), bool (False for NaN)."""
    return (bbox[:, 2] > 0) & (bbox[:, 3] > 0)


def frames_annotation(anno: dict[str, Any], frame_ids: Sequence[int]) -> dict[str, list]:
    """``{key: [value[f] for f in frame_ids]}`` of a sequence annotation (tensors are cloned)."""
    out = {}
    for key, value in anno.items():
        out[key] = [value[f, ...].clone() if isinstance(value, torch.Tensor) else value[f] for f in frame_ids]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Base class


class DatasetBase(torch.utils.data.Dataset):
    """What video and image datasets share: name, root, image loader, the capability flags and the class index.

    Subclasses count their items (sequences or images) in ``_count`` and override the flags that apply.

    Args:
        name: dataset name (:meth:`get_name`).
        root: dataset folder.
        image_loader: reads an image file as (H, W, 3) uint8 RGB; default: jpeg4py when usable, else OpenCV.
    """

    item_kind = "items"

    def __init__(self, name: str, root: PathLike | None, image_loader: ImageLoader = default_image_loader) -> None:
        self.name = name
        self.root = root
        self.image_loader = image_loader
        self.class_list: list[str] = []

    def __len__(self) -> int:
        """Number of items (sequences or images)."""
        return self._count()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.get_name()!r}, root={self.root!r}, {self.item_kind}={len(self)})"

    def _count(self) -> int:
        raise NotImplementedError

    def get_name(self) -> str:
        """Name of the dataset."""
        return self.name

    def is_video_sequence(self) -> bool:
        """Whether the items are videos (``False`` for images, also when served as 1-frame sequences)."""
        return False

    def is_synthetic_video_dataset(self) -> bool:
        """Whether the sequences are synthesised on the fly from single images (e.g. by affine warps)."""
        return False

    def is_mot_dataset(self) -> bool:
        """Whether an item annotates several objects."""
        return False

    def has_class_info(self) -> bool:
        """Whether the items have object classes (:meth:`get_class_list` and the per-class lookups)."""
        return False

    def has_occlusion_info(self) -> bool:
        """Whether ``'visible'`` comes from occlusion / absence annotations (not only from box validity)."""
        return False

    def has_segmentation_info(self) -> bool:
        """Whether target masks are available."""
        return False

    def get_num_classes(self) -> int:
        """Number of object classes."""
        return len(self.class_list)

    def get_class_list(self) -> list[str]:
        """Names of the object classes (empty without class information)."""
        return list(self.class_list)

    @staticmethod
    def _items_per_class(classes: Sequence[str | None]) -> dict[str, list[int]]:
        """Class name -> ids of the items of that class, from the class of each item (``None`` skipped)."""
        per_class: dict[str, list[int]] = {}
        for item_id, cls in enumerate(classes):
            if cls is not None:
                per_class.setdefault(cls, []).append(item_id)
        return per_class

    def _items_in_class(self, class_name: str, per_class: dict[str, list[int]]) -> list[int]:
        if not self.has_class_info():
            raise ValueError(f"{self.get_name()}: the dataset has no class information")
        if class_name not in per_class:
            raise KeyError(f"{self.get_name()}: unknown class {class_name!r}; classes: {sorted(per_class)}")
        return list(per_class[class_name])


class BaseVideoDataset(DatasetBase):
    """A collection of annotated sequences.

    Subclasses fill ``sequence_list`` (and, with class information, ``class_list`` and ``seq_per_class``) and
    implement :meth:`get_sequence_info` and either :meth:`_frame_path` (one image file per frame, read by the
    default :meth:`get_frames`) or :meth:`get_frames` itself.

    Args:
        name, root, image_loader: see :class:`DatasetBase`.
    """

    item_kind = "sequences"

    def __init__(self, name: str, root: PathLike | None, image_loader: ImageLoader = default_image_loader) -> None:
        super().__init__(name, root, image_loader)
        self.sequence_list: list = []
        self.seq_per_class: dict[str, list[int]] = {}

    def _count(self) -> int:
        return self.get_num_sequences()

    def is_video_sequence(self) -> bool:
        """Whether the sequences are videos (``False`` for image datasets served as 1-frame sequences)."""
        return True

    def get_num_sequences(self) -> int:
        """Number of sequences."""
        return len(self.sequence_list)

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        """Ids of the sequences whose object belongs to ``class_name``.

        Raises:
            ValueError: the dataset has no class information.
            KeyError: unknown class (the message lists the classes).
        """
        return self._items_in_class(class_name, self.seq_per_class)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """Annotation of a whole sequence (see the module docstring for the keys, shapes and types)."""
        raise NotImplementedError

    def get_class_name(self, seq_id: int) -> str | None:
        """Object class of sequence ``seq_id``; ``None`` here, datasets with class information override it."""
        return None

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        """The :func:`object_meta` of sequence ``seq_id``'s object: its class name (:meth:`get_class_name`)."""
        return object_meta(object_class_name=self.get_class_name(seq_id))

    def get_frames(
        self, seq_id: int, frame_ids: Sequence[int], anno: dict[str, Any] | None = None
    ) -> tuple[list[np.ndarray], dict[str, list], OrderedDict]:
        """Images, annotation and object meta data of some frames of a sequence.

        This default reads each frame from :meth:`_frame_path` with ``image_loader`` and takes the meta data from
        :meth:`get_meta_info`.

        Args:
            seq_id: sequence id (index into ``sequence_list``).
            frame_ids: 0-based frame indices (repeats allowed).
            anno: the sequence's :meth:`get_sequence_info`, to avoid reading it again.

        Returns:
            ``(frames, frame_anno, meta)``: a list of (H, W, 3) uint8 RGB arrays, ``{key: [value per frame]}`` and
            the :func:`object_meta` of the sequence's object.
        """
        frames = [self.image_loader(self._frame_path(seq_id, f)) for f in frame_ids]
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        return frames, frames_annotation(anno, frame_ids), self.get_meta_info(seq_id)

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        """Image file of frame ``frame_id`` (0-based) of sequence ``seq_id``, for the default :meth:`get_frames`."""
        raise NotImplementedError

    # ---- helpers -------------------------------------------------------------------------------------------------

    def _build_seq_per_class(self, classes: Sequence[str | None]) -> None:
        """Fill ``seq_per_class`` and the sorted ``class_list`` from the class of each sequence (``None`` skipped)."""
        self.seq_per_class = self._items_per_class(classes)
        self.class_list = sorted(self.seq_per_class)
