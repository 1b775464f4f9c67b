"""Visdom dashboard against a recording fake client: windows, data conversion, block toggling, pause/step keys,
and the connection check (no real Visdom server needed)."""

from __future__ import annotations

import http.server
import logging
import socket
import sys
import threading
import time
import types
from collections import defaultdict

import numpy as np
import pytest
import torch

from pytracking.utils import visdom as V
from pytracking.utils.image_io import davis_palette
from pytracking.utils.plotting import BOX_COLORS


class FakeClient:
    """Records every call; delivers synthetic events to the registered handlers like the socket thread does."""

    def __init__(self, events: bool = True):
        self.calls: list[tuple] = []
        self.handlers: dict[str, list] = defaultdict(list)
        self.events = events

    def _rec(self, kind, win, data, opts):
        self.calls.append((kind, win, data, dict(opts or {})))

    def image(self, img, win=None, env=None, opts=None):
        self._rec("image", win, img, opts)

    def heatmap(self, X, win=None, env=None, update=None, opts=None):
        self._rec("heatmap", win, X, opts)

    def line(self, Y, X=None, win=None, env=None, opts=None, update=None, name=None):
        self._rec("line", win, (Y, X), opts)

    def text(self, text, win=None, env=None, opts=None, append=False):
        self._rec("text", win, text, opts)

    def properties(self, data, win=None, env=None, opts=None):
        self._rec("properties", win, [dict(p) for p in data], opts)

    def close(self, win=None, env=None):
        self._rec("close", win, None, None)

    def register_event_handler(self, handler, target):
        assert self.events, "Must be using the incoming socket to register events to web actions"
        self.handlers[target].append(handler)

    def fire(self, target, **event):
        for handler in list(self.handlers[target]):
            handler({"target": target, **event})

    def of(self, kind, win=None):
        return [c for c in self.calls if c[0] == kind and (win is None or c[1] == win)]


def key(client, target, k):
    client.fire(target, event_type="KeyPress", key=k)


@pytest.fixture
def client():
    return FakeClient()


@pytest.fixture
def dash(client):
    return V.Visdom(debug=1, client=client)


# ---- blocks and data conversion --------------------------------------------------------------------------------


def test_image_block_sends_chw_uint8_with_title(dash, client):
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    dash.register(hwc, "image", 1, "Frame")
    dash.register(torch.from_numpy(hwc).permute(2, 0, 1).float()[None], "image", 1, "Patch")
    (_, win, img, opts), (_, win2, img2, _) = client.of("image")
    assert (win, opts["title"], win2) == ("Frame", "Frame", "Patch")
    assert img.dtype == np.uint8 and img.shape == (3, 6, 9)
    np.testing.assert_array_equal(img, hwc.transpose(2, 0, 1))
    np.testing.assert_array_equal(img2, hwc.transpose(2, 0, 1))
    props = client.of("properties", V.BLOCK_LIST_WIN)[-1][2]
    assert props == [
        {"type": "checkbox", "name": "Frame", "value": True},
        {"type": "checkbox", "name": "Patch", "value": True},
    ]


def test_heatmap_is_flipped_not_normalised(dash, client):
    m = torch.arange(6.0).reshape(1, 1, 2, 3)
    dash.register(m, "heatmap", 1, "Score", range=(0, 10), colormap="Jet")
    _, win, x, opts = client.of("heatmap")[-1]
    assert win == "Score" and x.dtype == np.float64
    np.testing.assert_array_equal(x, [[3, 4, 5], [0, 1, 2]])  # row 0 of the map is last: drawn on top
    assert opts == {"title": "Score", "colormap": "Jet", "xmin": 0.0, "xmax": 10.0}
    dash.register(m, "heatmap", 1, "Score")
    assert client.of("heatmap")[-1][3] == {"title": "Score", "colormap": "Viridis"}


def test_cost_volume_and_featmap_are_tiled_heatmaps(dash, client):
    cv = torch.arange(16.0).reshape(2, 2, 2, 2)
    dash.register(cv, "cost_volume", 1, "CV")
    x = client.of("heatmap", "CV")[-1][2]
    tiled = np.array([[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]], float)
    np.testing.assert_array_equal(x, tiled[::-1])
    dash.register(cv, "cost_volume_flip", 1, "CVf")
    flipped = np.array([[0, 4, 1, 5], [8, 12, 9, 13], [2, 6, 3, 7], [10, 14, 11, 15]], float)
    np.testing.assert_array_equal(client.of("heatmap", "CVf")[-1][2], flipped[::-1])
    feat = torch.stack([torch.tensor([[0.0, 2.0]]), torch.tensor([[4.0, 3.0]])])  # (2, 1, 2)
    dash.register(feat, "featmap", 1, "Feat")
    np.testing.assert_array_equal(client.of("heatmap", "Feat")[-1][2], [[0, 1, np.nan, 1, 0]])


def test_info_dict_text_and_lineplot(dash, client):
    dash.register({"max_score": 0.912345, "flag": "normal", "a<b": torch.tensor(3)}, "info_dict", 1, "Status")
    _, win, html, opts = client.of("text")[-1]
    assert (win, opts["title"]) == ("Status", "Status")
    assert html == (
        "<table><tr><td>max_score</td><td>0.9123</td></tr><tr><td>flag</td><td>normal</td></tr>"
        "<tr><td>a&lt;b</td><td>3</td></tr></table>"
    )
    dash.register("hello", "text", 1, "Log")
    assert client.of("text", "Log")[-1][2] == "hello"

    dash.register(torch.tensor([1.0, 3.0, 2.0]), "lineplot", 1, "Loss")
    (y, x), opts = client.of("line", "Loss")[-1][2:]
    np.testing.assert_array_equal(y, [1, 3, 2])
    np.testing.assert_array_equal(x, [0, 1, 2])
    assert opts == {"title": "Loss"}
    dash.register(([10, 20], np.array([[1.0, 2.0], [3.0, 4.0]])), "lineplot", 1, "Two", legend=["a", "b"])
    (y, x), opts = client.of("line", "Two")[-1][2:]
    np.testing.assert_array_equal(x, [[10, 10], [20, 20]])  # visdom needs X shaped like Y for several lines
    assert opts["legend"] == ["a", "b"]


def test_tracking_block_draws_boxes_and_mask(dash, client):
    img = np.full((12, 16, 3), 100, np.uint8)
    mask = np.zeros((12, 16), np.uint8)
    mask[10:, 0:2] = 1
    dash.register((img, [2, 3, 6, 5], np.array([9.0, 1.0, 4.0, 4.0]), mask), "Tracking", 1, "Tracking", thickness=1)
    sent = client.of("image", "Tracking")[-1][2].transpose(1, 2, 0)
    np.testing.assert_array_equal(sent[3, 2], BOX_COLORS[0])  # top-left corner of box 1
    np.testing.assert_array_equal(sent[7, 7], BOX_COLORS[0])  # bottom-right corner (2 + 6 - 1, 3 + 5 - 1)
    np.testing.assert_array_equal(sent[5, 4], (100, 100, 100))  # inside
    np.testing.assert_array_equal(sent[1, 12], BOX_COLORS[1])  # second box in the second colour
    blended = np.rint(0.5 * 100 + 0.5 * davis_palette()[1].astype(float))
    np.testing.assert_array_equal(sent[11, 1], blended)
    np.testing.assert_array_equal(sent[11, 3], (100, 100, 100))
    np.testing.assert_array_equal(img, 100)  # the tracker's frame is not drawn on


def test_bbreg_block_colours_by_iou_best_on_top(dash, client):
    img = torch.zeros(3, 8, 8)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 6.0, 6.0], [2.0, 2.0, 4.0, 4.0]])
    dash.register((img, boxes, torch.tensor([0.75, 0.25, 0.5])), "bbreg", 1, "IoU")
    sent = client.of("image", "IoU")[-1][2].transpose(1, 2, 0)
    np.testing.assert_array_equal(sent[0, 0], (64, 191, 0))  # IoU 0.75 wins over 0.25 where they overlap
    np.testing.assert_array_equal(sent[5, 5], (128, 128, 0))  # IoU 0.5 box, its bottom-right corner
    np.testing.assert_array_equal(sent[0, 5], (191, 64, 0))  # only the 0.25 box there


def test_unknown_mode_and_mode_change(dash, client):
    with pytest.raises(ValueError, match="unknown debug block mode 'scatter'"):
        dash.register(1, "scatter")
    dash.register("a", "text", 1, "X")
    dash.register(np.zeros((2, 2)), "heatmap", 1, "X")
    assert client.of("close", "X") and dash.blocks["X"].mode == "heatmap"


def test_malformed_data_raises(dash):
    with pytest.raises(ValueError):
        dash.register(np.zeros((2, 2, 2)), "heatmap", 1, "bad")


# ---- debug levels and the block list ---------------------------------------------------------------------------


def test_debug_level_and_checkbox_toggling(client):
    dash = V.Visdom(debug=1, client=client)
    dash.register(np.zeros((2, 2)), "heatmap", 1, "Low")
    dash.register(np.ones((2, 2)), "heatmap", 2, "High")
    assert [c[1] for c in client.of("heatmap")] == ["Low"]  # level 2 > debug 1: listed, not drawn
    assert [p["value"] for p in client.of("properties")[-1][2]] == [True, False]

    client.fire(V.BLOCK_LIST_WIN, event_type="PropertyUpdate", propertyId=1, value=True)
    _, win, x, _ = client.of("heatmap")[-1]
    assert win == "High" and (x == 1).all()  # its latest data drawn on switching on
    assert [p["value"] for p in client.of("properties")[-1][2]] == [True, True]

    client.fire(V.BLOCK_LIST_WIN, event_type="PropertyUpdate", propertyId=0, value="false")
    assert client.of("close", "Low")
    n = len(client.of("heatmap"))
    dash.register(np.zeros((2, 2)), "heatmap", 1, "Low")
    assert len(client.of("heatmap")) == n  # hidden blocks are not sent
    assert dash.blocks["Low"].data is not None


def test_ui_info_handler_is_registered(client):
    seen = []
    V.Visdom(debug=1, ui_info={"win_id": "Tracking", "handler": seen.append}, client=client)
    client.fire("Tracking", event_type="Click", x=3)
    assert seen == [{"target": "Tracking", "event_type": "Click", "x": 3}]


# ---- pause and step --------------------------------------------------------------------------------------------


def test_space_pauses_and_right_arrow_steps(dash, client):
    assert dash.block_until_unpaused(timeout=0) is True  # running: returns at once
    key(client, V.BLOCK_LIST_WIN, " ")
    assert dash.paused
    assert "PAUSED" in client.of("properties")[-1][3]["title"]
    assert dash.block_until_unpaused(timeout=0.01) is False
    key(client, V.BLOCK_LIST_WIN, "ArrowRight")
    assert dash.block_until_unpaused(timeout=0.01) is True  # one step
    assert dash.block_until_unpaused(timeout=0.01) is False  # then paused again
    dash.register(np.zeros((2, 2)), "heatmap", 1, "H")
    key(client, "H", " ")  # keys work in block windows too
    assert not dash.paused and dash.block_until_unpaused(timeout=0) is True
    key(client, "H", "ArrowRight")  # stepping while running is ignored
    key(client, "H", " ")
    assert dash.block_until_unpaused(timeout=0.01) is False


def test_unpausing_from_the_event_thread_releases_the_loop(dash, client):
    key(client, V.BLOCK_LIST_WIN, " ")
    result = []
    waiter = threading.Thread(target=lambda: result.append(dash.block_until_unpaused(timeout=5)))
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive()
    key(client, V.BLOCK_LIST_WIN, " ")
    waiter.join(timeout=2)
    assert result == [True]


def test_registered_this_frame_resets_each_frame(dash):
    dash.register("x", "text", 1, "A")
    assert dash.registered_this_frame == {"A"}
    dash.block_until_unpaused()
    assert dash.registered_this_frame == set()


# ---- failures --------------------------------------------------------------------------------------------------


def test_client_without_event_socket_still_draws(caplog):
    client = FakeClient(events=False)
    with caplog.at_level(logging.WARNING, logger="pytracking.utils.visdom"):
        dash = V.Visdom(debug=1, client=client)
        dash.register("x", "text", 1, "A")
    assert client.of("text", "A")
    assert sum("checkboxes and keys are disabled" in r.message for r in caplog.records) == 1


def test_lost_connection_warns_once_and_stops_drawing(dash, client, caplog):
    def broken(*a, **k):
        raise ConnectionError("Error connecting to Visdom server")

    client.text = broken
    client.image = lambda *a, **k: pytest.fail("drawing after the connection was lost")
    with caplog.at_level(logging.WARNING, logger="pytracking.utils.visdom"):
        dash.register("x", "text", 1, "A")
        dash.register(np.zeros((2, 2, 3), np.uint8), "image", 1, "B")
    assert sum("lost the connection" in r.message for r in caplog.records) == 1


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connect_to_closed_port_fails_fast():
    pytest.importorskip("visdom")
    port = closed_port()
    start = time.monotonic()
    with pytest.raises(V.VisdomConnectionError, match=rf"http://127.0.0.1:{port}.*visdom.server -port {port}"):
        V.Visdom(debug=1, visdom_info={"server": "127.0.0.1", "port": port})
    assert time.monotonic() - start < 1.0


def test_probe_gives_up_on_a_silent_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # accepts connections (kernel backlog) but never answers
        start = time.monotonic()
        reason = V.probe_server("127.0.0.1", s.getsockname()[1], timeout=0.3)
    assert reason is not None and "timed out" in reason
    assert time.monotonic() - start < 1.5


@pytest.fixture
def http_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_connect_builds_a_client_when_the_server_answers(http_server, monkeypatch):
    made = {}

    class Client(FakeClient):
        def __init__(self, **kwargs):
            super().__init__()
            made.update(kwargs)

        def check_connection(self, timeout_seconds=0):
            return True

    monkeypatch.setitem(sys.modules, "visdom", types.SimpleNamespace(Visdom=Client))
    assert V.probe_server("localhost", http_server) is None  # an HTTP error status is an answer
    dash = V.Visdom(debug=2, visdom_info={"server": "127.0.0.1", "port": http_server})
    assert isinstance(dash.client, Client)
    assert made == {"server": "http://127.0.0.1", "port": http_server, "env": "main", "raise_exceptions": True}
    assert dash.client.of("properties", V.BLOCK_LIST_WIN)


def test_connect_reports_a_server_that_is_not_visdom(http_server, monkeypatch):
    class Client(FakeClient):
        def __init__(self, **kwargs):
            super().__init__()

        def check_connection(self, timeout_seconds=0):
            return False

    monkeypatch.setitem(sys.modules, "visdom", types.SimpleNamespace(Visdom=Client))
    with pytest.raises(V.VisdomConnectionError, match="does not behave like a Visdom server"):
        V.connect({"port": http_server})


def test_missing_visdom_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "visdom", None)
    with pytest.raises(ImportError, match="pip install visdom"):
        V.connect({"port": 1})


def test_server_url():
    assert V.server_url("127.0.0.1") == "http://127.0.0.1"
    assert V.server_url("https://host/ ") == "https://host"


def test_deep_copies_of_a_tracker_share_the_dashboard(dash):
    import copy

    holder = types.SimpleNamespace(visdom=dash)
    assert copy.deepcopy(holder).visdom is dash
