"""Choosing the debug view (Visdom / matplotlib / none), the matplotlib view, and the run_sequence hook."""

from __future__ import annotations

import logging
import socket
import time
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from matplotlib.backend_bases import KeyEvent
from PIL import Image
from view_helpers import RecordingView

from pytracking.evaluation import Sequence, Tracker
from pytracking.evaluation.environment import EnvSettings
from pytracking.tracker.base import BaseTracker
from pytracking.utils import debug_view as D
from pytracking.utils import visdom as V
from pytracking.utils.params import TrackerParams

from .test_visdom import FakeClient


@pytest.fixture
def plt():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


@pytest.fixture(autouse=True)
def fresh_cache():
    D.clear_cache()
    yield
    D.clear_cache()


@pytest.fixture
def headless(monkeypatch, plt):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setitem(matplotlib.rcParams, "backend", "agg")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "pytracking.utils.debug_view"]


# ---- make_debug_view ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [0, None, -1])
def test_no_debug_no_view(debug, caplog):
    with caplog.at_level(logging.INFO):
        assert D.make_debug_view(debug, {"use_visdom": True}) is None
    assert messages(caplog) == []


def test_headless_gives_none_with_one_message(headless, caplog):
    assert D.interactive_matplotlib() == (False, "the matplotlib backend 'agg' cannot open windows")
    with caplog.at_level(logging.INFO):
        assert D.make_debug_view(1, None) is None
    (msg,) = messages(caplog)
    assert "Visdom not requested" in msg and "'agg' cannot open windows" in msg


def test_auto_backend_needs_a_display(monkeypatch, plt):
    monkeypatch.setattr(D, "_configured_backend", lambda: None)
    monkeypatch.setattr(D.sys, "platform", "linux")
    assert D.interactive_matplotlib({}) == (False, "no display (DISPLAY and WAYLAND_DISPLAY are unset)")
    # with a display, the automatic choice is resolved; here it can only find agg (no GUI toolkit is used)
    usable, reason = D.interactive_matplotlib({"DISPLAY": ":0"})
    assert not usable and "'agg'" in reason.lower()


def test_unreachable_visdom_falls_back_fast_with_a_warning(headless, caplog):
    pytest.importorskip("visdom")
    port = closed_port()
    start = time.monotonic()
    with caplog.at_level(logging.WARNING):
        view = D.make_debug_view(2, {"use_visdom": True, "server": "127.0.0.1", "port": port})
    assert time.monotonic() - start < 2.0
    assert view is None
    (msg,) = messages(caplog)
    assert f"no Visdom server answers at http://127.0.0.1:{port}" in msg and "cannot open windows" in msg


def test_unreachable_visdom_falls_back_to_matplotlib_when_it_can_show_windows(monkeypatch, plt, caplog):
    pytest.importorskip("visdom")
    monkeypatch.setattr(D, "_configured_backend", lambda: "TkAgg")
    ion = []
    monkeypatch.setattr(plt, "ion", lambda: ion.append(True))
    with caplog.at_level(logging.WARNING):
        view = D.make_debug_view(1, {"use_visdom": True, "port": closed_port()})
    assert isinstance(view, D.MatplotlibView) and view.debug == 1 and ion == [True]
    (msg,) = messages(caplog)
    assert msg.startswith("Visdom debug view unavailable: no Visdom server answers") and "using matplotlib" in msg


def test_visdom_not_installed_is_the_reason_given(headless, monkeypatch, caplog):
    monkeypatch.setitem(__import__("sys").modules, "visdom", None)
    with caplog.at_level(logging.WARNING):
        assert D.make_debug_view(1, {"use_visdom": True}) is None
    assert "pip install visdom" in messages(caplog)[0]


def test_visdom_off_uses_matplotlib(monkeypatch, plt, caplog):
    monkeypatch.setattr(D, "_configured_backend", lambda: "qtagg")
    monkeypatch.setattr(plt, "ion", lambda: None)
    monkeypatch.setattr(D, "Visdom", lambda *a, **k: pytest.fail("Visdom must not be tried"))
    with caplog.at_level(logging.WARNING):
        assert isinstance(D.make_debug_view(1, {"use_visdom": False}), D.MatplotlibView)
    assert messages(caplog) == []


def test_visdom_dashboard_is_returned_and_reused(monkeypatch):
    made = []

    def fake_visdom(debug, visdom_info=None, connect_timeout=1.0):
        made.append(visdom_info)
        return V.Visdom(debug, client=FakeClient())

    monkeypatch.setattr(D, "Visdom", fake_visdom)
    info = {"use_visdom": True, "server": "localhost", "port": 8097}
    view = D.make_debug_view(1, info)
    assert isinstance(view, V.Visdom) and isinstance(view, D.DebugView)
    view.register("x", "text", 1, "A")
    again = D.make_debug_view(3, info)
    assert again is view and view.debug == 3 and view.registered_this_frame == set() and len(made) == 1
    assert D.make_debug_view(1, {**info, "port": 8098}) is not view
    assert D.make_debug_view(1, info, reuse=False) is not view


# ---- MatplotlibView ------------------------------------------------------------------------------------------------


def test_matplotlib_view_draws_each_mode(plt):
    view = D.MatplotlibView(2, interactive=False)
    assert isinstance(view, D.DebugView)
    img = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    view.register(img, "image", 1, "Frame")
    view.register(np.arange(6.0).reshape(2, 3), "heatmap", 2, "Score", range=(0, 1))
    view.register(np.zeros((2, 2, 3, 3)), "cost_volume", 1, "CV")
    view.register(np.ones((4, 2, 2)), "featmap", 1, "Feat")
    view.register({"a": 0.5}, "info_dict", 1, "Info")
    view.register("hi", "text", 1, "Log")
    view.register(([0, 1], [3.0, 4.0]), "lineplot", 1, "Loss", legend=["l"])
    view.register((img, [1, 1, 3, 3], [2, 2, 2, 2]), "Tracking", 1, "Tracking")
    view.register((img, np.array([[0, 0, 4, 4], [1, 1, 2, 2]]), [0.75, 0.25]), "bbreg", 1, "IoU")
    view.register(img, "image", 3, "Hidden")  # above the debug level: not drawn
    assert set(view.figures) == {"Frame", "Score", "CV", "Feat", "Info", "Log", "Loss", "Tracking", "IoU"}
    assert "Hidden" in view.registered_this_frame
    ax = lambda title: view.figures[title].axes[0]  # noqa: E731
    np.testing.assert_array_equal(ax("Frame").images[0].get_array(), img)
    np.testing.assert_array_equal(ax("Score").images[0].get_array(), [[0, 1, 2], [3, 4, 5]])  # row 0 on top
    assert ax("Score").images[0].get_clim() == (0, 1)
    assert ax("CV").images[0].get_array().shape == (6, 6)
    assert ax("Info").texts[0].get_text() == "a: 0.5" and ax("Log").texts[0].get_text() == "hi"
    np.testing.assert_array_equal(ax("Loss").lines[0].get_xdata(), [0, 1])
    assert ax("Loss").get_legend() is not None
    assert len(ax("Tracking").patches) == 2
    best = ax("IoU").patches[-1]  # drawn last: highest IoU
    assert best.get_width() == 4 and tuple(np.rint(np.array(best.get_edgecolor()[:3]) * 255)) == (64, 191, 0)
    # the next frame draws into the same figure
    view.register(img[::-1], "image", 1, "Frame")
    assert len(view.figures["Frame"].axes) == 1
    np.testing.assert_array_equal(ax("Frame").images[0].get_array(), img[::-1])
    with pytest.raises(ValueError, match="unknown debug block mode"):
        view.register(img, "video")


def test_matplotlib_view_keys(plt):
    view = D.MatplotlibView(1, interactive=False)
    view.register("x", "text", 1, "Log")
    canvas = view.figures["Log"].canvas

    def press(k):
        canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, k))

    assert view.block_until_unpaused(timeout=0) is True and view.registered_this_frame == set()
    press(" ")
    assert view.paused and view.block_until_unpaused(timeout=0.05) is False
    press("right")
    assert view.block_until_unpaused(timeout=0.05) is True
    assert view.block_until_unpaused(timeout=0.05) is False
    press(" ")
    assert view.block_until_unpaused(timeout=0.05) is True
    press(" ")
    plt.close("all")  # closing the windows resumes
    assert view.block_until_unpaused(timeout=1) is True and not view.paused


# ---- run_sequence integration --------------------------------------------------------------------------------------


class ShiftTracker(BaseTracker):
    """Moves the box by +1 in x per frame; optionally draws its own 'Tracking' block with a second box."""

    DEFAULTS = {"own_drawing": False, "status_block": False}

    def initialize(self, image, info):
        self.box = list(info["init_bbox"])
        ShiftTracker.last = self
        return {}

    def track(self, image, info=None):
        self.box = [self.box[0] + 1, *self.box[1:]]
        if self.params.own_drawing and self.visdom is not None:
            self.visdom.register((image, self.box, [0, 0, 1, 1]), "Tracking", 1, "Tracking")
        if self.params.status_block and self.visdom is not None:
            self.visdom.register({"x": self.box[0]}, "info_dict", 2, "Status")
        return {"target_bbox": self.box}


def make_sequence(tmp_path, n=3, **kw):
    paths = []
    for i in range(n):
        path = tmp_path / f"{i:04d}.png"
        Image.new("RGB", (12, 8), (i, 0, 0)).save(path)
        paths.append(str(path))
    if "object_ids" in kw:
        gt = {"1": np.array([[0, 0, 2, 2]] * n, float), "2": np.array([[5, 5, 1, 1]] * n, float)}
    else:
        gt = np.array([[2, 3, 4, 5]] * n, float)
    return Sequence("seq", paths, "test", gt, **kw)


@pytest.fixture
def env(tmp_path):
    env = EnvSettings()
    env.results_path = str(tmp_path / "results")
    env.segmentation_path = str(tmp_path / "segs")
    return env


@pytest.fixture
def recording_view(monkeypatch):
    made = []

    def fake_make(debug, visdom_info=None, **kw):
        made.append((debug, visdom_info))
        view = RecordingView(debug)
        made.append(view)
        return view

    monkeypatch.setattr(D, "make_debug_view", fake_make)
    return made


def tracker(env, **params):
    def parameters():
        return TrackerParams.strict({**ShiftTracker.DEFAULTS, **params})

    return Tracker("shift", "p", env=env, tracker_class=ShiftTracker, parameters=parameters)


def test_debug_1_shows_every_frame(env, tmp_path, recording_view):
    info = {"use_visdom": True, "server": "127.0.0.1", "port": 8097}
    out = tracker(env).run_sequence(make_sequence(tmp_path), debug=1, visdom_info=info)
    (debug, visdom_info), view = recording_view
    assert (debug, visdom_info) == (1, info)
    assert ShiftTracker.last.visdom is view
    assert [c[:3] for c in view.calls] == [("Tracking", 1, "Tracking")] * 3 and view.frames_done == 3
    for frame, (_, _, _, data, _) in enumerate(view.calls):
        image, box = data
        assert image.shape == (8, 12, 3) and image[0, 0, 0] == frame
        assert list(box) == [2.0 + frame, 3.0, 4.0, 5.0]  # frame 0: the initial box
    assert out["target_bbox"][2] == [4.0, 3.0, 4.0, 5.0]


def test_tracker_drawing_itself_is_not_drawn_twice(env, tmp_path, recording_view):
    seen = []
    tracker(env, own_drawing=True).run_sequence(
        make_sequence(tmp_path), debug=1, callback=lambda i, im, out: seen.append(i)
    )
    view = recording_view[1]
    boxes_per_call = [len(c[3]) - 1 for c in view.calls]
    assert boxes_per_call == [1, 2, 2]  # frame 0 by the harness, later frames by the tracker only
    assert seen == [0, 1, 2] and view.frames_done == 3


def test_debug_0_attaches_nothing(env, tmp_path, recording_view):
    tracker(env).run_sequence(make_sequence(tmp_path), debug=0, visdom_info={"use_visdom": True})
    assert recording_view == [] and ShiftTracker.last.visdom is None


def test_no_view_available_runs_normally(env, tmp_path, monkeypatch):
    monkeypatch.setattr(D, "make_debug_view", lambda debug, visdom_info=None: None)
    out = tracker(env).run_sequence(make_sequence(tmp_path), debug=2)
    assert ShiftTracker.last.visdom is None and len(out["target_bbox"]) == 3


def test_multi_object_sequence_shows_all_boxes(env, tmp_path, recording_view):
    seq = make_sequence(tmp_path, object_ids=["1", "2"], multiobj_mode=True)
    tracker(env).run_sequence(seq, debug=1)
    view = recording_view[1]
    assert len(view.calls) == 3
    image, box1, box2 = view.calls[2][3]
    assert list(box1) == [2.0, 0.0, 2.0, 2.0] and list(box2) == [7.0, 5.0, 1.0, 1.0]
    assert ShiftTracker.last.visdom.view is view  # the per-object trackers draw into it, through a proxy


def test_multi_object_trackers_drawing_themselves_give_one_tracking_block(env, tmp_path, recording_view):
    # Every per-object tracker registers its own 'Tracking' and 'Status' blocks: they must not overwrite each
    # other. 'Tracking' shows all objects (drawn by the harness); 'Status' is kept per object.
    seq = make_sequence(tmp_path, object_ids=["1", "2"], multiobj_mode=True)
    tracker(env, own_drawing=True, status_block=True).run_sequence(seq, debug=1)
    view = recording_view[1]
    assert [c[:3] for c in view.calls] == [
        ("Tracking", 1, "Tracking"),  # frame 0: initial boxes
        ("info_dict", 2, "Status (object 1)"),
        ("info_dict", 2, "Status (object 2)"),
        ("Tracking", 1, "Tracking"),
        ("info_dict", 2, "Status (object 1)"),
        ("info_dict", 2, "Status (object 2)"),
        ("Tracking", 1, "Tracking"),
    ]
    assert view.frames_done == 3
    image, box1, box2 = view.calls[6][3]  # frame 2: both objects moved twice
    assert image.shape == (8, 12, 3) and image[0, 0, 0] == 2
    assert list(box1) == [2.0, 0.0, 2.0, 2.0] and list(box2) == [7.0, 5.0, 1.0, 1.0]
    assert view.calls[4][3] == {"x": 2.0} and view.calls[5][3] == {"x": 7.0}


def test_make_debug_view_signature_used_by_the_harness():
    view = D.make_debug_view(0, SimpleNamespace())  # debug 0: nothing is looked at
    assert view is None


def test_matplotlib_view_is_shared_by_deep_copies(plt):
    import copy

    view = D.MatplotlibView(1, interactive=False)
    assert copy.deepcopy({"v": view})["v"] is view
