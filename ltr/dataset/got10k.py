"""GOT-10k training dataset (the ``train`` folder).

Layout under ``got10k_dir`` (GOT-10k's ``train`` folder)::

    list.txt                     sequence names, one per line (GOT-10k_Train_000001, ...)
    <seq>/groundtruth.txt        x,y,w,h per frame (',')
    <seq>/absence.label          1 where the target is absent, else 0; one per line
    <seq>/cover.label            visible-ratio level 0..8 per line (0: fully hidden, 8: fully visible)
    <seq>/meta_info.ini          'key: value' lines (object_class, motion_class, major_class, root_class,
                                 motion_adverb, ...)
    <seq>/00000001.jpg           frames, 1-based

A frame is visible when the target is not absent, its cover level is > 0 and its box is valid;
``visible_ratio = cover / 8``. Splits are 0-based indices into ``list.txt`` (``ltr/data_specs``).

Reference: Huang, Zhao, Huang, "GOT-10k: A Large High-Diversity Benchmark for Generic Object Tracking in the Wild",
TPAMI 2019.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import (
    OBJECT_META_KEYS,
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    load_boxes,
    load_labels,
    object_meta,
    read_split,
    resolve_root,
    sample_fraction,
    valid_boxes,
)

__all__ = ["Got10k", "load_got10k_annotation", "read_meta_info"]

_LAYOUT = (
    "GOT-10k's train split: list.txt and one folder per sequence (groundtruth.txt, absence.label, cover.label, *.jpg)"
)
_SPLIT_FILES = {
    "train": "got10k_train_split.txt",
    "val": "got10k_val_split.txt",
    "vottrain": "got10k_vot_train_split.txt",
    "votval": "got10k_vot_val_split.txt",
}


def read_meta_info(path: PathLike) -> OrderedDict:
    """The object meta data of a GOT-10k ``meta_info.ini`` (all ``None`` when the file is missing).

    Returns:
        :func:`~ltr.dataset.base_video_dataset.object_meta` with the values of the ``object_class``,
        ``motion_class``, ``major_class``, ``root_class`` and ``motion_adverb`` lines.
    """
    values: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return object_meta()
    wanted = {key.removesuffix("_name"): key for key in OBJECT_META_KEYS}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key in wanted:
            values[wanted[key]] = value.strip()
    return object_meta(**values)


def load_got10k_annotation(seq_path: PathLike, *, cover_zero_hides: bool = True) -> dict[str, torch.Tensor]:
    """The annotation of a sequence folder in GOT-10k's layout (``groundtruth.txt``, ``absence.label``,
    ``cover.label``).

    Args:
        seq_path: the sequence folder.
        cover_zero_hides: a frame with cover level 0 is not visible (GOT-10k: level 0 means fully occluded).

    Returns:
        ``{'bbox': (N, 4) float32, 'valid', 'visible': (N,) bool, 'visible_ratio': (N,) float32}``: visible where
        the target is not absent (and the cover level is > 0 with ``cover_zero_hides``) and the box is valid;
        ``visible_ratio = cover / 8``.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a malformed line, or label files whose length differs from the ground truth's.
    """
    seq_path = Path(seq_path)
    gt_path = seq_path / "groundtruth.txt"
    bbox = load_boxes(gt_path)
    valid = valid_boxes(bbox)
    absence = load_labels(seq_path / "absence.label", len(bbox), gt_path)
    cover = load_labels(seq_path / "cover.label", len(bbox), gt_path)
    present = (absence == 0) & (cover > 0) if cover_zero_hides else absence == 0
    visible_ratio = torch.from_numpy(cover.astype(np.float32) / 8)
    return {"bbox": bbox, "valid": valid, "visible": torch.from_numpy(present) & valid, "visible_ratio": visible_ratio}


class Got10k(BaseVideoDataset):
    """GOT-10k training sequences, all or a split.

    Args:
        root: GOT-10k's ``train`` folder; default the ``got10k_dir`` setting.
        image_loader: reads a frame as (H, W, 3) uint8 RGB.
        split: ``'train'`` (7934), ``'val'`` (1401), ``'vottrain'`` (7086) or ``'votval'`` (1249): the index lists
            in ``ltr/data_specs`` (the ``vot*`` ones leave out the sequences that overlap with VOT).
        seq_ids: 0-based indices into ``list.txt`` (instead of a split); default all sequences.
        data_fraction: keep a random fraction of the sequences.
        split_file: file of 0-based indices (one per line) used instead of ``split``'s file.
        seed: seed of the ``data_fraction`` draw (``None``: the global :mod:`random` state).

    Raises:
        ValueError: both a split and ``seq_ids``, an unknown split, or an index outside ``list.txt``.
        FileNotFoundError: the dataset folder, ``list.txt`` or the split file is missing.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        image_loader: ImageLoader = default_image_loader,
        split: str | None = None,
        seq_ids: Sequence[int] | None = None,
        data_fraction: float | None = None,
        split_file: PathLike | None = None,
        seed: int | None = 0,
    ) -> None:
        root = resolve_root("GOT-10k", "got10k_dir", root, _LAYOUT)
        super().__init__("got10k", root, image_loader)

        all_names = self._read_list(root)
        if split is not None or split_file is not None:
            if seq_ids is not None:
                raise ValueError("Got10k: give either split (or split_file) or seq_ids, not both")
            seq_ids = self._read_split(split, split_file)
        elif seq_ids is None:
            seq_ids = range(len(all_names))
        seq_ids = list(seq_ids)
        bad = [i for i in seq_ids if not 0 <= i < len(all_names)]
        if bad:
            raise ValueError(
                f"Got10k: sequence index {bad[0]} is outside list.txt ({len(all_names)} sequences in "
                f"{os.fspath(root / 'list.txt')}); is got10k_dir GOT-10k's full train folder?"
            )
        names = [all_names[i] for i in seq_ids]
        self.sequence_list = sample_fraction(names, data_fraction, seed)

        self.sequence_meta_info = {name: read_meta_info(root / name / "meta_info.ini") for name in self.sequence_list}
        self._build_seq_per_class([self.sequence_meta_info[n]["object_class_name"] for n in self.sequence_list])

    @staticmethod
    def _read_list(root: Path) -> list[str]:
        path = root / "list.txt"
        if not path.is_file():
            raise FileNotFoundError(
                f"GOT-10k: sequence list {os.fspath(path)} not found; got10k_dir must be GOT-10k's train folder "
                f"({_LAYOUT})"
            )
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]

    @staticmethod
    def _read_split(split: str | None, split_file: PathLike | None) -> list[int]:
        lines = read_split(
            split,
            split_file,
            split_files=_SPLIT_FILES,
            owner="Got10k",
            dataset="GOT-10k",
            line_ok=str.isdigit,
            expected="an index",
        )
        return [int(token) for token in lines]

    # ---- API ---------------------------------------------------------------------------------------------------

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def _sequence_path(self, seq_id: int) -> Path:
        return Path(self.root) / self.sequence_list[seq_id]

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (N, 4) float32, 'valid', 'visible': (N,) bool, 'visible_ratio': (N,) float32}``."""
        return load_got10k_annotation(self._sequence_path(seq_id))

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        """The object meta data of sequence ``seq_id`` (from its ``meta_info.ini``)."""
        return OrderedDict(self.sequence_meta_info[self.sequence_list[seq_id]])

    def get_class_name(self, seq_id: int) -> str | None:
        """Object class of sequence ``seq_id`` (``None`` without meta data)."""
        return self.sequence_meta_info[self.sequence_list[seq_id]]["object_class_name"]

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.fspath(self._sequence_path(seq_id) / f"{frame_id + 1:08d}.jpg")
