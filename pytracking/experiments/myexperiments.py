"""Example experiments: ``python -m pytracking.run_experiment myexperiments <function name>``.

Each function returns ``(trackers, dataset)``. Sequences are lazy: frames and annotations are read only when a
tracker runs on them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytracking.evaluation.data import SequenceList
from pytracking.evaluation.datasets import get_dataset
from pytracking.evaluation.tracker import Tracker, trackerlist


def reference_trackers_synthetic() -> tuple[list[Tracker], SequenceList]:
    """The weight-free reference trackers (CSRT, KCF, static-box baseline) on the embedded synthetic benchmark.

    Runs on a fresh machine: the benchmark is generated on first use (a few seconds).
    """
    trackers = trackerlist("csrt", "default") + trackerlist("kcf", "default") + trackerlist("baseline", "default")
    return trackers, get_dataset("synthetic")


def tiny_dimp_synthetic() -> tuple[list[Tracker], SequenceList]:
    """This project's own tiny DiMP (shipped with the package) beside the reference trackers, on the embedded
    synthetic benchmark: the README's main job. Runs on a fresh machine without downloads."""
    trackers = (
        trackerlist("dimp", "dimp_tiny_synthetic")
        + trackerlist("csrt", "default")
        + trackerlist("kcf", "default")
        + trackerlist("baseline", "default")
    )
    return trackers, get_dataset("synthetic")


def real_sample_sequences(root: str | os.PathLike | None = None) -> SequenceList:
    """The box-annotated real sequences of the development data (OTB Crossing and Girl, VOT bag, UAV123@10fps
    person11) from ``root`` (default: ``$PYTRACKING_SHARED_REAL``, else ``../shared/data/real`` beside the
    repository)."""
    from pytracking.evaluation.otbdataset import OTBDataset, OTBStyleFolderDataset
    from pytracking.evaluation.votdataset import VOTDataset

    if root is None:
        default = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
        root = os.environ.get("PYTRACKING_SHARED_REAL") or default
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"real sample sequences not found at {root}; set PYTRACKING_SHARED_REAL to the folder")
    otb = OTBDataset(root=root / "OTB")
    return SequenceList(
        [
            otb.get_sequence("Crossing"),
            otb.get_sequence("Girl"),
            VOTDataset(root=root / "VOT").get_sequence("bag"),
            OTBStyleFolderDataset(root / "UAV123_10fps", "uav").get_sequence("person11"),
        ]
    )


def tiny_dimp_real() -> tuple[list[Tracker], SequenceList]:
    """The tiny DiMP and CSRT/KCF on the real sample sequences (:func:`real_sample_sequences`)."""
    trackers = trackerlist("dimp", "dimp_tiny_synthetic") + trackerlist("csrt", "default")
    return trackers + trackerlist("kcf", "default"), real_sample_sequences()


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
