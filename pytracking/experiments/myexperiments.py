"""Example experiments: ``python -m pytracking.run_experiment myexperiments <function name>``.

Each function returns ``(trackers, dataset)``. Sequences are lazy: frames and annotations are read only when a
tracker runs on them.
"""

from __future__ import annotations

from pytracking.evaluation.data import SequenceList
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.tracker import Tracker, trackerlist


def reference_trackers_synthetic() -> tuple[list[Tracker], SequenceList]:
    """The weight-free reference trackers (CSRT, KCF, static-box baseline) on the embedded synthetic benchmark.

    Runs on a fresh machine: the benchmark is generated on first use (a few seconds).
    """
    trackers = trackerlist("csrt", "default") + trackerlist("kcf", "default") + trackerlist("baseline", "default")
    return trackers, get_dataset("synthetic")


def reference_trackers_otb() -> tuple[list[Tracker], SequenceList]:
    """The weight-free reference trackers (CSRT, KCF, static-box baseline) on OTB-100."""
    trackers = trackerlist("csrt", "default") + trackerlist("kcf", "default") + trackerlist("baseline", "default")
    return trackers, get_dataset("otb")


def reference_trackers_otb_crossing_girl() -> tuple[list[Tracker], SequenceList]:
    """CSRT and the static baseline on two OTB sequences chosen by name (a quick check of a setup)."""
    trackers = trackerlist("csrt", "default") + trackerlist("baseline", "default")
    return trackers, get_dataset("otb")[["Crossing", "Girl"]]


def csrt_baseline_synthetic() -> tuple[list[Tracker], SequenceList]:
    """CSRT and the static baseline on the embedded synthetic benchmark (the resume / crash-safety check)."""
    trackers = trackerlist("csrt", "default") + trackerlist("baseline", "default")
    return trackers, get_dataset("synthetic")
