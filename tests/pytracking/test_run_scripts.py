"""Entry points run_tracker.py and run_experiment.py: argument parsing, the three ways of starting them, and
in-process runs writing result files for a small synthetic sequence."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking import run_experiment, run_tracker
from pytracking.evaluation.data import Sequence, SequenceList
from pytracking.evaluation.tracker import Tracker
from pytracking.utils.load_text import load_text

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACKER_OPTIONS = ("--runid", "--dataset_name", "--dataset", "--sequence", "--debug", "--threads", "--use_visdom")
TRACKER_OPTIONS += ("--no-use_visdom", "--visdom_server", "--visdom_port")


@pytest.fixture
def results_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "results"
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(path))
    monkeypatch.setenv("PYTRACKING_SEGMENTATION_PATH", str(tmp_path / "segmentation"))
    return path


def synthetic_sequence(folder: Path, name: str = "square", n: int = 8) -> Sequence:
    """A bright 10x10 square moving 2 px right per frame on grey; PNG frames written to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    frames, boxes = [], []
    for t in range(n):
        image = np.full((40, 60, 3), 80, np.uint8)
        x, y = 10 + 2 * t, 12
        image[y : y + 10, x : x + 10] = (250, 40, 40)
        path = folder / f"{t:04d}.png"
        cv2.imwrite(str(path), image)
        frames.append(str(path))
        boxes.append([x + 0.7, y + 0.2, 10.0, 10.0])  # fractional: the result file truncates
    return Sequence(name, frames, "synthetic", np.array(boxes))


def script_env(tmp_path: Path) -> dict[str, str]:
    """The test's environment without PYTHONPATH, so the scripts must make the package importable themselves."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTRACKING_RESULTS_PATH"] = str(tmp_path / "results")
    return env


@pytest.mark.parametrize(
    ("args", "cwd"),
    [
        (["pytracking/run_tracker.py"], "."),
        (["run_tracker.py"], "pytracking"),
        (["-m", "pytracking.run_tracker"], "."),
        (["pytracking/run_experiment.py"], "."),
        (["-m", "pytracking.run_experiment"], "."),
    ],
    ids=["file", "file-in-pytracking", "module", "experiment-file", "experiment-module"],
)
def test_scripts_start_in_every_supported_way(args, cwd, tmp_path):
    result = subprocess.run(
        [sys.executable, *args, "--help"], capture_output=True, text=True, cwd=REPO_ROOT / cwd, env=script_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    expected = TRACKER_OPTIONS if "run_tracker" in args[-1] else ("experiment_module", "--threads", "--use_visdom")
    for option in expected:
        assert option in result.stdout


def test_run_tracker_arguments():
    parser = run_tracker.build_parser()
    args = parser.parse_args(["dimp", "dimp50"])
    assert (args.tracker_name, args.tracker_param, args.runid, args.dataset_name, args.sequence) == (
        "dimp",
        "dimp50",
        None,
        "otb",
        None,
    )
    assert (args.debug, args.threads, args.use_visdom, args.visdom_server, args.visdom_port) == (
        0,
        0,
        True,
        "127.0.0.1",
        8097,
    )
    args = parser.parse_args(
        ["csrt", "default", "--runid", "3", "--dataset", "uav", "--sequence", "7", "--no-use_visdom", "--threads", "2"]
    )
    assert (args.runid, args.dataset_name, args.sequence, args.use_visdom, args.threads) == (3, "uav", "7", False, 2)
    assert parser.parse_args(["a", "b", "--dataset_name", "nfs", "--use_visdom"]).dataset_name == "nfs"
    with pytest.raises(SystemExit):
        parser.parse_args(["a", "b", "--use_visdom", "False"])  # no more type=bool surprises


def test_select_sequences_by_name_and_index(tmp_path):
    seqs = SequenceList(Sequence(n, [], "synthetic", np.zeros((1, 4))) for n in ("a", "b", "c"))
    assert run_tracker.select_sequences(seqs, None) is seqs
    assert run_tracker.select_sequences(seqs, "b").names() == ["b"]
    assert run_tracker.select_sequences(seqs, "2").names() == ["c"]
    assert run_tracker.select_sequences(seqs, "-1").names() == ["c"]
    assert run_tracker.select_sequences(list(seqs), 0).names() == ["a"]
    with pytest.raises(KeyError, match="'d'"):
        run_tracker.select_sequences(seqs, "d")
    with pytest.raises(IndexError):
        run_tracker.select_sequences(seqs, "5")


def test_run_tracker_writes_results_for_a_dataset_object(tmp_path, results_dir):
    seq = synthetic_sequence(tmp_path / "square")
    dataset = SequenceList([seq, synthetic_sequence(tmp_path / "other", name="other")])
    summary = run_tracker.run_tracker("baseline", "default", run_id=2, sequence="square", dataset=dataset)
    assert summary.ok and [r.sequence for r in summary.done] == ["square"]
    folder = results_dir / "baseline" / "default_002"
    boxes = load_text(folder / "square.txt")
    np.testing.assert_array_equal(boxes, np.tile([10, 12, 10, 10], (8, 1)))  # static box, truncated
    assert load_text(folder / "square_time.txt").shape == (8, 1)
    assert not (folder / "other.txt").exists()
    # Complete results are skipped on a second run.
    assert [r.sequence for r in run_tracker.run_tracker("baseline", "default", 2, dataset=dataset).skipped] == [
        "square"
    ]


def test_run_tracker_with_csrt_tracks_the_synthetic_square(tmp_path, results_dir):
    seq = synthetic_sequence(tmp_path / "square", n=12)
    assert run_tracker.run_tracker("csrt", "default", dataset=[seq]).ok
    boxes = load_text(results_dir / "csrt" / "default" / "square.txt")
    expected_x = np.floor(np.asarray(seq.ground_truth_rect)[:, 0])
    assert np.abs(boxes[:, 0] - expected_x).max() <= 2 and np.abs(boxes[:, 1] - 12).max() <= 2


def test_run_tracker_fails_fast_on_unknown_names(tmp_path, results_dir, capsys):
    dataset = [synthetic_sequence(tmp_path / "square", n=2)]
    with pytest.raises(ModuleNotFoundError, match=r"'defualt' not found.*available: default"):
        run_tracker.run_tracker("csrt", "defualt", dataset=dataset)
    with pytest.raises(ModuleNotFoundError, match="Tracker 'cstr'"):
        run_tracker.run_tracker("cstr", "default", dataset=dataset)
    assert not results_dir.exists()
    assert run_tracker.main(["csrt", "defualt", "--dataset", "no_such_dataset"]) == 2
    assert "available: default" in capsys.readouterr().err
    assert run_tracker.main(["baseline", "default", "--dataset", "no_such_dataset"]) == 2
    assert "Unknown dataset 'no_such_dataset'; valid names:" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter importing torch: about 2 s
def test_run_tracker_cli_on_real_otb_crossing(shared_real, tmp_path):
    env = script_env(tmp_path) | {"PYTRACKING_OTB_PATH": str(shared_real / "OTB")}
    env["PYTRACKING_LOCAL_FILE"] = str(tmp_path / "local.py")
    command = ["-m", "pytracking.run_tracker", "baseline", "default", "--dataset", "otb", "--sequence", "Crossing"]
    result = subprocess.run(
        [sys.executable, *command, "--no-use_visdom"], capture_output=True, text=True, cwd=REPO_ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    boxes = load_text(tmp_path / "results" / "baseline" / "default" / "Crossing.txt")
    np.testing.assert_array_equal(boxes, np.tile([205, 151, 17, 50], (120, 1)))  # Crossing's first GT box


def test_myexperiments_return_trackers_and_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_OTB_PATH", str(tmp_path))  # sequences are lazy: no files are read
    from pytracking.experiments import myexperiments

    trackers, dataset = myexperiments.reference_trackers_otb()
    assert [t.id_string for t in trackers] == ["csrt/default", "kcf/default", "baseline/default"]
    assert len(dataset) == 100
    trackers, dataset = myexperiments.reference_trackers_otb_crossing_girl()
    assert all(isinstance(t, Tracker) for t in trackers)
    assert dataset.names() == ["Crossing", "Girl"]


def test_load_experiment_lists_what_exists():
    from pytracking.experiments import myexperiments

    assert run_experiment.load_experiment("myexperiments", "reference_trackers_otb") is (
        myexperiments.reference_trackers_otb
    )
    with pytest.raises(AttributeError, match="no experiment 'nope'; available: .*reference_trackers_otb, "):
        run_experiment.load_experiment("myexperiments", "nope")
    with pytest.raises(ModuleNotFoundError, match="no experiment module 'nomod'; available: .*myexperiments"):
        run_experiment.load_experiment("nomod", "x")


def test_run_experiment_runs_the_experiment(tmp_path, results_dir, monkeypatch, capsys):
    seq = synthetic_sequence(tmp_path / "square", n=3)
    module = types.ModuleType("pytracking.experiments.tiny")
    module.tiny = lambda: ([Tracker("baseline", "default")], SequenceList([seq]))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert run_experiment.main(["tiny", "tiny", "--no-use_visdom"]) == 0
    assert load_text(results_dir / "baseline" / "default" / "square.txt").shape == (3, 4)
    assert run_experiment.main(["tiny", "missing"]) == 2
    assert "no experiment 'missing'" in capsys.readouterr().err
