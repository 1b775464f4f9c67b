"""GOT-10k: ``test`` and ``val`` splits, and ``ltrval`` (the validation subset carved out of ``train``).

Layout: ``{got10k_path}/<split>/list.txt`` (sequence names), ``<split>/<seq>/groundtruth.txt`` (','; the test split
holds only the first row) and frames ``<split>/<seq>/*.jpg`` sorted numerically. ``ltrval`` reads ``train/`` and keeps
the sequences whose 0-based indices into ``train/list.txt`` are listed in a split file (default
``{dataspec_path}/got10k_val_split.txt``).

VOS mode (``vos_mode=True``, dataset ``got10kvos_val``) adds the first-frame mask
``{got10k_mask_path}/<seq>/<first frame stem>.png`` as initialisation.

Reference: Huang, Zhao, Huang, "GOT-10k: A Large High-Diversity Benchmark for Generic Object Tracking in the Wild",
TPAMI 2019.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, list_frames, load_boxes
from pytracking.evaluation.environment import EnvSettings

__all__ = ["GOT10KDataset"]

_SPLITS = ("test", "val", "ltrval")


class GOT10KDataset(BaseDataset):
    """GOT-10k (``got10k_path``).

    Args:
        split: ``'test'``, ``'val'`` or ``'ltrval'``.
        split_file: for ``'ltrval'``: file of 0-based indices into ``train/list.txt`` (one per line).
        vos_mode: add the first-frame mask from ``got10k_mask_path`` (or ``mask_root``) as initialisation.
        mask_root: mask folder overriding the ``got10k_mask_path`` setting.
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "got10k"
    path_attr = "got10k_path"

    def __init__(
        self,
        split: str = "test",
        split_file: str | os.PathLike | None = None,
        vos_mode: bool = False,
        mask_root: str | os.PathLike | None = None,
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
    ) -> None:
        if split not in _SPLITS:
            raise ValueError(f"GOT10KDataset: unknown split {split!r}; choose one of {_SPLITS}")
        super().__init__(root=root, env=env)
        self.split = split
        self.split_path = Path(self.base_path) / ("train" if split == "ltrval" else split)
        self.split_file = split_file
        self.vos_mode = vos_mode
        self.mask_path = self._root_from("got10k_mask_path", mask_root, "mask folder") if vos_mode else None
        self._names: list[str] | None = None

    def sequence_names(self) -> list[str]:
        if self._names is None:
            list_file = self.split_path / "list.txt"
            if not list_file.is_file():
                raise FileNotFoundError(f"Dataset {self.name!r}: sequence list not found: {os.fspath(list_file)}")
            names = [ln.strip() for ln in list_file.read_text().splitlines() if ln.strip()]
            if self.split == "ltrval":
                split_file = self.split_file
                if split_file is None:
                    split_file = self._root_from("dataspec_path", None, "data-spec folder") / "got10k_val_split.txt"
                if not Path(split_file).is_file():
                    raise FileNotFoundError(f"Dataset {self.name!r}: split file not found: {os.fspath(split_file)}")
                indices = [int(t) for t in Path(split_file).read_text().split()]
                names = [names[i] for i in indices]
            self._names = names
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        seq_dir = self.split_path / name
        context = f"{self.name} sequence {name!r}"
        gt = lazy(lambda: load_boxes(seq_dir / "groundtruth.txt", f"{context}: ground-truth file")[:, :4])
        frames = lazy(lambda: list_frames(seq_dir, f"{context}: frame folder", (".jpg", ".jpeg")))
        init_data = None
        if self.vos_mode:

            def init_data() -> dict:
                stem = os.path.splitext(os.path.basename(frames()[0]))[0]
                return {0: {"bbox": gt()[0], "mask": os.path.join(self.mask_path, name, f"{stem}.png")}}

        return Sequence(name, frames, self.name, gt, init_data=init_data)
