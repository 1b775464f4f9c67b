"""End to end: CSRT and the baseline over the synthetic split in two worker processes, killed partway, resumed
without recomputing finished sequences, then the score table and the plots."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pytracking.evaluation import run_dataset
from pytracking.experiments.myexperiments import csrt_baseline_synthetic
from pytracking.utils.load_text import load_text

REPO_ROOT = Path(__file__).resolve().parents[3]
NUM_SEQUENCES = 6  # the first third of the split keeps the test short; every pair is still a real tracking run

SCRIPT = """
import sys

sys.path.insert(0, {repo!r})

from pytracking.evaluation import run_dataset
from pytracking.experiments.myexperiments import csrt_baseline_synthetic

if __name__ == "__main__":
    trackers, dataset = csrt_baseline_synthetic()
    run_dataset(dataset[:{n}], trackers, threads=2, progress=False, verbose=False)
"""


def main_files(results: Path) -> dict[str, Path]:
    """``'<tracker>/<sequence>'`` -> box file, for the box files present (not the _time / _scores files)."""
    return {f"{p.parent.parent.name}/{p.stem}": p for p in results.glob("*/default/syn_????.txt")}


def check_files(results: Path, num_frames: dict[str, int]) -> None:
    """Every result file parses with one row per frame of its sequence: 4 columns for boxes, 1 otherwise."""
    for path in results.rglob("*.txt"):
        seq = path.name[:8]
        table = load_text(path, delimiter=("\t", None), dtype=np.float64)
        columns = 4 if path.stem == seq else 1
        assert table.shape == (num_frames[seq], columns), path
        assert np.isfinite(table).all(), path


@pytest.mark.slow
def test_killed_run_resumes_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYTRACKING_SYNTHETIC_PATH", str(tmp_path / "synthetic"))
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(tmp_path / "results"))
    monkeypatch.setenv("PYTRACKING_RESULT_PLOT_PATH", str(tmp_path / "plots"))
    trackers, dataset = csrt_baseline_synthetic()
    assert [t.name for t in trackers] == ["csrt", "baseline"] and len(dataset) == 18
    dataset = dataset[:NUM_SEQUENCES]
    num_frames = {seq.name: len(seq.frames) for seq in dataset}  # generates the split before the run starts
    results = tmp_path / "results"
    total = len(trackers) * NUM_SEQUENCES

    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(repo=str(REPO_ROOT), n=NUM_SEQUENCES))
    proc = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while len(main_files(results)) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run ended or stalled before it was killed: {proc.stdout.read().decode()}")
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes, mid-sequence
        proc.wait()
        proc.stdout.close()

    finished = main_files(results)
    assert 2 <= len(finished) < total
    check_files(results, num_frames)  # a killed run leaves no partial result file
    stamps = {key: path.stat().st_mtime_ns for key, path in finished.items()}

    summary = run_dataset(dataset, trackers, threads=2, progress=False, verbose=False)
    assert summary.ok, str(summary)
    assert {f"{r.tracker.split('/')[0]}/{r.sequence}" for r in summary.skipped} == set(finished)
    assert len(summary.done) == total - len(finished)
    assert {key: path.stat().st_mtime_ns for key, path in finished.items()} == stamps
    assert len(main_files(results)) == total
    check_files(results, num_frames)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]

    from pytracking.analysis.plot_results import plot_results, print_results

    capsys.readouterr()
    table = print_results(trackers, dataset, "end_to_end", plot_types=("success", "prec", "norm_prec"))
    assert capsys.readouterr().out == table
    lines = table.splitlines()
    assert lines[0] == f"Reporting results over {NUM_SEQUENCES} / {NUM_SEQUENCES} sequences (protocol: pytracking)"
    assert lines[1].split() == ["end_to_end", "AUC", "OP50", "OP75", "Precision", "Norm", "Precision"]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[2:]}
    assert set(rows) == {"csrt_default", "baseline_default"}
    assert all(0.0 <= v <= 100.0 for values in rows.values() for v in values)

    plots = plot_results(trackers, dataset, "end_to_end", plot_types=("success", "prec"))
    for kind in ("success", "prec"):
        files = {Path(p).suffix: Path(p) for p in plots[kind]["files"]}
        assert set(files) == {".pdf", ".png"}
        assert files[".pdf"].read_bytes()[:5] == b"%PDF-" and files[".pdf"].stat().st_size > 1000
        assert files[".png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and files[".png"].stat().st_size > 1000
        assert files[".pdf"].parent == tmp_path / "plots" / "end_to_end"
