"""TrackingNet test set (511 sequences).

Layout: ``{trackingnet_path}/TEST/anno/<seq>.txt`` (','; the test annotations hold only the first box) and frames
``TEST/frames/<seq>/<i>.jpg`` sorted numerically (``10.jpg`` after ``9.jpg``). Sequence names are the annotation
files' stems.

VOS mode (``vos_mode=True``, dataset ``trackingnetvos``) adds the first-frame mask
``{trackingnet_mask_path}/<seq>/<first frame stem>.png`` as initialisation.

Reference: Mueller et al., "TrackingNet: A Large-Scale Dataset and Benchmark for Object Tracking in the Wild",
ECCV 2018.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, list_frames, load_boxes
from pytracking.evaluation.environment import EnvSettings

__all__ = ["TrackingNetDataset"]


class TrackingNetDataset(BaseDataset):
    """TrackingNet (``trackingnet_path``).

    Args:
        sets: sub-folders to read (default ``('TEST',)``; ``'TRAIN_0'``.. work the same way).
        vos_mode: add the first-frame mask from ``trackingnet_mask_path`` (or ``mask_root``) as initialisation.
        mask_root: mask folder overriding the ``trackingnet_mask_path`` setting.
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "trackingnet"
    path_attr = "trackingnet_path"

    def __init__(
        self,
        sets: tuple[str, ...] | list[str] = ("TEST",),
        vos_mode: bool = False,
        mask_root: str | os.PathLike | None = None,
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
    ) -> None:
        super().__init__(root=root, env=env)
        self.sets = tuple(sets)
        self.vos_mode = vos_mode
        self.mask_path = self._root_from("trackingnet_mask_path", mask_root, "mask folder") if vos_mode else None
        self._index: dict[str, str] | None = None

    def _set_of(self) -> dict[str, str]:
        if self._index is None:
            index = {}
            for set_name in self.sets:
                anno_dir = Path(self.base_path) / set_name / "anno"
                if not anno_dir.is_dir():
                    raise FileNotFoundError(f"Dataset {self.name!r}: annotation folder not found: {anno_dir}")
                for fname in sorted(os.listdir(anno_dir)):
                    if fname.endswith(".txt"):
                        index[fname[:-4]] = set_name
            self._index = index
        return self._index

    def sequence_names(self) -> list[str]:
        return list(self._set_of())

    def _construct_sequence(self, name: str) -> Sequence:
        set_dir = Path(self.base_path) / self._set_of()[name]
        context = f"{self.name} sequence {name!r}"
        gt = lazy(lambda: load_boxes(set_dir / "anno" / f"{name}.txt", f"{context}: ground-truth file")[:, :4])
        frames = lazy(lambda: list_frames(set_dir / "frames" / name, f"{context}: frame folder", (".jpg", ".jpeg")))
        init_data = None
        if self.vos_mode:

            def init_data() -> dict:
                stem = os.path.splitext(os.path.basename(frames()[0]))[0]
                return {0: {"bbox": gt()[0], "mask": os.path.join(self.mask_path, name, f"{stem}.png")}}

        return Sequence(name, frames, self.name, gt, init_data=init_data)
