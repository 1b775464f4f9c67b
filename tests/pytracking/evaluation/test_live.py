"""pytracking.evaluation.live: GUI detection, frame sources, scripted displays, the interactive multi-target loop,
and run_video / run_webcam end to end on a real OTB sequence encoded as a video file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking.evaluation import live
from pytracking.evaluation.live import (
    BoxDrawer,
    Drag,
    FrameListSource,
    KeyPress,
    LiveTargets,
    MouseEvent,
    ScriptedDisplay,
    VideoCaptureSource,
)
from pytracking.evaluation.tracker import Tracker

NUM_FRAMES = 25
GREEN, RED, WHITE = live.target_colour(1), live.target_colour(2), live.DRAFT_COLOUR_BGR


def iou(a, b) -> np.ndarray:
    """IoU of matching rows of two (N, 4) [x, y, w, h] arrays."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    tl = np.maximum(a[:, :2], b[:, :2])
    br = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=1)
    return inter / (np.prod(a[:, 2:], axis=1) + np.prod(b[:, 2:], axis=1) - inter)


@pytest.fixture(scope="module")
def crossing_video(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """The first NUM_FRAMES frames of OTB Crossing (360x240) as an MJPG .avi, and their ground-truth boxes."""
    root = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real" / "OTB" / "Crossing"
    if not root.is_dir():
        pytest.skip(f"shared real data not found at {root}")
    path = tmp_path_factory.mktemp("video") / "crossing.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (360, 240))
    assert writer.isOpened()
    for i in range(1, NUM_FRAMES + 1):
        writer.write(cv2.imread(str(root / "img" / f"{i:04d}.jpg")))
    writer.release()
    gt = np.loadtxt(root / "groundtruth_rect.txt", delimiter=",")[:NUM_FRAMES]
    return path, gt


def colour_count(frame: np.ndarray, colour) -> int:
    return int(np.all(frame == np.array(colour, np.uint8), axis=2).sum())


def outline_has_colour(frame: np.ndarray, box, colour) -> bool:
    """All four edge midpoints of the drawn outline of ``box`` carry ``colour``."""
    x0, y0, x1, y1 = live.box_corners(box)
    xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
    points = [(y0, xm), (y1, xm), (ym, x0), (ym, x1)]
    return all(tuple(frame[y, x]) == tuple(colour) for y, x in points)


class CountingTracker:
    """A tracker that moves its box 1 px right per frame and records its calls."""

    created = 0

    def __init__(self):
        CountingTracker.created += 1
        self.calls: list[str] = []
        self.box = None

    def initialize(self, image, info):
        self.calls.append("init")
        self.info = info
        self.box = list(info["init_bbox"])
        return {}

    def track(self, image, info):
        self.calls.append("track")
        assert "previous_output" in info and info["previous_output"]["target_bbox"] == self.box
        self.box = [self.box[0] + 1, *self.box[1:]]
        return {"target_bbox": list(self.box)}


def grey_frames(n: int, height: int = 60, width: int = 80) -> list[np.ndarray]:
    return [np.full((height, width, 3), 10 * (i + 1), np.uint8) for i in range(n)]


# ---- GUI detection -----------------------------------------------------------------------------------------------

OLD_QT_INFO = """
  GUI:
    QT:                          YES (ver 5.15.0 )
      QT OpenGL support:         NO
    GTK+:                        NO

  Media I/O:
"""
HEADLESS_OLD_INFO = """
  GUI:
    VTK support:                 NO

  Media I/O:
"""
HEADLESS_5_INFO = """
  GUI:                           NONE
    VTK support:                 NO
    Built-in Unicode font:       YES
"""


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (HEADLESS_5_INFO, None),
        ("  GUI:                           GTK3\n    GTK+:   YES (ver 3.24)\n", "GTK3"),
        (OLD_QT_INFO, "QT"),
        (HEADLESS_OLD_INFO, None),
        ("  Video I/O:\n    FFMPEG: YES\n", "unknown"),
    ],
    ids=["none-5.x", "gtk3", "old-qt", "old-headless", "no-gui-section"],
)
def test_gui_backend_parses_build_information(info, expected):
    assert live.gui_backend(info) == expected


def test_gui_problem_names_the_package_for_headless_builds_and_checks_the_display(monkeypatch):
    problem = live.opencv_gui_problem(HEADLESS_5_INFO, environ={"DISPLAY": ":0"})
    assert "without GUI support" in problem and "pip install opencv-contrib-python" in problem
    monkeypatch.setattr(live.sys, "platform", "linux")
    gtk = "  GUI: GTK3\n"
    assert "DISPLAY" in live.opencv_gui_problem(gtk, environ={})
    assert live.opencv_gui_problem(gtk, environ={"DISPLAY": ":0"}) is None
    assert live.opencv_gui_problem(gtk, environ={"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_headless_opencv_is_refused_up_front():
    if live.opencv_gui_problem() is None:
        pytest.skip("this OpenCV can open windows")
    with pytest.raises(live.GuiUnavailableError, match="opencv-contrib-python"):
        live.OpenCVDisplay("never shown")
    # The GUI check comes before the tracker or the camera: a missing source is not even looked at.
    with pytest.raises(live.GuiUnavailableError, match="-headless"):
        live.run_webcam("kcf", "default", source="/no/such/video.avi")


# ---- sources, boxes, drawing ----------------------------------------------------------------------------------------


def test_parse_source_and_missing_or_unreadable_video(tmp_path):
    assert live.parse_source("0") == 0 and live.parse_source(3) == 3
    assert live.parse_source("clip.mp4") == "clip.mp4" and live.parse_source(tmp_path) == str(tmp_path)
    missing = tmp_path / "missing.avi"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        VideoCaptureSource(missing)
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"not a video" * 100)
    with pytest.raises(live.VideoSourceError, match=str(garbage)):
        VideoCaptureSource(garbage)


def test_video_capture_source_reads_every_frame(crossing_video):
    path, _ = crossing_video
    with VideoCaptureSource(str(path)) as source:
        assert source.fps == pytest.approx(10.0)
        frames = []
        while (frame := source.read()) is not None:
            frames.append(frame)
    assert len(frames) == NUM_FRAMES and frames[0].shape == (240, 360, 3) and frames[0].dtype == np.uint8
    assert source.read() is None  # closed


def test_box_helpers():
    assert live.validate_box([1, 2, 3, 4]) == [1.0, 2.0, 3.0, 4.0]
    for bad in ([1, 2, 0, 4], [1, 2, 3], [1, float("nan"), 3, 4]):
        with pytest.raises(ValueError, match="x y w h"):
            live.validate_box(bad)
    assert live.clip_box([-5, 10, 20, 100], 50, 40) == [0.0, 10.0, 15.0, 30.0]
    assert live.clip_box([60, 0, 5, 5], 50, 40) is None
    assert live.box_corners([10.4, 20.6, 5, 5]) == (10, 21, 14, 25)
    assert live.target_colour(1) == live.target_colour(1 + len(live.PALETTE_BGR)) != live.target_colour(2)


def test_render_frame_draws_outlines_and_leaves_the_input_alone():
    frame = np.zeros((60, 80, 3), np.uint8)
    out = live.render_frame(frame, {1: [10, 20, 30, 20], 2: [50, 5, 20, 10]}, draft=[2, 40, 10, 10])
    assert not frame.any()
    assert outline_has_colour(out, [10, 20, 30, 20], GREEN)
    assert outline_has_colour(out, [50, 5, 20, 10], RED)
    assert outline_has_colour(out, [2, 40, 10, 10], WHITE)
    assert not out[30, 25].any()  # inside of a box stays untouched


def test_box_drawer_press_drag_release():
    drawer = BoxDrawer()
    drawer(MouseEvent("move", 5, 5))  # hovering does nothing
    assert drawer.draft is None
    drawer(MouseEvent("down", 30, 40))
    drawer(MouseEvent("move", 10, 15))
    assert drawer.draft == [10.0, 15.0, 20.0, 25.0]  # dragging up-left works too
    drawer(MouseEvent("up", 12, 18))
    assert drawer.draft is None
    for event in Drag((1, 1), (2, 2)).events():  # a click, not a box
        drawer(event)
    assert drawer.pop_completed() == [[12.0, 18.0, 18.0, 22.0]]
    assert drawer.pop_completed() == []


def test_scripted_display_delivers_actions_on_their_step():
    events = []
    display = ScriptedDisplay([(1, KeyPress("r")), (1, KeyPress("q")), (0, Drag((0, 0), (9, 6), moves=1))])
    display.set_mouse_callback(events.append)
    display.show(np.zeros((2, 2, 3), np.uint8))
    assert display.poll_key(1) == -1
    assert events == [MouseEvent("down", 0, 0), MouseEvent("move", 4, 3), MouseEvent("up", 9, 6)]
    display.show(np.ones((2, 2, 3), np.uint8))
    assert [display.poll_key(1), display.poll_key(1), display.poll_key(1)] == [ord("r"), ord("q"), -1]
    assert len(display.shown) == 2 and display.shown[1].max() == 1
    assert isinstance(display, live.Display)


# ---- LiveTargets and the loop ---------------------------------------------------------------------------------------


def test_live_targets_add_track_reset():
    targets = LiveTargets(CountingTracker)
    image = np.zeros((10, 10, 3), np.uint8)
    assert targets.add(image, [1, 2, 3, 4]) == 1 and targets.add(image, [5, 5, 2, 2]) == 2
    assert targets.track(image) == {1: [2.0, 2.0, 3.0, 4.0], 2: [6.0, 5.0, 2.0, 2.0]}
    assert targets._targets[2].tracker.info["object_ids"] == ["2"]
    targets.reset()
    assert len(targets) == 0 and targets.add(image, [0, 0, 4, 4]) == 1


def test_loop_pause_stops_reading_and_source_end_finishes_cleanly():
    CountingTracker.created = 0
    display = ScriptedDisplay([(1, Drag((10, 10), (30, 25))), (2, KeyPress(" ")), (4, KeyPress(" "))])
    result = live.run_live_loop(FrameListSource(grey_frames(5)), display, CountingTracker)
    # shows: frame0, frame1 (+target), frame2 (pause), frame2, frame2 (resume), frame3, frame4; then the source ends
    assert result.kinds() == ["add", "pause", "resume", "end"] and not result.quit_by_user
    assert result.num_frames == 5 and len(display.shown) == 7
    assert [int(f[59, 79, 0]) for f in display.shown] == [10, 20, 30, 30, 30, 40, 50]
    # Added on frame 1, tracked (1 px right per frame) on frames 2, 3, 4 only: nothing is tracked while paused.
    assert [b.get(1, [None])[0] for b in result.boxes] == [None, 10.0, 11.0, 12.0, 13.0]
    assert CountingTracker.created == 1
    assert display.polls == list(range(7))


def test_loop_quits_on_escape_and_max_frames():
    display = ScriptedDisplay([(1, KeyPress(live.KEY_ESC))])
    result = live.run_live_loop(FrameListSource(grey_frames(5)), display, CountingTracker)
    assert result.kinds() == ["quit"] and result.quit_by_user and result.num_frames == 2
    result = live.run_live_loop(FrameListSource(grey_frames(5)), ScriptedDisplay(), CountingTracker, max_frames=3)
    assert result.kinds() == ["end"] and result.num_frames == 3


def test_run_webcam_with_a_recorded_video_and_a_scripted_user(crossing_video, monkeypatch):
    path, gt = crossing_video
    created = []
    original = Tracker.create_tracker

    def counting_create(self, params):
        created.append(params)
        return original(self, params)

    monkeypatch.setattr(Tracker, "create_tracker", counting_create)
    x, y, w, h = (int(v) for v in gt[2])
    x12, y12, w12, h12 = (int(v) for v in gt[12])
    script = [
        (1, MouseEvent("down", x, y)),  # the press comes while frame 1 is shown ...
        (1, MouseEvent("move", x + w, y + h)),
        (2, MouseEvent("up", x + w, y + h)),  # ... the release on frame 2: target 1 starts on frame 2
        (6, Drag((20, 20), (80, 60))),  # a second target on the background
        (10, KeyPress("r")),
        (12, Drag((x12, y12), (x12 + w12, y12 + h12))),
        (16, KeyPress("q")),
    ]
    display = ScriptedDisplay(script)
    result = live.run_webcam("csrt", "default", source=str(path), display=display, debug=0)

    assert [(e.kind, e.frame, e.obj_id) for e in result.events] == [
        ("add", 2, 1),
        ("add", 6, 2),
        ("reset", 10, None),
        ("add", 12, 1),
        ("quit", 16, None),
    ]
    assert result.events[0].box == [float(x), float(y), float(w), float(h)]
    assert len(created) == 3 and all(p.tracker_name == "csrt" and p.param_name == "default" for p in created)
    assert result.num_frames == 17 and len(display.shown) == 17 and not display.closed  # caller's display
    assert [sorted(b) for b in result.boxes] == [[]] * 2 + [[1]] * 4 + [[1, 2]] * 5 + [[]] + [[1]] * 5

    # What the user saw: the draft while dragging, each target's outline in its colour, nothing after the reset.
    assert outline_has_colour(display.shown[2], [x, y, w, h], WHITE)  # drawn before the release on step 2
    assert not outline_has_colour(display.shown[1], [x, y, w, h], WHITE)
    for step in (0, 1, 2, 11):
        assert colour_count(display.shown[step], GREEN) == 0, step
    for step in (3, 5, 7, 9, 13, 16):
        assert outline_has_colour(display.shown[step], result.boxes[step][1], GREEN), step
    for step in range(17):
        assert (colour_count(display.shown[step], RED) > 100) == (7 <= step <= 10), step
    # The tracker follows the pedestrian.
    tracked = [(result.boxes[i][1], gt[i]) for i in (*range(3, 10), *range(13, 17))]
    assert np.mean([iou(a, b)[0] > 0.5 for a, b in tracked]) >= 0.8


# ---- run_video ------------------------------------------------------------------------------------------------------


def test_run_video_tracks_and_saves_the_results(crossing_video, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(tmp_path / "results"))
    path, gt = crossing_video
    result = live.run_video("csrt", "default", path, optional_box=gt[0], save_results=True, run_id=3)
    assert result.num_frames == NUM_FRAMES and result.times.shape == (NUM_FRAMES,) and result.mean_fps > 0
    np.testing.assert_array_equal(result.boxes[0], gt[0])
    assert np.mean(iou(result.boxes, gt) > 0.5) >= 0.9
    assert result.results_file == tmp_path / "results" / "csrt" / "default_003" / "video_crossing.txt"
    saved = np.loadtxt(result.results_file, delimiter="\t")
    assert saved.shape == (NUM_FRAMES, 4)
    np.testing.assert_array_equal(saved, np.trunc(result.boxes))
    assert "\t" in result.results_file.read_text().splitlines()[0]
    assert [p.name for p in result.results_file.parent.iterdir()] == ["video_crossing.txt"]  # no temp file left
    assert f"{NUM_FRAMES} frames" in result.summary() and str(result.results_file) in result.summary()
    # Same seed, same tracker: a second run gives identical boxes.
    again = live.run_video("csrt", "default", path, optional_box=gt[0])
    np.testing.assert_array_equal(again.boxes, result.boxes)
    assert again.results_file is None


def test_run_video_selects_the_box_reselects_on_r_and_stops_on_q(crossing_video):
    path, gt = crossing_video
    display = ScriptedDisplay([(3, KeyPress("r")), (6, KeyPress("q"))], boxes=[gt[0], gt[3]])
    result = live.run_video("kcf", "default", path, display=display)
    assert result.stopped_by_user and result.num_frames == 7
    np.testing.assert_array_equal(result.boxes[0], gt[0])
    np.testing.assert_array_equal(result.boxes[3], gt[3])  # the restart on frame 3 replaced its tracked box
    assert len(display.select_frames) == 2 and len(display.shown) == 7
    assert outline_has_colour(display.shown[0], gt[0], GREEN)
    assert outline_has_colour(display.shown[4], result.boxes[4], GREEN)


def test_run_video_errors(crossing_video, tmp_path):
    path, gt = crossing_video
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        live.run_video("kcf", "default", tmp_path / "missing.mp4", optional_box=gt[0])
    with pytest.raises(ValueError, match="no box selected"):
        live.run_video("kcf", "default", path, display=ScriptedDisplay(boxes=[None]))
    with pytest.raises(ValueError, match="w, h > 0"):
        live.run_video("kcf", "default", path, optional_box=[1, 2, 0, 3])
    with pytest.raises(ModuleNotFoundError, match="no_such_tracker"):
        live.run_video("no_such_tracker", "default", path, optional_box=gt[0])
    if live.opencv_gui_problem() is not None:
        with pytest.raises(live.GuiUnavailableError, match="--optional_box x y w h"):
            live.run_video("kcf", "default", path)
