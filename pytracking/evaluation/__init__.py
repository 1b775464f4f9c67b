"""Evaluation: settings, sequences and datasets, running trackers over benchmarks.

``Tracker``, ``trackerlist`` and ``run_dataset`` are loaded on first access, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from pytracking.evaluation.data import BaseDataset, Sequence, SequenceList
from pytracking.evaluation.datasets import get_dataset, get_dataset_attributes, load_dataset
from pytracking.evaluation.environment import EnvSettings, create_default_local_file, env_settings

_LAZY = {
    "Tracker": "pytracking.evaluation.tracker",
    "trackerlist": "pytracking.evaluation.tracker",
    "run_dataset": "pytracking.evaluation.running",
}

__all__ = [
    "BaseDataset",
    "EnvSettings",
    "Sequence",
    "SequenceList",
    "Tracker",
    "create_default_local_file",
    "env_settings",
    "get_dataset",
    "get_dataset_attributes",
    "load_dataset",
    "run_dataset",
    "trackerlist",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'pytracking.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
