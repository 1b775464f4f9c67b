"""Weight-free reference trackers: OpenCV's CSRT and KCF, and the static / constant-velocity baseline."""

from __future__ import annotations

import importlib
import logging
import sys
import types

import numpy as np
import pytest

from pytracking.tracker.base import BaseTracker, validate_output
from pytracking.tracker.base.opencv_tracker import OpenCVTracker, opencv_tracker_api
from pytracking.utils.image_io import imread
from pytracking.utils.load_text import load_text
from pytracking.utils.params import TrackerParams

OPENCV_TRACKERS = ("csrt", "kcf")
VELOCITY = (2, 1)  # pixels per frame of the synthetic target


def tracker_class(name: str) -> type[BaseTracker]:
    return importlib.import_module(f"pytracking.tracker.{name}").get_tracker_class()


def iou(a, b) -> np.ndarray:
    """IoU of matching rows of two (N, 4) [x, y, w, h] arrays."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    tl = np.maximum(a[:, :2], b[:, :2])
    br = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=1)
    return inter / (np.prod(a[:, 2:], axis=1) + np.prod(b[:, 2:], axis=1) - inter)


def moving_square(n: int = 30, height: int = 120, width: int = 160, size: int = 24):
    """A textured square moving at VELOCITY over a fixed noise background; frames RGB uint8, GT (n, 4)."""
    rng = np.random.default_rng(0)
    background = rng.integers(60, 110, (height, width, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:size, :size]
    patch = np.zeros((size, size, 3), np.uint8)
    patch[..., 0] = np.where((yy // 6 + xx // 6) % 2 == 0, 230, 30)  # checkerboard in red
    patch[..., 1] = 40
    patch[..., 2] = np.where(xx < size // 2, 200, 20)  # left half blue
    frames, boxes = [], []
    for t in range(n):
        x, y = 30 + VELOCITY[0] * t, 40 + VELOCITY[1] * t
        frame = background.copy()
        frame[y : y + size, x : x + size] = patch
        frames.append(frame)
        boxes.append([x, y, size, size])
    return frames, np.array(boxes, np.float64)


def run(tracker: BaseTracker, frames, init_box) -> tuple[list[list[float]], list[dict]]:
    """Boxes per frame (frame 0 = init box) and the raw track() outputs."""
    assert isinstance(tracker.initialize(frames[0], {"init_bbox": list(init_box)}), dict)
    outputs = [tracker.track(frame, {}) for frame in frames[1:]]
    return [list(init_box)] + [o["target_bbox"] for o in outputs], outputs


@pytest.fixture(scope="module")
def square():
    return moving_square()


@pytest.mark.parametrize(("name", "mean_iou"), [("csrt", 0.85), ("kcf", 0.7)])  # OpenCV 5.0: 0.94, 0.79
def test_opencv_trackers_follow_an_easy_moving_square(name, mean_iou, square):
    frames, gt = square
    boxes, outputs = run(tracker_class(name)(), frames, gt[0])
    for out in outputs:
        validate_output(out, frames[0].shape)
        assert all(type(v) is float for v in out["target_bbox"])
        assert out["object_presence_score"] == 1.0
    overlap = iou(boxes, gt)
    assert overlap.min() > 0.5 and overlap.mean() > mean_iou, overlap
    # The static box has lost the target by the end: the tracker really moved.
    assert iou(gt[:1], gt[-1:])[0] == 0.0


@pytest.mark.parametrize("name", OPENCV_TRACKERS)
def test_lost_target_keeps_the_last_box_with_zero_presence(name, square):
    frames, gt = square
    # The square vanishes after frame 9 (uniform grey frames): OpenCV reports failure.
    frames = frames[:10] + [np.full_like(frames[0], 90)] * 4
    _, outputs = run(tracker_class(name)(), frames, gt[0])
    visible, lost = outputs[:9], outputs[9:]
    assert [o["object_presence_score"] for o in visible] == [1.0] * 9
    assert [o["object_presence_score"] for o in lost] == [0.0] * 4
    assert all(o["target_bbox"] == visible[-1]["target_bbox"] for o in lost)


def test_csrt_tracks_otb_crossing(shared_real):
    root = shared_real / "OTB" / "Crossing"
    gt = load_text(root / "groundtruth_rect.txt", delimiter=(",", None))[:60]
    frames = [imread(p) for p in sorted((root / "img").glob("*.jpg"))[:60]]
    assert len(frames) == 60 and frames[0].shape[2] == 3
    boxes, _ = run(tracker_class("csrt")(), frames, gt[0])
    overlap = iou(boxes, gt)
    # OpenCV 5.0 reaches mean 0.80 (min 0.60); the margin absorbs OpenCV version differences.
    assert overlap.mean() > 0.6, overlap


def test_parameters_reach_opencv_with_opencv_types():
    params = TrackerParams.strict(tracker_class("csrt").DEFAULTS)
    params.padding = 2  # an int where OpenCV has a float field
    params.number_of_scales = 17
    params.use_segmentation = False
    tracker = tracker_class("csrt")(params)
    if tracker._params_class is None:
        pytest.skip("legacy OpenCV API: parameters cannot be set")
    cv_params = tracker._opencv_params()
    assert cv_params.padding == 2.0 and isinstance(cv_params.padding, float)
    assert cv_params.number_of_scales == 17
    assert cv_params.use_segmentation is False
    assert cv_params.psr_threshold == pytest.approx(0.035)


def test_rgb_frames_are_handed_to_opencv_as_bgr():
    image = np.zeros((2, 3, 3), np.uint8)
    image[..., 0] = 255  # pure red in RGB
    bgr = OpenCVTracker._to_bgr(image)
    assert bgr[..., 2].min() == 255 and bgr[..., :2].max() == 0
    assert bgr.flags["C_CONTIGUOUS"]
    with pytest.raises(ValueError, match="uint8 RGB"):
        OpenCVTracker._to_bgr(np.zeros((2, 3), np.uint8))


def test_initial_box_is_rounded_and_clipped_to_the_image():
    assert OpenCVTracker._init_rect([-5.4, 3.6, 20.0, 10.0], (20, 12, 3)) == (0, 4, 12, 10)
    assert OpenCVTracker._init_rect([2.0, 3.0, 4.0, 5.0], (20, 12, 3)) == (2, 3, 4, 5)
    with pytest.raises(ValueError, match="does not overlap"):
        OpenCVTracker._init_rect([30.0, 3.0, 4.0, 5.0], (20, 12, 3))


@pytest.mark.parametrize("name", [*OPENCV_TRACKERS, "baseline"])
def test_track_before_initialize_and_bad_init_box_fail_clearly(name):
    image = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(RuntimeError, match="before initialize"):
        tracker_class(name)().track(image)
    with pytest.raises(ValueError, match="finite"):
        tracker_class(name)().initialize(image, {"init_bbox": [1.0, 2.0, float("inf"), 3.0]})


def fake_cv2(**attrs) -> types.ModuleType:
    module = types.ModuleType("cv2")
    module.__version__ = "0.0-fake"
    module.__dict__.update(attrs)
    return module


def test_api_lookup_prefers_the_params_api_then_class_create_then_legacy(monkeypatch):
    def create(*args):
        return args

    params_class = type("Params", (), {})
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(TrackerX_create=create, TrackerX_Params=params_class))
    assert opencv_tracker_api("TrackerX") == (create, params_class)
    cls = types.SimpleNamespace(create=create, Params=params_class)
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(TrackerX=cls))
    assert opencv_tracker_api("TrackerX") == (create, params_class)
    legacy = types.SimpleNamespace(TrackerX_create=create)
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(legacy=legacy))
    assert opencv_tracker_api("TrackerX") == (create, None)


def test_missing_contrib_build_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2())
    with pytest.raises(ImportError, match=r"cv2 0.0-fake has no TrackerCSRT .*opencv-contrib-python-headless"):
        tracker_class("csrt")()
    monkeypatch.setitem(sys.modules, "cv2", None)  # "import cv2" raises ImportError
    with pytest.raises(ImportError, match="needs OpenCV.*opencv-contrib-python-headless"):
        tracker_class("kcf")()


def test_legacy_api_warns_that_parameters_are_not_applied(monkeypatch, caplog, square):
    created = []

    class LegacyTracker:
        def init(self, image, rect):
            created.append(rect)
            return True

        def update(self, image):
            return False, (0, 0, 0, 0)

    monkeypatch.setitem(sys.modules, "cv2", fake_cv2(legacy=types.SimpleNamespace(TrackerKCF_create=LegacyTracker)))
    frames, gt = square
    with caplog.at_level(logging.WARNING):
        _, outputs = run(tracker_class("kcf")(), frames[:2], gt[0])
    assert created == [(30, 40, 24, 24)]
    assert "legacy OpenCV API" in caplog.text
    assert outputs == [{"target_bbox": [30.0, 40.0, 24.0, 24.0], "object_presence_score": 0.0}]


def test_static_baseline_reports_the_initial_box(square):
    frames, gt = square
    boxes, outputs = run(tracker_class("baseline")(), frames, gt[0])
    assert boxes == [list(gt[0])] * len(frames)
    for out in outputs:
        validate_output(out, frames[0].shape)


def test_constant_velocity_baseline_follows_a_constant_velocity_target(square):
    frames, gt = square
    params = importlib.import_module("pytracking.parameter.baseline.default").parameters()
    params.velocity = VELOCITY
    boxes, _ = run(tracker_class("baseline")(params), frames, gt[0])
    np.testing.assert_array_equal(np.array(boxes), gt)


def test_baseline_keeps_the_box_centre_inside_the_image():
    params = TrackerParams.strict(tracker_class("baseline").DEFAULTS)
    params.velocity = (-10.0, 7.0)
    tracker = tracker_class("baseline")(params)
    image = np.zeros((50, 40, 3), np.uint8)
    tracker.initialize(image, {"init_bbox": [5.0, 30.0, 10.0, 8.0]})
    assert tracker.track(image)["target_bbox"] == [-5.0, 37.0, 10.0, 8.0]  # centre (0, 41): still inside
    assert tracker.track(image)["target_bbox"] == [-5.0, 44.0, 10.0, 8.0]  # clamped x; centre y at 48
    assert tracker.track(image)["target_bbox"] == [-5.0, 46.0, 10.0, 8.0]  # centre y clamped to 50
    params.clip_to_image = False
    assert tracker.track(image)["target_bbox"] == [-35.0, 58.0, 10.0, 8.0]
