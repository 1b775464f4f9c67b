"""BaseTracker (defaults, strict parameters, dashboard hook) and the I/O contract's validator."""

from __future__ import annotations

import numpy as np
import pytest

from pytracking.tracker.base import BaseTracker, FrameInfo, InitInfo, TrackerOutput, validate_output
from pytracking.utils.params import TrackerParams


class Shift(BaseTracker):
    """Moves the box by ``step`` pixels in x per frame."""

    DEFAULTS = {"step": 1.0, "size_factor": 1.0}

    def initialize(self, image, info):
        self.box = [float(v) for v in info["init_bbox"]]
        return {}

    def track(self, image, info=None):
        self.box[0] += self.params.step
        return {"target_bbox": list(self.box), "object_presence_score": 1.0}


class RecordingVisdom:
    def __init__(self):
        self.calls = []

    def register(self, data, mode, debug_level, title):
        self.calls.append((data, mode, debug_level, title))


def test_base_tracker_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        BaseTracker(TrackerParams())


def test_class_level_contract():
    tracker = Shift()
    assert Shift.multiobj_mode == "parallel" and BaseTracker.multiobj_mode == "parallel"
    assert tracker.predicts_segmentation_mask() is False
    assert tracker.visdom is None


def test_without_params_the_tracker_gets_strict_defaults():
    tracker = Shift()
    assert tracker.params.to_dict() == {"step": 1.0, "size_factor": 1.0}
    with pytest.raises(AttributeError, match="did you mean 'step'"):
        tracker.params.stepp = 2.0


def test_given_params_keep_their_values_and_gain_missing_defaults():
    params = TrackerParams()
    params.step = 3.0
    tracker = Shift(params)
    assert tracker.params is params
    assert params.to_dict() == {"step": 3.0, "size_factor": 1.0}
    image = np.zeros((20, 30, 3), np.uint8)
    assert tracker.initialize(image, {"init_bbox": [1, 2, 3, 4]}) == {}
    assert tracker.track(image)["target_bbox"] == [4.0, 2.0, 3.0, 4.0]
    assert tracker.track(image)["target_bbox"] == [7.0, 2.0, 3.0, 4.0]


def test_strict_params_declaring_other_names_reject_the_tracker_defaults():
    # A parameter file built against the wrong declaration fails when the tracker is created.
    params = TrackerParams.strict({"step": 2.0})
    with pytest.raises(AttributeError, match="'size_factor' is not a declared parameter"):
        Shift(params)


def test_visdom_draw_tracking_registers_frame_boxes_and_mask():
    tracker = Shift()
    image = np.zeros((4, 5, 3), np.uint8)
    tracker.visdom_draw_tracking(image, [1, 2, 3, 4])  # no dashboard attached: nothing happens
    tracker.visdom = RecordingVisdom()
    mask = np.ones((4, 5), np.uint8)
    tracker.visdom_draw_tracking(image, [1, 2, 3, 4])
    tracker.visdom_draw_tracking(image, {"1": [0, 0, 1, 1], "2": [1, 1, 2, 2]}, mask)
    (d1, *rest1), (d2, *rest2) = tracker.visdom.calls
    assert rest1 == rest2 == ["Tracking", 1, "Tracking"]
    assert d1[0] is image and d1[1:] == ([1, 2, 3, 4],)
    assert d2[1:3] == ([0, 0, 1, 1], [1, 1, 2, 2]) and d2[3] is mask


def test_typed_dicts_name_the_contract_fields():
    assert set(InitInfo.__optional_keys__) == {"init_bbox", "init_mask", "object_ids", "sequence_object_ids"}
    assert set(TrackerOutput.__optional_keys__) == {
        "target_bbox",
        "time",
        "segmentation",
        "segmentation_raw",
        "object_presence_score",
        "object_ids",
    }
    assert set(FrameInfo.__optional_keys__) == set(InitInfo.__optional_keys__) | {"previous_output"}


def test_validate_output_accepts_valid_outputs():
    seg = np.zeros((6, 8), np.uint8)
    validate_output({})
    validate_output({"target_bbox": [1.5, -2.0, 3.0, 0.0], "time": 0.01, "object_presence_score": 0.0})
    validate_output({"target_bbox": (np.float32(1), 2, 3, 4), "segmentation": seg}, image_shape=(6, 8, 3))
    validate_output({"target_bbox": {"1": [0, 0, 1, 1], "2": [1, 1, 2, 2]}, "object_presence_score": {"1": 1.0}})
    validate_output({"target_bbox": [-1, -1, -1, -1]})  # the 'not found' convention (NOT_FOUND_BOX)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ([1, 2, 3, 4], "must be a dict"),
        ({"target_bbox": [1, 2, 3]}, r"target_bbox: expected a box"),
        ({"target_bbox": np.array([1, 2, 3, 4])}, r"target_bbox: expected a box"),
        ({"target_bbox": [1, 2, float("nan"), 4]}, "finite"),
        ({"target_bbox": [1, 2, -3, 4]}, ">= 0"),
        ({"target_bbox": [-1, -1, -1, -2]}, ">= 0"),
        ({"target_bbox": {"2": [1, 2, 3]}}, r"target_bbox\[2\]"),
        ({"time": -1.0}, "non-negative"),
        ({"object_presence_score": 1.5}, r"\[0, 1\]"),
        ({"object_presence_score": {"3": -0.1}}, r"object_presence_score\[3\]"),
        ({"segmentation": np.zeros((6, 8), np.float32)}, "uint8"),
        ({"segmentation": np.zeros((6, 8, 1), np.uint8)}, r"\(H, W\)"),
        ({"segmentation": np.zeros((5, 8), np.uint8)}, "differs from the image"),
    ],
)
def test_validate_output_names_the_bad_field(output, message):
    with pytest.raises(ValueError, match=message):
        validate_output(output, image_shape=(6, 8, 3))
