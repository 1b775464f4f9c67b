"""VOT2018 short-term (60 sequences), read as a one-pass (OPE) benchmark.

Layout: ``{vot_path}/<seq>/groundtruth.txt`` and frames ``{vot_path}/<seq>/color/{i:08d}.jpg`` (VOT2017+) or
``{vot_path}/<seq>/{i:08d}.jpg`` (VOT2013-2016), ``i = 1..N`` with N the number of ground-truth rows. Rows of 8
values (rotated polygons ``x1, y1, ..., x4, y4``) become their axis-aligned min/max box
(:func:`pytracking.utils.box_ops.polygon_to_xywh`, mode ``'union'``); rows of 4 values are kept.

Reference: Kristan et al., "The sixth Visual Object Tracking VOT2018 challenge results", ECCVW 2018.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, load_boxes, read_name_list
from pytracking.evaluation.environment import EnvSettings

__all__ = ["VOTDataset"]


class VOTDataset(BaseDataset):
    """VOT2018 (``vot_path``).

    Args:
        sequences: names to use instead of the VOT2018 list (e.g. another VOT edition in the same layout).
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "vot"
    path_attr = "vot_path"

    def __init__(
        self,
        sequences: list[str] | None = None,
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
    ) -> None:
        super().__init__(root=root, env=env)
        self._names = list(sequences) if sequences is not None else list(read_name_list("vot2018.txt"))

    def sequence_names(self) -> list[str]:
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        seq_dir = Path(self.base_path) / name
        context = f"{self.name} sequence {name!r}: ground-truth file"

        @lazy
        def ground_truth() -> np.ndarray:
            from pytracking.utils.box_ops import polygon_to_xywh  # imports torch: only when data is read

            gt = load_boxes(seq_dir / "groundtruth.txt", context)
            if gt.shape[1] not in (4, 8):
                raise ValueError(f"{context} {seq_dir / 'groundtruth.txt'}: expected 4 or 8 values per row")
            return np.asarray(polygon_to_xywh(gt, mode="union"), dtype=np.float64)

        def frames() -> list[str]:
            img_dir = seq_dir / "color" if (seq_dir / "color").is_dir() else seq_dir
            return [os.path.join(img_dir, f"{i:08d}.jpg") for i in range(1, ground_truth().shape[0] + 1)]

        return Sequence(name, frames, self.name, ground_truth)
