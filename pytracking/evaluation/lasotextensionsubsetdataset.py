"""LaSOT extension subset (LaSOT_ext): 150 sequences of 15 new classes, in the LaSOT layout
(see :mod:`pytracking.evaluation.lasotdataset`) under ``lasot_extension_subset_path``.

Reference: Fan et al., "LaSOT: A High-quality Large-scale Single Object Tracking Benchmark", IJCV 2021.
"""

from __future__ import annotations

import os

from pytracking.evaluation.data import read_name_list
from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.lasotdataset import LaSOTStyleDataset

__all__ = ["LaSOTExtensionSubsetDataset"]


class LaSOTExtensionSubsetDataset(LaSOTStyleDataset):
    """LaSOT extension subset (``lasot_extension_subset_path``), names in
    ``dataset_tables/lasot_extension_subset.txt``."""

    name = "lasot_extension_subset"
    path_attr = "lasot_extension_subset_path"

    def __init__(self, root: str | os.PathLike | None = None, env: EnvSettings | None = None) -> None:
        super().__init__(root=root, env=env)
        self._names = list(read_name_list("lasot_extension_subset.txt"))
