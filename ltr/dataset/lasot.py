"""LaSOT training dataset.

Layout under ``lasot_dir``::

    <class>/<class>-<n>/groundtruth.txt      x,y,w,h per frame (',')
    <class>/<class>-<n>/full_occlusion.txt   one line: 0/1 per frame (',')
    <class>/<class>-<n>/out_of_view.txt      one line: 0/1 per frame (',')
    <class>/<class>-<n>/img/00000001.jpg     frames, 1-based

A frame is visible when it is neither fully occluded nor out of view and its box is valid.

Reference: Fan et al., "LaSOT: A High-quality Benchmark for Large-scale Single Object Tracking", CVPR 2019.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import (
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    load_boxes,
    load_labels,
    read_split,
    resolve_root,
    sample_fraction,
    valid_boxes,
)

__all__ = ["Lasot"]

_LAYOUT = "one folder per class, <class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/}"
_SPLIT_FILES = {"train": "lasot_train_split.txt"}


class Lasot(BaseVideoDataset):
    """LaSOT sequences selected by a split or by video numbers.

    Args:
        root: dataset folder; default the ``lasot_dir`` setting.
        image_loader: reads a frame as (H, W, 3) uint8 RGB.
        vid_ids: video numbers to take from every class folder, e.g. ``[1, 2, 3]`` gives ``airplane-1``, ...
        split: ``'train'`` (the 1120 training videos listed in ``ltr/data_specs/lasot_train_split.txt``).
        data_fraction: keep a random fraction of the sequences.
        split_file: file of sequence names (``<class>-<n>``, one per line) used instead of ``split``'s file.
        seed: seed of the ``data_fraction`` draw (``None``: the global :mod:`random` state).

    Raises:
        ValueError: neither or both of ``split``/``split_file`` and ``vid_ids`` given, or an unknown split.
        FileNotFoundError: the dataset folder or the split file is missing.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        image_loader: ImageLoader = default_image_loader,
        vid_ids: Sequence[int] | None = None,
        split: str | None = None,
        data_fraction: float | None = None,
        split_file: PathLike | None = None,
        seed: int | None = 0,
    ) -> None:
        root = resolve_root("LaSOT", "lasot_dir", root, _LAYOUT)
        super().__init__("lasot", root, image_loader)

        # Class folders (a stray file next to them is not a class); vid_ids enumerates them.
        folders = sorted(p.name for p in root.iterdir() if p.is_dir())
        self.class_list = folders
        names = self._build_sequence_list(vid_ids, split, split_file)
        self.sequence_list = sample_fraction(names, data_fraction, seed)
        self._build_seq_per_class([self._split_name(n)[0] for n in self.sequence_list])
        # Keep every class folder in the class list, as the original does (also classes without a selected video).
        self.class_list = sorted(set(folders) | set(self.seq_per_class))
        self.class_to_id = {name: i for i, name in enumerate(self.class_list)}

    def _build_sequence_list(
        self, vid_ids: Sequence[int] | None, split: str | None, split_file: PathLike | None
    ) -> list[str]:
        if (split is not None or split_file is not None) and vid_ids is not None:
            raise ValueError("Lasot: give either split (or split_file) or vid_ids, not both")
        if split_file is not None or split is not None:
            return read_split(
                split,
                split_file,
                split_files=_SPLIT_FILES,
                owner="Lasot",
                dataset="LaSOT",
                line_ok=lambda name: "-" in name,
                expected="class-n",
            )
        if vid_ids is not None:
            return [f"{cls}-{v}" for cls in self.class_list for v in vid_ids]
        raise ValueError("Lasot: set either split or vid_ids")

    @staticmethod
    def _split_name(name: str) -> tuple[str, str]:
        cls, _, number = name.rpartition("-")
        return cls, number

    # ---- API ---------------------------------------------------------------------------------------------------

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def _sequence_path(self, seq_id: int) -> Path:
        cls, number = self._split_name(self.sequence_list[seq_id])
        return Path(self.root) / cls / f"{cls}-{number}"

    def get_class_name(self, seq_id: int) -> str:
        """Class of sequence ``seq_id``."""
        return self._split_name(self.sequence_list[seq_id])[0]

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (N, 4) float32, 'valid': (N,) bool, 'visible': (N,) bool}``."""
        seq_path = self._sequence_path(seq_id)
        gt_path = seq_path / "groundtruth.txt"
        bbox = load_boxes(gt_path)
        valid = valid_boxes(bbox)
        n = len(bbox)
        occlusion = load_labels(seq_path / "full_occlusion.txt", n, gt_path)
        out_of_view = load_labels(seq_path / "out_of_view.txt", n, gt_path)
        visible = torch.from_numpy((occlusion == 0) & (out_of_view == 0)) & valid
        return {"bbox": bbox, "valid": valid, "visible": visible}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.fspath(self._sequence_path(seq_id) / "img" / f"{frame_id + 1:08d}.jpg")
