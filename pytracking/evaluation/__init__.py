"""Evaluation: settings, sequences and datasets, running trackers over benchmarks."""

from pytracking.evaluation.data import BaseDataset, Sequence, SequenceList
from pytracking.evaluation.datasets import get_dataset, load_dataset
from pytracking.evaluation.environment import EnvSettings, create_default_local_file, env_settings

__all__ = [
    "BaseDataset",
    "EnvSettings",
    "Sequence",
    "SequenceList",
    "create_default_local_file",
    "env_settings",
    "get_dataset",
    "load_dataset",
]
