"""Entry points run_video.py and run_webcam.py: arguments, exit codes and messages, the ways of starting them, and
a real run on a video made from OTB Crossing frames."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking import run_video, run_webcam
from pytracking.evaluation import live

REPO_ROOT = Path(__file__).resolve().parents[2]
CROSSING = REPO_ROOT.parent / "shared" / "data" / "real" / "OTB" / "Crossing"
NUM_FRAMES = 20
BOX = ["205", "151", "17", "50"]  # Crossing's first ground-truth box

headless_only = pytest.mark.skipif(live.opencv_gui_problem() is None, reason="this OpenCV can open windows")


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """The first NUM_FRAMES frames of OTB Crossing as an mp4v .mp4 file."""
    if not CROSSING.is_dir():
        pytest.skip(f"shared real data not found at {CROSSING}")
    path = tmp_path_factory.mktemp("video") / "Crossing clip.mp4"  # a space in the name on purpose
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (360, 240))
    assert writer.isOpened()
    for i in range(1, NUM_FRAMES + 1):
        writer.write(cv2.imread(str(CROSSING / "img" / f"{i:04d}.jpg")))
    writer.release()
    return path


@pytest.fixture
def results_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "results"
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(path))
    return path


def test_run_video_arguments():
    args = run_video.build_parser().parse_args(["dimp", "dimp50", "v.mp4"])
    assert (args.tracker_name, args.tracker_param, args.videofile) == ("dimp", "dimp50", "v.mp4")
    assert (args.optional_box, args.debug, args.save_results, args.runid, args.display) == (None, 0, False, None, None)
    args = run_video.build_parser().parse_args(
        ["a", "b", "v.mp4", "--optional_box", "1", "2.5", "3", "4", "--save_results", "--runid", "2", "--debug", "1"]
    )
    assert (args.optional_box, args.save_results, args.runid, args.debug) == ([1.0, 2.5, 3.0, 4.0], True, 2, 1)
    assert run_video.build_parser().parse_args(["a", "b", "v", "--no-save_results", "--no-display"]).display is False
    with pytest.raises(SystemExit):
        run_video.build_parser().parse_args(["a", "b", "v.mp4", "--optional_box", "1", "2", "3"])


def test_run_webcam_arguments():
    args = run_webcam.build_parser().parse_args(["dimp", "dimp50"])
    assert (args.debug, args.use_visdom, args.visdom_server, args.visdom_port, args.source) == (
        0,
        True,
        "127.0.0.1",
        8097,
        "0",
    )
    args = run_webcam.build_parser().parse_args(["a", "b", "--no-use_visdom", "--source", "clip.mp4", "--debug", "2"])
    assert (args.use_visdom, args.source, args.debug) == (False, "clip.mp4", 2)


def test_run_video_main_saves_results_and_prints_a_summary(video, results_dir, capsys):
    status = run_video.main(["csrt", "default", str(video), "--optional_box", *BOX, "--save_results", "--no-display"])
    assert status == 0
    out = capsys.readouterr().out
    saved = results_dir / "csrt" / "default" / "video_Crossing clip.txt"
    assert f"{NUM_FRAMES} frames" in out and "FPS" in out and str(saved) in out
    boxes = np.loadtxt(saved, delimiter="\t")
    assert boxes.shape == (NUM_FRAMES, 4) and boxes.dtype == np.float64
    np.testing.assert_array_equal(boxes[0], [205, 151, 17, 50])
    assert np.all(np.abs(boxes[:, :2] - boxes[0, :2]) < 40)  # the pedestrian moves slowly in these frames


def test_run_video_function_returns_the_boxes(video, results_dir):
    result = run_video.run_video("kcf", "default", str(video), [205, 151, 17, 50])
    assert result.boxes.shape == (NUM_FRAMES, 4) and result.results_file is None
    assert not results_dir.exists()


def test_run_video_main_names_a_missing_video(tmp_path, capsys):
    missing = tmp_path / "no such video.mp4"
    assert run_video.main(["kcf", "default", str(missing), "--optional_box", *BOX, "--no-display"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err and "Traceback" not in err


def test_run_video_main_unknown_tracker(video, capsys):
    assert run_video.main(["no_such_tracker", "default", str(video), "--optional_box", *BOX, "--no-display"]) == 2
    assert "no_such_tracker" in capsys.readouterr().err


@headless_only
def test_run_video_main_without_box_asks_for_one_when_headless(video, capsys):
    assert run_video.main(["kcf", "default", str(video)]) == 2
    err = capsys.readouterr().err
    assert "--optional_box x y w h" in err and "without GUI support" in err


@headless_only
def test_run_video_main_refuses_an_explicit_display_when_headless(video, capsys):
    assert run_video.main(["kcf", "default", str(video), "--optional_box", *BOX, "--display"]) == 2
    assert "pip install opencv-contrib-python" in capsys.readouterr().err


@headless_only
def test_run_webcam_main_exits_with_the_package_to_install(video, capsys):
    assert run_webcam.main(["kcf", "default", "--source", str(video)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: OpenCV") and "pip install opencv-contrib-python" in err and "-headless" in err


@pytest.mark.parametrize(
    ("args", "cwd"),
    [
        (["run_video.py"], "pytracking"),
        (["run_webcam.py"], "pytracking"),
        (["pytracking/run_webcam.py"], "."),
        (["-m", "pytracking.run_webcam"], "."),
    ],
    ids=["video-file-in-pytracking", "webcam-file-in-pytracking", "webcam-file", "webcam-module"],
)
def test_scripts_start_in_every_supported_way(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, *args, "--help"], capture_output=True, text=True, cwd=REPO_ROOT / cwd, env=env
    )
    assert result.returncode == 0, result.stderr
    expected = ("--optional_box", "--save_results") if "video" in args[-1] else ("--source", "--use_visdom")
    for option in ("tracker_param", "--debug", *expected):
        assert option in result.stdout


@pytest.mark.slow  # a fresh interpreter importing torch: about 2 s
def test_run_video_module_subprocess(video, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTRACKING_RESULTS_PATH=str(tmp_path / "results"))
    command = ["-m", "pytracking.run_video", "kcf", "default", str(video), "--optional_box", *BOX]
    result = subprocess.run(
        [sys.executable, *command, "--save_results", "--runid", "1", "--no-display"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert f"{NUM_FRAMES} frames" in result.stdout
    boxes = np.loadtxt(tmp_path / "results" / "kcf" / "default_001" / "video_Crossing clip.txt", delimiter="\t")
    assert boxes.shape == (NUM_FRAMES, 4)
