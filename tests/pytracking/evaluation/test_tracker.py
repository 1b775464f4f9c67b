"""Tracker: result folders, code lookup by name, the per-frame loop's output rules, seeding."""

from __future__ import annotations

import hashlib
import random
import sys
import textwrap
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from pytracking.evaluation import Sequence, Tracker, trackerlist
from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.tracker import sequence_seed
from pytracking.utils.image_io import imwrite_indexed


@pytest.fixture
def env(tmp_path) -> EnvSettings:
    env = EnvSettings()
    env.results_path = str(tmp_path / "results")
    env.segmentation_path = str(tmp_path / "segs")
    return env


def write_frames(folder, n, color=(200, 10, 30), size=(12, 8)):
    """n PNG frames of one colour (W, H = size); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i:04d}.png"
        Image.new("RGB", size, color).save(path)
        paths.append(str(path))
    return paths


class RecordingTracker:
    """Moves the box by +1 in x per frame and records what it was given."""

    multiobj_mode = "parallel"

    def __init__(self, params):
        self.params = params
        self.calls = []
        RecordingTracker.last = self

    def initialize(self, image, info):
        self.calls.append(("init", image.copy(), dict(info)))
        self.box = list(info["init_bbox"])
        return None

    def track(self, image, info=None):
        self.calls.append(("track", image.copy(), dict(info)))
        self.box = [self.box[0] + 1, *self.box[1:]]
        return {"target_bbox": self.box, "object_presence_score": 0.25}


def params_factory(**kw):
    return lambda: SimpleNamespace(**kw)


def make_seq(tmp_path, n=4, **kw):
    gt = np.array([[2, 3, 4, 5]] * n, dtype=float)
    return Sequence("seq_a", write_frames(tmp_path / "frames", n), "test", gt, **kw)


# ---- construction ----------------------------------------------------------------------------------------------


def test_result_dirs_and_run_ids(env, tmp_path):
    t = Tracker("dimp", "dimp50", env=env)
    assert t.results_dir == str(tmp_path / "results" / "dimp" / "dimp50")
    assert t.segmentation_dir == str(tmp_path / "segs" / "dimp" / "dimp50")
    assert t.id_string == "dimp/dimp50"
    t3 = Tracker("dimp", "dimp50", 3, "DiMP", env=env)
    assert t3.results_dir.endswith("dimp50_003") and t3.display_name == "DiMP" and t3.id_string == "dimp/dimp50_003"
    with pytest.raises(ValueError, match="run_id"):
        Tracker("dimp", "dimp50", -1, env=env)


def test_results_path_from_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTRACKING_RESULTS_PATH", str(tmp_path / "r"))
    assert Tracker("a", "b", 1).results_dir == str(tmp_path / "r" / "a" / "b_001")


def test_trackerlist(env):
    ts = trackerlist("atom", "default", range(2), "ATOM", env=env)
    assert [t.run_id for t in ts] == [0, 1] and all(t.display_name == "ATOM" for t in ts)
    assert [t.run_id for t in trackerlist("atom", "default", 4, env=env)] == [4]
    assert [t.run_id for t in trackerlist("atom", "default", env=env)] == [None]


def test_construction_does_not_import_tracker_code(env):
    t = Tracker("no_such_tracker", "x", env=env)  # the analysis builds Trackers for result folders only
    with pytest.raises(ModuleNotFoundError, match="no_such_tracker"):
        _ = t.tracker_class


@pytest.fixture
def temp_package(tmp_path, monkeypatch):
    """A top-level package <pkg>/tracker/toy and <pkg>/parameter/toy/{fast,slow}.py on sys.path."""
    pkg = f"tmp_trackers_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "code" / pkg
    for sub in ("", "tracker", "parameter", "parameter/toy"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / sub / "__init__.py").write_text("")
    (root / "tracker" / "toy").mkdir()
    (root / "tracker" / "toy" / "__init__.py").write_text(
        textwrap.dedent(
            """
            class Toy:
                def __init__(self, params):
                    self.params = params

                def initialize(self, image, info):
                    self.box = info["init_bbox"]

                def track(self, image, info=None):
                    return {"target_bbox": [b * self.params.scale for b in self.box]}


            def get_tracker_class():
                return Toy
            """
        )
    )
    for name, scale in (("fast", 2), ("slow", 3)):
        (root / "parameter" / "toy" / f"{name}.py").write_text(
            f"from types import SimpleNamespace\n\ndef parameters():\n    return SimpleNamespace(scale={scale})\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    yield pkg
    for mod in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
        del sys.modules[mod]


def test_import_by_name_from_a_package(temp_package, env, tmp_path):
    t = Tracker("toy", "slow", module_prefix=temp_package, env=env)
    assert t.tracker_class.__name__ == "Toy"
    assert t.get_parameters().scale == 3
    out = t.run_sequence(make_seq(tmp_path, 3))
    assert out["target_bbox"] == [[2, 3, 4, 5], [6, 9, 12, 15], [6, 9, 12, 15]]
    assert "object_presence_score" not in out  # only the frame-0 default: dropped


def test_missing_code_lists_the_choices(temp_package, env):
    with pytest.raises(ModuleNotFoundError, match=r"Parameter file 'medium'.*available: fast, slow"):
        Tracker("toy", "medium", module_prefix=temp_package, env=env).get_parameters()
    with pytest.raises(ModuleNotFoundError, match=r"Tracker 'toi'.*available: toy"):
        _ = Tracker("toi", "fast", module_prefix=temp_package, env=env).tracker_class


# ---- the per-frame loop ----------------------------------------------------------------------------------------


def test_output_dict_rules(env, tmp_path):
    t = Tracker("rec", "p", env=env, tracker_class=RecordingTracker, parameters=params_factory())
    seq = make_seq(tmp_path, 4)
    out = t.run_sequence(seq)
    assert out["target_bbox"] == [
        [2.0, 3.0, 4.0, 5.0],
        [3.0, 3.0, 4.0, 5.0],
        [4.0, 3.0, 4.0, 5.0],
        [5.0, 3.0, 4.0, 5.0],
    ]
    assert out["object_presence_score"] == [1.0, 0.25, 0.25, 0.25]  # frame 0 defaults to 1.0
    assert len(out["time"]) == 4 and all(t >= 0 for t in out["time"])
    assert "segmentation" not in out  # never produced
    assert out["image_shape"] == (8, 12)
    assert out["object_presence_score_threshold"] == 0.55

    calls = RecordingTracker.last.calls
    kinds = [c[0] for c in calls]
    assert kinds == ["init", "track", "track", "track"]
    image = calls[0][1]
    assert image.shape == (8, 12, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[0, 0], [200, 10, 30])  # RGB order
    assert calls[0][2] == {"init_bbox": [2.0, 3.0, 4.0, 5.0]}
    # every track call sees the previous frame's output
    assert calls[1][2]["previous_output"] == {}
    assert calls[2][2]["previous_output"] == {"target_bbox": [3.0, 3.0, 4.0, 5.0], "object_presence_score": 0.25}
    assert "gt_bbox" not in calls[2][2]  # the tracker never sees the ground truth


def test_params_are_annotated_and_threshold_read(env, tmp_path):
    params = SimpleNamespace(object_presence_score_threshold=0.9, debug=2)
    t = Tracker("rec", "p", 1, env=env, tracker_class=RecordingTracker, parameters=lambda: params)
    out = t.run_sequence(make_seq(tmp_path, 2))
    assert out["object_presence_score_threshold"] == 0.9
    assert (params.tracker_name, params.param_name, params.debug) == ("rec", "p", 2)  # debug=None keeps the file's
    t.run_sequence(make_seq(tmp_path, 2), debug=0)
    assert params.debug == 0


class BoxlessTracker(RecordingTracker):
    def track(self, image, info=None):
        return {"time": 0.5}


def test_boxes_dropped_when_only_the_init_box_exists_and_init_mask_default(env, tmp_path):
    mask_path = tmp_path / "m0.png"
    imwrite_indexed(mask_path, np.pad(np.ones((2, 3), np.uint8), ((1, 5), (2, 7))))
    seq = make_seq(tmp_path, 3, ground_truth_seg=[str(mask_path), None, None])
    t = Tracker("b", "p", env=env, tracker_class=BoxlessTracker, parameters=params_factory())
    out = t.run_sequence(seq)
    assert "target_bbox" not in out
    assert out["time"][1:] == [0.5, 0.5]
    assert "segmentation" not in out  # only frame 0's mask: dropped like the boxes


def test_callback_sees_every_frame(env, tmp_path):
    seen = []
    t = Tracker("rec", "p", env=env, tracker_class=RecordingTracker, parameters=params_factory())
    t.run_sequence(make_seq(tmp_path, 3), callback=lambda i, im, out: seen.append((i, im.shape, sorted(out))))
    assert seen == [(0, (8, 12, 3), []), *[(i, (8, 12, 3), ["object_presence_score", "target_bbox"]) for i in (1, 2)]]


# ---- seeding ---------------------------------------------------------------------------------------------------


class NoisyTracker(RecordingTracker):
    def track(self, image, info=None):
        noise = float(torch.rand(1)) + float(np.random.rand()) + random.random()
        return {"target_bbox": [self.box[0] + noise, *self.box[1:]]}


def test_sequence_seed_is_a_stable_hash():
    expected = int.from_bytes(hashlib.sha256(b"dimp\x00dimp50\x00None\x00Basketball").digest()[:4], "little")
    assert sequence_seed("dimp", "dimp50", None, "Basketball") == expected
    assert sequence_seed("dimp", "dimp50", 0, "Basketball") != expected
    assert 0 <= expected < 2**32


def test_runs_are_reproducible(env, tmp_path):
    seq = make_seq(tmp_path, 4)
    t = Tracker("n", "p", env=env, tracker_class=NoisyTracker, parameters=params_factory())
    a = t.run_sequence(seq)["target_bbox"]
    torch.manual_seed(123)  # global state between runs must not matter
    np.random.seed(5)
    b = t.run_sequence(seq)["target_bbox"]
    assert a == b
    c = Tracker("n", "p", 1, env=env, tracker_class=NoisyTracker, parameters=params_factory()).run_sequence(seq)
    assert c["target_bbox"][1] != a[1]  # another run id draws other numbers
    d = t.run_sequence(seq, seed=t.sequence_seed(seq.name))["target_bbox"]
    assert d == a


# ---- multi-object sequences ------------------------------------------------------------------------------------


def test_multiobject_sequence_runs_one_tracker_per_object(env, tmp_path):
    frames = write_frames(tmp_path / "mo", 3)
    gt = {"1": np.array([[0, 0, 2, 2]] * 3, float), "2": np.array([[5, 5, 1, 1]] * 3, float)}
    seq = Sequence("mo", frames, "test", gt, object_ids=["1", "2"], multiobj_mode=True)
    t = Tracker("rec", "p", env=env, tracker_class=RecordingTracker, parameters=params_factory())
    out = t.run_sequence(seq)
    assert out["target_bbox"][0] == {"1": [0.0, 0.0, 2.0, 2.0], "2": [5.0, 5.0, 1.0, 1.0]}
    assert out["target_bbox"][2] == {"1": [2.0, 0.0, 2.0, 2.0], "2": [7.0, 5.0, 1.0, 1.0]}
    assert set(out["time"][1]) == {"1", "2"}
    with pytest.raises(ValueError, match="multiobj_mode"):
        t.run_sequence(seq, multiobj_mode="serial")
