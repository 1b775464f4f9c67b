"""DiMP's debug blocks: what it registers on an attached debug view at ``--debug 3``, and that without a view
(``--debug 0``) no debug work is done."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pytracking.evaluation import Sequence, Tracker
from pytracking.parameter.dimp import dimp18
from pytracking.tracker.dimp import dimp as dimp_module
from pytracking.utils import debug_view
from pytracking.utils.plotting import as_map, parse_bbreg_data, parse_tracking_data

NUM_FRAMES = 3


class RecordingView:
    """A debug view that records ``register`` calls as (mode, level, title, data)."""

    def __init__(self, debug: int):
        self.debug = debug
        self.registered_this_frame: set[str] = set()
        self.calls: list[tuple] = []

    def register(self, data, mode, debug_level=0, title="Data", **kwargs):
        self.calls.append((mode, debug_level, title, data))
        self.registered_this_frame.add(title)

    def block_until_unpaused(self, timeout=None):
        self.registered_this_frame = set()
        return True


class KeepTracker(Tracker):
    """Keeps the last tracker instance it created."""

    def create_tracker(self, params):
        self.instance = super().create_tracker(params)
        return self.instance


def small_dimp18():
    """dimp18 made cheap (128 px search region, three augmented samples), with the not-found test off so that
    every frame runs the IoU-Net refinement."""
    params = dimp18.parameters()
    params.image_sample_size = 8 * 16
    params.augmentation = {"fliplr": True, "dropout": (1, 0.2)}
    params.target_not_found_threshold = -1.0
    params.num_init_random_boxes = 4
    params.box_refinement_iter = 2
    return params


def moving_square(directory: Path) -> Sequence:
    frames = []
    for i in range(NUM_FRAMES):
        image = np.full((120, 160, 3), 60, np.uint8)
        image[30:54, 40 + 3 * i : 70 + 3 * i] = (40, 40, 220)
        frames.append(str(directory / f"{i:04d}.png"))
        cv2.imwrite(frames[-1], image)
    return Sequence("square", frames, "synthetic", np.array([[40.0, 30.0, 30.0, 24.0]] * NUM_FRAMES))


@pytest.fixture
def run(official_network_dir, tmp_path, monkeypatch):
    """``run(debug) -> (tracker instance, output, recording view or None)`` for small_dimp18 on the square."""
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(official_network_dir("dimp18.pth")))
    seq = moving_square(tmp_path)
    views = []

    def make_view(debug, visdom_info=None):
        views.append(RecordingView(debug))
        return views[-1]

    monkeypatch.setattr(debug_view, "make_debug_view", make_view)

    def run_at(debug: int):
        tracker = KeepTracker("dimp", "dimp18", parameters=small_dimp18)
        output = tracker.run_sequence(seq, debug=debug, seed=1)
        return tracker.instance, output, views[-1] if debug > 0 else None

    return run_at


@pytest.mark.slow
def test_debug_blocks_at_level_3(run):
    tracker, output, view = run(3)
    titles = [(mode, level, title) for mode, level, title, _ in view.calls]
    per_frame = [("heatmap", 2, "Score Map"), ("info_dict", 1, "Status")]
    per_frame += [("bbreg", 3, "IoU-Net proposals"), ("Tracking", 1, "Tracking")]
    # initialize: the init patch; the harness draws frame 0; each later frame: the tracker's four blocks, so the
    # harness does not draw 'Tracking' again.
    assert titles == [("Tracking", 3, "Init patch"), ("Tracking", 1, "Tracking")] + per_frame * (NUM_FRAMES - 1)

    patch, boxes, _ = parse_tracking_data(view.calls[0][3])
    assert patch.shape == (128, 128, 3) and boxes.shape == (1, 4)
    # The 30 x 24 target at scale sqrt(150 * 120) / 128: centred in the patch.
    np.testing.assert_allclose(boxes[0, 2:], np.array([30, 24]) * 128 / np.sqrt(150 * 120), rtol=1e-5)
    np.testing.assert_allclose(boxes[0, :2] + (boxes[0, 2:] - 1) / 2, [63.5, 63.5], atol=0.51)

    later = view.calls[2:]
    for frame in range(1, NUM_FRAMES):
        heat, status, bbreg, tracking = (data for _, _, _, data in later[4 * (frame - 1) : 4 * frame])
        assert as_map(heat).shape == tuple(tracker.output_sz.long().tolist())
        assert status["frame_num"] == frame + 1 and status["flag"] in ("normal", "uncertain", "hard_negative")
        assert status["max_score"] == pytest.approx(float(as_map(heat).max()))
        image, proposals, ious = parse_bbreg_data(bbreg)
        assert image.shape == (128, 128, 3) and proposals.shape == (5, 4) and ious.shape == (5,)
        assert np.isfinite(ious).all()
        image, box, _ = parse_tracking_data(tracking)
        assert image.shape == (120, 160, 3)
        np.testing.assert_array_equal(box[0], output["target_bbox"][frame])


@pytest.mark.slow
def test_no_debug_work_without_a_view(run, monkeypatch):
    crops = []
    real_sample_patch = dimp_module.sample_patch

    def counting_sample_patch(*args, **kwargs):
        crops.append(args[2])
        return real_sample_patch(*args, **kwargs)

    monkeypatch.setattr(dimp_module, "sample_patch", counting_sample_patch)
    tracker, quiet, _ = run(0)
    assert tracker.visdom is None and tracker.debug_proposals is None
    assert len(crops) == 1  # only the initial sample; the debug view's extra init-patch crop is not made
    crops.clear()
    tracker, debugged, _ = run(3)
    assert len(crops) == 2 and tracker.debug_proposals is not None
    # Debugging changes nothing in the tracking itself.
    assert debugged["target_bbox"] == quiet["target_bbox"]
