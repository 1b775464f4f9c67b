"""The embedded synthetic tracking benchmark as a training dataset (default split ``synthetic_train``).

The sequences are rendered by :mod:`pytracking.evaluation.synthetic` into a cache folder on first use (see
:func:`pytracking.evaluation.synthetic.layout.ensure_split`), in a GOT-10k-like layout::

    <root>/<split>/list.txt                 sequence names
    <root>/<split>/<seq>/img/000001.jpg     frames, 1-based
    <root>/<split>/<seq>/masks/000001.png   indexed PNG: 0 background, 1 target (its visible pixels)
    <root>/<split>/<seq>/groundtruth.txt    x,y,w,h (tight box of the mask; 0,0,0,0 when absent)
    <root>/<split>/<seq>/absence.label      1 where the target is absent
    <root>/<split>/<seq>/cover.label        visible-ratio level 0..8
    <root>/<split>/<seq>/info.json          generation details (target shape, ...)

So the boxes, visibility and masks are exact and equal to what the evaluation side
(:class:`pytracking.evaluation.syntheticdataset.SyntheticDataset`) reads. The object class is the target's shape
(``'ellipse'``, ``'polygon'`` or ``'rounded_rect'``).
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ltr.data.image_loader import default_image_loader, imread_indexed
from ltr.dataset.base_video_dataset import (
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    sample_fraction,
)
from ltr.dataset.got10k import load_got10k_annotation

__all__ = ["SyntheticTracking"]


class SyntheticTracking(BaseVideoDataset):
    """Sequences of a synthetic benchmark split, with boxes, visibility, visible ratios and masks.

    Args:
        root: cache folder holding ``<split>/``; default that of the evaluation side (``$PYTRACKING_SYNTHETIC_PATH``,
            the ``synthetic_path`` setting of ``pytracking/evaluation/local.py``, or ``~/.cache/pytracking/synthetic``).
        image_loader: reads a frame as (H, W, 3) uint8 RGB.
        split: ``'synthetic_train'`` (training) or ``'synthetic'`` (the evaluation split).
        seq_ids: indices into the split's ``list.txt``; default all sequences.
        data_fraction: keep a random fraction of the sequences.
        generate: render the split when it is missing or stale; with ``False`` an existing ``<root>/<split>`` is
            read as it is.
        seed: seed of the ``data_fraction`` draw (``None``: the global :mod:`random` state).
        **params: generation parameters passed to ``ensure_split`` (``num_sequences``, ``width``, ``min_frames``,
            ``num_workers``, ...); the cache is keyed on them.

    Raises:
        FileNotFoundError: ``generate=False`` and the split is not there.
        ValueError: a sequence index outside the split.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        image_loader: ImageLoader = default_image_loader,
        split: str = "synthetic_train",
        seq_ids: Sequence[int] | None = None,
        data_fraction: float | None = None,
        generate: bool = True,
        seed: int | None = 0,
        **params: Any,
    ) -> None:
        # Imported here: the generator pulls in OpenCV and the evaluation package, needed only by this dataset.
        from pytracking.evaluation.synthetic.layout import (
            default_root,
            ensure_split,
            read_manifest,
            read_sequence_names,
        )

        cache_root = Path(root) if root is not None else default_root()
        if generate:
            split_dir = ensure_split(split, cache_root, **params)
        else:
            split_dir = cache_root / split
            if not (split_dir / "list.txt").is_file():
                raise FileNotFoundError(
                    f"Synthetic split {split!r} not found at {os.fspath(split_dir)} (no list.txt); create it with "
                    f"generate=True"
                )
        super().__init__(split, split_dir, image_loader)
        self.split = split
        manifest = read_manifest(split_dir) or {}
        self.image_format = (manifest.get("params") or {}).get("image_format", "jpg")

        names = read_sequence_names(split_dir)
        if seq_ids is not None:
            seq_ids = list(seq_ids)
            bad = [i for i in seq_ids if not 0 <= i < len(names)]
            if bad:
                raise ValueError(f"SyntheticTracking: index {bad[0]} outside the split ({len(names)} sequences)")
            names = [names[i] for i in seq_ids]
        self.sequence_list = sample_fraction(names, data_fraction, seed)
        self._info = {name: json.loads((split_dir / name / "info.json").read_text()) for name in self.sequence_list}
        self._build_seq_per_class([self._info[n].get("shape") for n in self.sequence_list])

    # ---- API ---------------------------------------------------------------------------------------------------

    def has_class_info(self) -> bool:
        return True

    def has_occlusion_info(self) -> bool:
        return True

    def has_segmentation_info(self) -> bool:
        return True

    def get_class_name(self, seq_id: int) -> str | None:
        """Target shape of sequence ``seq_id``."""
        return self._info[self.sequence_list[seq_id]].get("shape")

    def _sequence_path(self, seq_id: int) -> Path:
        return Path(self.root) / self.sequence_list[seq_id]

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (N, 4) float32, 'valid', 'visible': (N,) bool, 'visible_ratio': (N,) float32}``.

        Masks are not read here (N images); :meth:`get_frames` adds them for the requested frames. A frame is
        visible when the target is not absent and its box is valid (the cover level is not consulted).
        """
        return load_got10k_annotation(self._sequence_path(seq_id), cover_zero_hides=False)

    def get_masks(self, seq_id: int, frame_ids: Sequence[int]) -> list[torch.Tensor]:
        """Target masks of some frames, each (H, W) float32 in {0, 1}."""
        seq_path = self._sequence_path(seq_id)
        masks = []
        for f in frame_ids:
            labels, _ = imread_indexed(seq_path / "masks" / f"{f + 1:06d}.png")
            masks.append(torch.from_numpy((labels == 1).astype(np.float32)))
        return masks

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        return os.fspath(self._sequence_path(seq_id) / "img" / f"{frame_id + 1:06d}.{self.image_format}")

    def get_frames(
        self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None
    ) -> tuple[list[np.ndarray], dict[str, list], OrderedDict]:
        """Frames, their annotation (with ``'mask'``: (H, W) float32 per frame) and the object meta data."""
        frames, frame_anno, meta = super().get_frames(seq_id, frame_ids, anno)
        if "mask" not in frame_anno:
            frame_anno["mask"] = self.get_masks(seq_id, frame_ids)
        return frames, frame_anno, meta
