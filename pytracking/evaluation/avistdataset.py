"""AVisT (120 sequences in adverse visibility).

Layout: ``{avist_path}/anno/<seq>.txt`` (space- or comma-delimited boxes), ``full_occlusion/<seq>_full_occlusion.txt``
and ``out_of_view/<seq>_out_of_view.txt`` (0/1 flags), frames ``sequences/<seq>/img_{i:05d}.jpg`` for ``i = 1..N``
with N the number of ground-truth rows. ``target_visible = (full_occlusion == 0) & (out_of_view == 0)``.

Reference: Noman et al., "AVisT: A Benchmark for Visual Object Tracking in Adverse Visibility", BMVC 2022.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, load_boxes, read_name_list

__all__ = ["AVisTDataset"]


class AVisTDataset(BaseDataset):
    """AVisT (``avist_path``), names in ``dataset_tables/avist.txt``."""

    name = "avist"
    path_attr = "avist_path"

    def sequence_names(self) -> list[str]:
        return list(read_name_list("avist.txt"))

    def _construct_sequence(self, name: str) -> Sequence:
        root = Path(self.base_path)
        context = f"{self.name} sequence {name!r}"
        anno = root / "anno" / f"{name}.txt"
        gt = lazy(lambda: load_boxes(anno, f"{context}: ground-truth file", (None, ","))[:, :4])

        def visible() -> np.ndarray:
            occ = load_boxes(root / "full_occlusion" / f"{name}_full_occlusion.txt", f"{context}: occlusion file")
            oov = load_boxes(root / "out_of_view" / f"{name}_out_of_view.txt", f"{context}: out-of-view file")
            return (occ.reshape(-1) == 0) & (oov.reshape(-1) == 0)

        def frames() -> list[str]:
            folder = root / "sequences" / name
            return [os.path.join(folder, f"img_{i:05d}.jpg") for i in range(1, gt().shape[0] + 1)]

        return Sequence(name, frames, self.name, gt, target_visible=visible)
