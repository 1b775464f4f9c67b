"""MultiObjectWrapper: one tracker per object, per-object init info, late objects, merging of outputs."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from view_helpers import RecordingView

from pytracking.evaluation.multi_object_wrapper import MultiObjectWrapper, default_merge

IMAGE = np.zeros((6, 8, 3), np.uint8)


# ---- default_merge ---------------------------------------------------------------------------------------------


def test_merge_binary_masks_first_object_wins_overlaps():
    a = np.zeros((2, 4), np.uint8)
    a[:, :2] = 1
    b = np.zeros((2, 4), bool)
    b[:, 1:3] = True
    merged = default_merge({"1": {"segmentation": a, "target_bbox": [0, 0, 2, 2]}, "3": {"segmentation": b}})
    np.testing.assert_array_equal(merged["segmentation"], [[1, 1, 3, 0], [1, 1, 3, 0]])
    assert merged["segmentation"].dtype == np.uint8
    assert merged["target_bbox"] == {"1": [0, 0, 2, 2]}


def test_merge_soft_masks_threshold_then_argmax():
    p1 = np.array([[0.9, 0.6, 0.2, 0.5]])
    p2 = np.array([[0.3, 0.7, 0.4, 0.5]])
    merged = default_merge({"2": {"segmentation": p1}, "5": {"segmentation": p2}})
    # 0.5 is not above the threshold: background; 0.6 < 0.7: object 5
    np.testing.assert_array_equal(merged["segmentation"], [[2, 5, 0, 0]])
    merged = default_merge({"2": {"segmentation": p1}, "5": {"segmentation": p2}}, threshold=0.1)
    np.testing.assert_array_equal(merged["segmentation"], [[2, 5, 5, 2]])


def test_merge_other_keys_become_dicts_and_errors():
    merged = default_merge({"a": {"time": 1.0, "score": 3}, "b": {"time": 2.0}})
    assert merged == {"time": {"a": 1.0, "b": 2.0}, "score": {"a": 3}}
    with pytest.raises(ValueError, match="shape"):
        default_merge({"1": {"segmentation": np.zeros((2, 2))}, "2": {"segmentation": np.zeros((2, 3))}})
    with pytest.raises(ValueError, match="not an integer"):
        default_merge({"car": {"segmentation": np.zeros((2, 2))}})
    with pytest.raises(ValueError, match="1..255"):
        default_merge({"300": {"segmentation": np.zeros((2, 2))}})


# ---- the wrapper -----------------------------------------------------------------------------------------------


class Shifter:
    """Adds its own object's offset to the box each frame; records its init info."""

    instances: list = []
    features_loaded = 0

    def __init__(self, params):
        self.params = params
        Shifter.instances.append(self)

    def initialize_features(self):
        Shifter.features_loaded += 1

    def initialize(self, image, info):
        self.info = info
        self.box = list(info["init_bbox"])
        self.prev = []
        return {"time": 0.125}

    def track(self, image, info=None):
        self.prev.append(info["previous_output"])
        self.box = [self.box[0] + 1, *self.box[1:]]
        return {"target_bbox": self.box, "segmentation": self.info["init_mask"]}


@pytest.fixture(autouse=True)
def reset_shifter():
    Shifter.instances = []
    Shifter.features_loaded = 0


def label_map():
    lab = np.zeros((6, 8), np.uint8)
    lab[0:2, 0:3] = 1
    lab[3:6, 4:8] = 2
    lab[5, 0] = 7
    return lab


def test_initialize_splits_info_per_object():
    w = MultiObjectWrapper(Shifter, SimpleNamespace())
    info = {
        "init_bbox": {"1": [0, 0, 3, 2], "2": [4, 3, 4, 3]},
        "init_mask": label_map(),
        "object_ids": ["1", "2"],
        "sequence_object_ids": ["1", "2", "7"],
    }
    out = w.initialize(IMAGE, info)
    assert len(Shifter.instances) == 2 and list(w.trackers) == ["1", "2"]
    i1 = Shifter.instances[0].info
    assert i1["init_bbox"] == [0, 0, 3, 2] and i1["object_ids"] == ["1"]
    np.testing.assert_array_equal(i1["init_mask"], (label_map() == 1).astype(np.uint8))
    assert i1["sequence_object_ids"] == ["1", "2", "7"]
    assert list(i1["init_other"]) == ["1", "2"] and i1["init_other"]["2"]["init_bbox"] == [4, 3, 4, 3]
    assert out["target_bbox"] == {"1": [0, 0, 3, 2], "2": [4, 3, 4, 3]}  # defaults to the init boxes
    assert out["time"] == {"1": 0.125, "2": 0.125}
    np.testing.assert_array_equal(out["segmentation"], np.where(label_map() == 7, 0, label_map()))


def test_track_merges_and_starts_late_objects():
    w = MultiObjectWrapper(Shifter, SimpleNamespace())
    w.initialize(IMAGE, {"init_bbox": {"1": [0, 0, 3, 2]}, "init_mask": label_map(), "object_ids": ["1"]})
    out = w.track(IMAGE, {"previous_output": {"ignored": 1}})
    assert out["target_bbox"] == {"1": [1, 0, 3, 2]}
    assert set(out["time"]) == {"1"} and out["time"]["1"] >= 0
    prev = Shifter.instances[0].prev[0]  # its own initialize output, not the loop's merged previous_output
    assert prev["target_bbox"] == [0, 0, 3, 2] and prev["time"] == 0.125
    # object 7 appears on this frame, with a mask only: its box comes from the mask
    out = w.track(IMAGE, {"init_mask": label_map(), "object_ids": ["7"]})
    assert list(w.trackers) == ["1", "7"]
    assert Shifter.instances[1].info["init_bbox"] == [0.0, 5.0, 1.0, 1.0]
    assert out["target_bbox"] == {"1": [2, 0, 3, 2], "7": [0.0, 5.0, 1.0, 1.0]}
    expected = np.zeros((6, 8), np.uint8)
    expected[0:2, 0:3] = 1
    expected[5, 0] = 7
    np.testing.assert_array_equal(out["segmentation"], expected)
    out = w.track(IMAGE, {})
    assert out["target_bbox"] == {"1": [3, 0, 3, 2], "7": [1.0, 5.0, 1.0, 1.0]}
    # each object's tracker got its own previous output, not the merged one
    assert Shifter.instances[1].prev[-1]["target_bbox"] == [0.0, 5.0, 1.0, 1.0]


def test_fast_load_copies_one_prepared_tracker():
    w = MultiObjectWrapper(Shifter, SimpleNamespace(), fast_load=True)
    w.initialize(IMAGE, {"init_bbox": {"1": [0, 0, 1, 1], "2": [1, 1, 1, 1]}, "object_ids": ["1", "2"]})
    assert Shifter.features_loaded == 1  # loaded once, then deep-copied
    a, b = w.trackers.values()
    assert a is not b and a.box == [0, 0, 1, 1] and b.box == [1, 1, 1, 1]


class WithOwnMerge(Shifter):
    def merge_results(self, outputs):
        return {"target_bbox": {k: v["target_bbox"] for k, v in outputs.items()}, "merged_by": "tracker"}


def test_tracker_merge_results_and_threshold_param():
    w = MultiObjectWrapper(WithOwnMerge, SimpleNamespace())
    out = w.initialize(IMAGE, {"init_bbox": {"1": [0, 0, 1, 1]}, "object_ids": ["1"]})
    assert out == {"target_bbox": {"1": [0, 0, 1, 1]}, "merged_by": "tracker"}

    class Soft(Shifter):
        def track(self, image, info=None):
            return {"segmentation": np.full((1, 2), 0.6)}

    w = MultiObjectWrapper(Soft, SimpleNamespace(segmentation_threshold=0.7))
    w.initialize(IMAGE, {"init_bbox": {"1": [0, 0, 1, 1]}, "object_ids": ["1"]})
    np.testing.assert_array_equal(w.track(IMAGE)["segmentation"], [[0, 0]])


def test_initialize_needs_objects_and_boxes():
    w = MultiObjectWrapper(Shifter, SimpleNamespace())
    with pytest.raises(ValueError, match="no object ids"):
        w.initialize(IMAGE, {"init_bbox": {}})
    with pytest.raises(ValueError, match="object '2'"):
        w.initialize(IMAGE, {"init_bbox": {"1": [0, 0, 1, 1]}, "object_ids": ["1", "2"]})


# ---- debug view ------------------------------------------------------------------------------------------------


class Drawer(Shifter):
    """A Shifter that draws its own 'Tracking' block and a per-object 'Score Map' block, like DiMP does."""

    multiobj_mode = "parallel"

    def track(self, image, info=None):
        out = super().track(image, info)
        if getattr(self, "visdom", None) is not None:
            self.visdom.register((image, self.box), "Tracking", 1, "Tracking")
            self.visdom.register(np.full((2, 2), self.box[0]), "heatmap", 2, "Score Map", range=(0, 9))
        return out


def test_debug_view_gets_per_object_blocks_and_no_per_object_tracking_block():
    view = RecordingView(debug=2)
    w = MultiObjectWrapper(Drawer, SimpleNamespace(), fast_load=True)
    w.visdom = view  # attached after construction, as the harness does
    w.initialize(
        IMAGE, {"init_bbox": {"1": [0, 0, 3, 2], "2": [4, 3, 4, 3]}, "init_mask": label_map(), "object_ids": ["1", "2"]}
    )
    v1, v2 = (t.visdom for t in w.trackers.values())
    assert (v1.view, v1.obj_id, v2.view, v2.obj_id) == (view, "1", view, "2")
    assert v1.debug == 2 and v1.registered_this_frame is view.registered_this_frame
    w.track(IMAGE, {})
    assert [c[:3] for c in view.calls] == [
        ("heatmap", 2, "Score Map (object 1)"),
        ("heatmap", 2, "Score Map (object 2)"),
    ]
    np.testing.assert_array_equal(view.calls[0][3], np.full((2, 2), 1))
    np.testing.assert_array_equal(view.calls[1][3], np.full((2, 2), 5))
    assert view.calls[0][4] == {"range": (0, 9)}
    assert view.registered_this_frame == {"Score Map (object 1)", "Score Map (object 2)"}  # 'Tracking' left free
    assert v1.block_until_unpaused() is True and view.frames_done == 1


def test_run_sequence_debug_view_shows_all_objects_boxes_and_masks(tmp_path, monkeypatch):
    from PIL import Image

    from pytracking.evaluation import Sequence, Tracker
    from pytracking.utils import debug_view

    labels = np.zeros((6, 8), np.uint8)
    labels[0:2, 0:3] = 1
    labels[3:6, 4:8] = 2
    frames, masks = [], []
    for i in range(3):
        frames.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (8, 6), (i, 0, 0)).save(frames[-1])
        masks.append(str(tmp_path / f"{i}_mask.png"))
        Image.fromarray(labels, mode="L").save(masks[-1])
    gt = {"1": np.array([[0, 0, 3, 2]] * 3, float), "2": np.array([[4, 3, 4, 3]] * 3, float)}
    seq = Sequence("two", frames, "test", gt, masks, object_ids=["1", "2"], multiobj_mode=True)
    view = RecordingView(debug=1)
    monkeypatch.setattr(debug_view, "make_debug_view", lambda debug, visdom_info=None: view)

    Tracker("drawer", "p", tracker_class=Drawer, parameters=SimpleNamespace).run_sequence(seq, debug=1)

    tracking = [c for c in view.calls if c[2] == "Tracking"]
    assert len(tracking) == 3 and view.frames_done == 3  # one block per frame, drawn by the harness
    assert [c[2] for c in view.calls if c[2] != "Tracking"] == ["Score Map (object 1)", "Score Map (object 2)"] * 2
    for frame, (mode, level, _, data, _) in enumerate(tracking):
        image, box1, box2, mask = data
        assert (mode, level) == ("Tracking", 1) and image[0, 0, 0] == frame
        assert list(box1) == [frame, 0, 3, 2] and list(box2) == [4 + frame, 3, 4, 3]
        np.testing.assert_array_equal(mask, labels)
