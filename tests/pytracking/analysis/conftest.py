"""Stand-ins for Sequence and Tracker (the analysis only relies on their attributes) and a temp result tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest


@dataclass
class FakeSequence:
    name: str
    ground_truth_rect: np.ndarray
    target_visible: np.ndarray | None = None
    dataset: str = "otb"
    frames: list = field(default_factory=list)
    object_class: str | None = None


@dataclass
class FakeTracker:
    name: str
    parameter_name: str
    run_id: int | None
    results_dir: str
    display_name: str | None = None


def write_result(tracker: FakeTracker, seq_name: str, boxes, delimiter: str = "\t") -> Path:
    """Write a result file the way trackers do (one ``x<d>y<d>w<d>h`` row per frame)."""
    path = Path(tracker.results_dir) / f"{seq_name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [delimiter.join(repr(float(v)) for v in row) for row in np.asarray(boxes, dtype=np.float64)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def plot_dir(tmp_path, monkeypatch) -> Path:
    """result_plot_path redirected into the test's temp dir."""
    path = tmp_path / "plots"
    monkeypatch.setenv("PYTRACKING_RESULT_PLOT_PATH", str(path))
    return path


@pytest.fixture
def make_tracker(tmp_path):
    def make(name: str, param: str = "default", run_id: int | None = None, display_name: str | None = None):
        sub = name if run_id is None else f"{name}_{run_id:03d}"
        return FakeTracker(name, param, run_id, str(tmp_path / "results" / param / sub), display_name)

    return make


@pytest.fixture
def Seq():
    return FakeSequence


@pytest.fixture
def write():
    return write_result
