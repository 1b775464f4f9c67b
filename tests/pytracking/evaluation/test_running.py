"""run_dataset / run_sequence: result file formats, skipping, failure reporting, determinism, crash safety."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from pytracking.evaluation import Sequence, SequenceList, Tracker, run_dataset
from pytracking.evaluation import running as running_mod
from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.running import (
    clean_stale_temp_files,
    is_complete,
    result_files,
    run_sequence,
    save_tracker_output,
)
from pytracking.utils.image_io import imread_indexed
from pytracking.utils.load_text import load_text

REPO_ROOT = Path(__file__).resolve().parents[3]


def make_env(root: Path) -> EnvSettings:
    env = EnvSettings()
    env.results_path = str(root / "results")
    env.segmentation_path = str(root / "segs")
    return env


def write_jpegs(folder: Path, n: int, size=(16, 12)) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i + 1:08d}.jpg"
        Image.new("RGB", size, (10 * i, 50, 90)).save(path, quality=90)
        paths.append(str(path))
    return paths


def lazy_sequence(root: Path, name: str, n: int, x0: float = 2.0, **kw) -> Sequence:
    paths = write_jpegs(root / "frames" / name, n)
    gt = np.tile([x0, 3.0, 4.0, 5.0], (n, 1))
    return Sequence(name, lambda: paths, "test", lambda: gt, **kw)


class Fixed:
    """Deterministic boxes with fractional and negative values; reports its own times and presence."""

    created = 0

    def __init__(self, params):
        self.params = params
        Fixed.created += 1

    def initialize(self, image, info):
        if info["init_bbox"][0] == 99:
            self.fail_at = 2
        self.frame = 0
        return {"time": 0.25}

    def track(self, image, info=None):
        self.frame += 1
        if getattr(self, "fail_at", None) == self.frame:
            raise RuntimeError(f"boom on frame {self.frame}")
        return {"target_bbox": [0.9 + self.frame, 2.2, 3.99, -0.5], "time": 0.5, "object_presence_score": 0.75}


def fixed_tracker(env, name="fixed", run_id=None, cls=Fixed):
    return Tracker(name, "p", run_id, env=env, tracker_class=cls, parameters=SimpleNamespace)


def no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


# ---- formats ---------------------------------------------------------------------------------------------------


def test_single_object_result_files_exact(tmp_path):
    env = make_env(tmp_path)
    seq = lazy_sequence(tmp_path, "s1", 3)
    tracker = fixed_tracker(env)
    summary = run_dataset(SequenceList([seq]), tracker, progress=False, verbose=False)
    assert [r.sequence for r in summary.done] == ["s1"] and summary.ok
    res = Path(tracker.results_dir)
    # boxes truncated towards zero (3.99 -> 3, -0.5 -> 0), TAB-separated, frame 0 = the initial box
    assert (res / "s1.txt").read_text() == "2\t3\t4\t5\n1\t2\t3\t0\n2\t2\t3\t0\n"
    assert (res / "s1_time.txt").read_text() == "0.250000\n0.500000\n0.500000\n"
    assert (res / "s1_object_presence_scores.txt").read_text() == "1.000000\n0.750000\n0.750000\n"
    assert sorted(p.name for p in res.iterdir()) == ["s1.txt", "s1_object_presence_scores.txt", "s1_time.txt"]
    assert summary.done[0].num_frames == 3 and summary.done[0].fps == pytest.approx(3 / 1.25)


def test_complete_sequences_are_skipped_unless_debug(tmp_path):
    env = make_env(tmp_path)
    seqs = SequenceList([lazy_sequence(tmp_path, f"s{i}", 3) for i in range(2)])
    tracker = fixed_tracker(env)
    run_dataset(seqs, tracker, progress=False, verbose=False)
    main = Path(tracker.results_dir) / "s0.txt"
    stamp = main.stat().st_mtime_ns
    Fixed.created = 0
    summary = run_dataset(seqs, tracker, progress=False, verbose=False)
    assert [r.sequence for r in summary.skipped] == ["s0", "s1"] and not summary.done
    assert Fixed.created == 0 and main.stat().st_mtime_ns == stamp
    assert run_sequence(seqs[0], tracker).status == "skipped"

    main.unlink()  # an incomplete sequence is recomputed
    summary = run_dataset(seqs, tracker, progress=False, verbose=False)
    assert [r.sequence for r in summary.done] == ["s0"] and [r.sequence for r in summary.skipped] == ["s1"]

    summary = run_dataset(seqs, tracker, debug=1, progress=False, verbose=False)
    assert len(summary.done) == 2


def test_failing_sequence_is_reported_and_the_run_goes_on(tmp_path, capsys):
    env = make_env(tmp_path)
    seqs = SequenceList(
        [lazy_sequence(tmp_path, "a", 4), lazy_sequence(tmp_path, "bad", 4, x0=99), lazy_sequence(tmp_path, "c", 4)]
    )
    tracker = fixed_tracker(env)
    summary = run_dataset(seqs, tracker, progress=False)
    assert [r.sequence for r in summary.done] == ["a", "c"]
    (failure,) = summary.failed
    assert failure.sequence == "bad" and failure.tracker == "fixed/p"
    assert "RuntimeError: boom on frame 2" in failure.traceback and "in track" in failure.traceback
    assert not summary.ok
    assert not any(p.name.startswith("bad") for p in Path(tracker.results_dir).iterdir())
    printed = capsys.readouterr().out
    assert "2 done, 0 skipped, 1 failed" in printed and "FAILED fixed/p on bad" in printed
    assert "boom on frame 2" in printed
    with pytest.raises(RuntimeError, match="boom"):
        run_dataset(seqs, tracker, progress=False, verbose=False, raise_errors=True)


class Noisy(Fixed):
    def track(self, image, info=None):
        self.frame += 1
        noise = 1000 * (float(torch.rand(1)) + float(np.random.rand()) + random.random())
        return {"target_bbox": [noise, 1, 1, 1], "time": 0.5}


def test_two_runs_give_identical_files(tmp_path):
    seqs = SequenceList([lazy_sequence(tmp_path, f"s{i}", 5) for i in range(2)])
    outputs = []
    for run in ("r1", "r2"):
        tracker = fixed_tracker(make_env(tmp_path / run), "noisy", cls=Noisy)
        run_dataset(seqs, tracker, progress=False, verbose=False)
        outputs.append([(Path(tracker.results_dir) / f"s{i}.txt").read_text() for i in range(2)])
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[0][1]  # each sequence has its own seed
    assert len(set(outputs[0][0].splitlines()[1:])) == 4  # the noise is really there


# ---- multi-object, segmentation, OxUvA --------------------------------------------------------------------------


class Masker(Fixed):
    def initialize(self, image, info):
        self.frame = 0
        self.box = info["init_bbox"]

    def track(self, image, info=None):
        self.frame += 1
        mask = np.zeros(image.shape[:2], np.uint8)
        mask[: self.frame, :2] = 1
        return {"target_bbox": self.box, "segmentation": mask, "object_presence_score": 0.5}


def test_multiobject_and_segmentation_files(tmp_path):
    env = make_env(tmp_path)
    paths = write_jpegs(tmp_path / "frames" / "mo", 3)
    gt = {"1": np.tile([1.0, 1, 2, 2], (3, 1)), "2": np.tile([5.0, 6, 2, 2], (3, 1))}
    seq = Sequence("mo", paths, "test", gt, object_ids=["1", "2"], multiobj_mode=True)
    tracker = fixed_tracker(env, "masker", cls=Masker)
    assert result_files(tracker, seq) == [
        Path(tracker.results_dir) / "mo_1.txt",
        Path(tracker.results_dir) / "mo_2.txt",
    ]
    summary = run_dataset(SequenceList([seq]), tracker, progress=False, verbose=False)
    assert summary.ok, str(summary)
    res = Path(tracker.results_dir)
    assert (res / "mo_1.txt").read_text() == "1\t1\t2\t2\n" * 3
    assert (res / "mo_2.txt").read_text() == "5\t6\t2\t2\n" * 3
    assert len(load_text(res / "mo_2_time.txt")) == 3
    assert (res / "mo_1_object_presence_scores.txt").read_text() == "1.000000\n0.500000\n0.500000\n"
    assert is_complete(tracker, seq)
    # both objects' masks are identical: the first object wins; frame files are named after the frames
    seg_dir = Path(tracker.segmentation_dir) / "mo"
    assert sorted(p.name for p in seg_dir.iterdir()) == ["00000002.png", "00000003.png"]
    labels, palette = imread_indexed(seg_dir / "00000003.png")
    expected = np.zeros((12, 16), np.uint8)
    expected[:2, :2] = 1
    np.testing.assert_array_equal(labels, expected)
    assert tuple(palette[1]) == (128, 0, 0)


class MaskOnly(Masker):
    def track(self, image, info=None):
        return {"segmentation": np.ones(image.shape[:2], np.uint8)}


def test_mask_only_tracker_gets_a_completion_marker(tmp_path):
    env = make_env(tmp_path)
    seq = lazy_sequence(tmp_path, "v", 3)
    tracker = fixed_tracker(env, "maskonly", cls=MaskOnly)
    assert not is_complete(tracker, seq)
    summary = run_dataset(SequenceList([seq]), tracker, progress=False, verbose=False)
    assert summary.ok, str(summary)
    seg_dir = Path(tracker.segmentation_dir) / "v"
    assert sorted(p.name for p in seg_dir.iterdir()) == [".complete", "00000002.png", "00000003.png"]
    assert is_complete(tracker, seq)
    assert not (Path(tracker.results_dir) / "v.txt").exists()


class Drifting(Fixed):
    def initialize(self, image, info):
        self.frame = 0

    def track(self, image, info=None):
        self.frame += 1
        return {"target_bbox": [-2.0, 3.0, 8.0, 30.0], "object_presence_score": [0.9, 0.3][self.frame - 1]}


def test_oxuva_csv(tmp_path):
    env = make_env(tmp_path)
    folder = tmp_path / "oxuva" / "vid_07"
    folder.mkdir(parents=True)
    paths = []
    for i in (30, 31, 32):
        paths.append(str(folder / f"{i:06d}.jpeg"))
        Image.new("RGB", (20, 10)).save(paths[-1], format="JPEG")
    gt = np.full((3, 4), -1.0)
    gt[0] = [1, 1, 4, 4]
    seq = Sequence("vid_07_obj2", paths, "oxuva", gt)
    tracker = fixed_tracker(env, "drift", cls=Drifting)
    summary = run_dataset(SequenceList([seq]), tracker, progress=False, verbose=False)
    assert summary.ok, str(summary)
    csv = (Path(tracker.results_dir) / "vid_07_obj2.csv").read_text()
    # x in [-2, 6] of 20 px -> [0, 0.3]; y in [3, 33] of 10 px -> [0.3, 1]; threshold 0.55
    assert csv == (
        "vid_07,obj2,31,true,0.900000,0.000000,0.300000,0.300000,1.000000\n"
        "vid_07,obj2,32,false,0.300000,0.000000,0.300000,0.300000,1.000000\n"
    )
    assert is_complete(tracker, seq)


# ---- malformed outputs and crash safety ------------------------------------------------------------------------


def test_nonfinite_box_fails_the_sequence_without_files(tmp_path):
    class NaNBox(Fixed):
        def track(self, image, info=None):
            return {"target_bbox": [float("nan"), 0, 1, 1]}

    env = make_env(tmp_path)
    tracker = fixed_tracker(env, "nan", cls=NaNBox)
    summary = run_dataset(SequenceList([lazy_sequence(tmp_path, "s", 3)]), tracker, progress=False, verbose=False)
    assert "non-finite box at frame(s) [1, 2]" in summary.failed[0].traceback
    assert not Path(tracker.results_dir, "s.txt").exists()


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    env = make_env(tmp_path)
    seq = lazy_sequence(tmp_path, "s", 3)
    tracker = fixed_tracker(env)
    output = tracker.run_sequence(seq)

    def failing_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(running_mod.os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        save_tracker_output(seq, tracker, output)
    assert list(Path(tracker.results_dir).iterdir()) == []


def test_clean_stale_temp_files(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sub = tmp_path / "seq"
    sub.mkdir()
    stale = sub / f".0001.png.{dead.pid}.0a1b2c3d.tmp"
    mine = tmp_path / f".s.txt.{os.getpid()}.deadbeef.tmp"
    other = tmp_path / ".notes.tmp"
    for p in (stale, mine, other):
        p.write_text("x")
    assert clean_stale_temp_files(tmp_path) == [stale]
    assert mine.exists() and other.exists() and not stale.exists()
    assert clean_stale_temp_files(tmp_path / "missing") == []


# ---- killed parallel run, then resume --------------------------------------------------------------------------

TRACKER_CODE = """
import time


class Sleepy:
    def __init__(self, params):
        self.params = params

    def initialize(self, image, info):
        with open(self.params.counter, "a") as f:
            f.write(f"{int(info['init_bbox'][0])}\\n")
        self.box = info["init_bbox"]
        time.sleep(self.params.sleep)

    def track(self, image, info=None):
        time.sleep(self.params.sleep)
        return {"target_bbox": [b + 0.5 for b in self.box]}


def get_tracker_class():
    return Sleepy
"""

DATA_CODE = """
import numpy as np
from pathlib import Path

from pytracking.evaluation import Sequence, SequenceList, Tracker
from pytracking.evaluation.environment import EnvSettings

ROOT = Path({root!r})
NUM_FRAMES = 6


def sequences():
    seqs = []
    for k in range(4):
        frames = sorted(str(p) for p in (ROOT / "frames" / f"seq{{k}}").glob("*.jpg"))
        gt = np.tile([10.0 * (k + 1), 2, 3, 4], (NUM_FRAMES, 1))
        seqs.append(Sequence(f"seq{{k}}", lambda frames=frames: frames, "test", lambda gt=gt: gt))
    broken = sorted(str(p) for p in (ROOT / "frames" / "seq0").glob("*.jpg"))
    broken[3] = str(ROOT / "frames" / "missing.jpg")
    seqs.append(Sequence("broken", lambda: broken, "test", lambda: np.tile([99.0, 2, 3, 4], (NUM_FRAMES, 1))))
    return SequenceList(seqs)


def tracker():
    env = EnvSettings()
    env.results_path = str(ROOT / "results")
    env.segmentation_path = str(ROOT / "segs")
    return Tracker("sleepy", "default", env=env, module_prefix={pkg!r})
"""

SCRIPT = """
import sys

sys.path[:0] = [{code!r}, {repo!r}]

from pytracking.evaluation import run_dataset
from {pkg}.data import sequences, tracker

if __name__ == "__main__":
    run_dataset(sequences(), tracker(), threads=2, progress=False, verbose=False)
"""


def _write_package(root: Path, pkg: str, code: Path) -> None:
    base = code / pkg
    for sub in ("", "tracker", "parameter", "parameter/sleepy", "tracker/sleepy"):
        (base / sub).mkdir(parents=True, exist_ok=True)
        (base / sub / "__init__.py").write_text("")
    (base / "tracker" / "sleepy" / "__init__.py").write_text(TRACKER_CODE)
    (base / "parameter" / "sleepy" / "default.py").write_text(
        "from types import SimpleNamespace\n\n\ndef parameters():\n"
        f"    return SimpleNamespace(counter={str(root / 'counter.txt')!r}, sleep=0.15)\n"
    )
    (base / "data.py").write_text(DATA_CODE.format(root=str(root), pkg=pkg))


def _check_result_files(results: Path, num_frames: int) -> set[str]:
    """Every result file parses with one row per frame; returns the sequences with a main file."""
    complete = set()
    for path in results.glob("*.txt"):
        table = load_text(path, delimiter=("\t", None))
        if path.stem.endswith("_time"):
            assert table.shape == (num_frames, 1), path
        else:
            assert table.shape == (num_frames, 4), path
            complete.add(path.stem)
    return complete


@pytest.mark.slow
def test_killed_parallel_run_resumes_without_recomputing(tmp_path, monkeypatch):
    root = tmp_path
    for k in range(4):
        write_jpegs(root / "frames" / f"seq{k}", 6)
    pkg = f"killtest_{uuid.uuid4().hex[:8]}"
    code = root / "code"
    _write_package(root, pkg, code)
    script = root / "run.py"
    script.write_text(SCRIPT.format(code=str(code), repo=str(REPO_ROOT), pkg=pkg))
    results = root / "results" / "sleepy" / "default"

    proc = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while not list(results.glob("seq?.txt")):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run ended or stalled before writing results: {proc.stdout.read().decode()}")
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
        proc.wait()
        proc.stdout.close()

    finished = _check_result_files(results, 6)
    assert 1 <= len(finished) < 4
    stamps = {name: (results / f"{name}.txt").stat().st_mtime_ns for name in finished}

    monkeypatch.syspath_prepend(str(code))
    data = __import__(f"{pkg}.data", fromlist=["sequences"])
    summary = run_dataset(data.sequences(), data.tracker(), threads=2, progress=False, verbose=False)

    assert {r.sequence for r in summary.skipped} == finished
    assert {r.sequence for r in summary.done} == {f"seq{k}" for k in range(4)} - finished
    (failure,) = summary.failed
    assert failure.sequence == "broken" and "missing.jpg" in failure.traceback
    assert {name: (results / f"{name}.txt").stat().st_mtime_ns for name in finished} == stamps
    starts = (root / "counter.txt").read_text().split()
    for k in range(4):
        count = starts.count(str(10 * (k + 1)))  # initialisations of seq{k}, over both runs
        if f"seq{k}" in finished:
            assert count == 1, (k, starts)
        else:
            assert count >= 1, (k, starts)
    assert _check_result_files(results, 6) == {f"seq{k}" for k in range(4)}
    assert (results / "seq2.txt").read_text().splitlines()[1] == "30\t2\t3\t4"
    assert no_temp_files(root)
    for mod in [m for m in sys.modules if m.startswith(pkg)]:
        del sys.modules[mod]
