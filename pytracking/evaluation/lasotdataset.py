"""LaSOT: test set (protocol II, 280 sequences) and training sequences.

Layout: ``{lasot_path}/<class>/<class>-<n>/groundtruth.txt`` (','), ``full_occlusion.txt`` and
``out_of_view.txt`` (one comma-separated row of 0/1 per file), frames ``img/{i:08d}.jpg`` for ``i = 1..N`` with N the
number of ground-truth rows. ``target_visible = (full_occlusion == 0) & (out_of_view == 0)``; the object class is
the name before the last ``-``.

VOS mode (``vos_mode=True``, dataset ``lasotvos``) adds the first-frame mask
``{lasot_mask_path}/<seq>/<first frame stem>.png`` as initialisation.

Reference: Fan et al., "LaSOT: A High-quality Benchmark for Large-scale Single Object Tracking", CVPR 2019.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, load_boxes, read_name_list
from pytracking.evaluation.environment import EnvSettings

__all__ = ["LaSOTDataset", "LaSOTTrainSequencesDataset", "LaSOTStyleDataset"]


class LaSOTStyleDataset(BaseDataset):
    """Sequences in the LaSOT layout, names given by ``_names`` (see the module docstring)."""

    _names: list[str]

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
        vos_mode: bool = False,
        mask_root: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(root=root, env=env)
        self.vos_mode = vos_mode
        self.mask_path = self._root_from("lasot_mask_path", mask_root, "mask folder") if vos_mode else None

    def sequence_names(self) -> list[str]:
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        object_class = name.rsplit("-", 1)[0]
        seq_dir = Path(self.base_path) / object_class / name
        context = f"{self.name} sequence {name!r}"

        gt = lazy(lambda: load_boxes(seq_dir / "groundtruth.txt", f"{context}: ground-truth file")[:, :4])

        def visible() -> np.ndarray:
            occ = load_boxes(seq_dir / "full_occlusion.txt", f"{context}: occlusion file").reshape(-1)
            oov = load_boxes(seq_dir / "out_of_view.txt", f"{context}: out-of-view file").reshape(-1)
            return (occ == 0) & (oov == 0)

        def frames() -> list[str]:
            return [os.path.join(seq_dir, "img", f"{i:08d}.jpg") for i in range(1, gt().shape[0] + 1)]

        init_data = None
        if self.vos_mode:
            mask = os.path.join(self.mask_path, name, "00000001.png")

            def init_data() -> dict:
                return {0: {"bbox": gt()[0], "mask": mask}}

        return Sequence(
            name, frames, self.name, gt, object_class=object_class, target_visible=visible, init_data=init_data
        )


class LaSOTDataset(LaSOTStyleDataset):
    """LaSOT test set (``lasot_path``), 280 sequences (``dataset_tables/lasot_test.txt``).

    Args:
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
        vos_mode: add the first-frame mask from ``lasot_mask_path`` (or ``mask_root``) as initialisation.
        mask_root: mask folder overriding the ``lasot_mask_path`` setting.
    """

    name = "lasot"
    path_attr = "lasot_path"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._names = list(read_name_list("lasot_test.txt"))


class LaSOTTrainSequencesDataset(LaSOTStyleDataset):
    """LaSOT training sequences (``lasot_path``).

    The list of the 1120 training names is not shipped with this package: pass ``split_file`` (one name per line,
    e.g. the original's ``lasot_train_split.txt``), or put ``lasot_train_split.txt`` under the ``dataspec_path``
    setting.

    Args:
        split_file: text file with one sequence name per line.
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "lasot_train"
    path_attr = "lasot_path"

    def __init__(
        self,
        split_file: str | os.PathLike | None = None,
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
    ) -> None:
        super().__init__(root=root, env=env)
        if split_file is None:
            split_file = self._root_from("dataspec_path", None, "data-spec folder") / "lasot_train_split.txt"
        split_file = Path(split_file)
        if not split_file.is_file():
            raise FileNotFoundError(f"Dataset {self.name!r}: sequence list file not found: {os.fspath(split_file)}")
        self._names = [ln.strip() for ln in split_file.read_text().splitlines() if ln.strip()]
