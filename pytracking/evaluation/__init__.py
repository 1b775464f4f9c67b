"""Evaluation: settings, sequences and datasets, running trackers over benchmarks."""

from pytracking.evaluation.environment import EnvSettings, create_default_local_file, env_settings

__all__ = ["EnvSettings", "create_default_local_file", "env_settings"]
