"""Temple-Color-128 (TPL): 129 sequences, ``tpl_<Name>/img/{:04d}.jpg``, ground truth ``tpl_<Name>/<Name>_gt.txt``
(',' or whitespace). ``exclude_otb=True`` drops the 44 sequences shared with OTB (85 remain).

Reference: Liang, Blasch, Ling, "Encoding Color Information for Visual Tracking", TIP 2015.
"""

from __future__ import annotations

import os

from pytracking.evaluation.data import read_name_list
from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.otbdataset import TableDataset

__all__ = ["TPLDataset"]


class TPLDataset(TableDataset):
    """TPL (``tpl_path``).

    Args:
        exclude_otb: drop the sequences that also belong to OTB (``dataset_tables/tpl_otb_overlap.txt``).
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "tpl"
    path_attr = "tpl_path"
    table_file = "tpl.csv"

    def __init__(
        self, exclude_otb: bool = False, root: str | os.PathLike | None = None, env: EnvSettings | None = None
    ) -> None:
        super().__init__(root=root, env=env)
        self.exclude_otb = exclude_otb

    def sequence_names(self) -> list[str]:
        names = super().sequence_names()
        if self.exclude_otb:
            excluded = set(read_name_list("tpl_otb_overlap.txt"))
            names = [n for n in names if n not in excluded]
        return names
