"""Live debug dashboard in a Visdom server (``python -m visdom.server``; open http://localhost:8097).

The ``visdom`` package is optional: it is imported only when a :class:`Visdom` dashboard connects to a server,
so this module imports without it. Data conversions and drawing live in :mod:`pytracking.utils.plotting`
(shared with the matplotlib view of :mod:`pytracking.utils.debug_view`).
"""

from __future__ import annotations

import html
import http.client
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytracking.utils.plotting import (
    as_map,
    draw_boxes,
    format_value,
    image_to_uint8,
    iou_colors,
    overlay_mask,
    parse_bbreg_data,
    parse_tracking_data,
    tile_channels,
    tile_cost_volume,
    torch_to_numpy,
)

__all__ = ["MODES", "BLOCK_LIST_WIN", "Visdom", "VisdomConnectionError", "connect", "probe_server", "server_url"]

logger = logging.getLogger(__name__)

#: Block modes accepted by :meth:`Visdom.register` (and by the matplotlib view).
MODES = (
    "image",
    "heatmap",
    "cost_volume",
    "cost_volume_flip",
    "info_dict",
    "text",
    "lineplot",
    "Tracking",
    "bbreg",
    "featmap",
)

#: Window id of the block list (checkboxes), which also receives the pause/step keys.
BLOCK_LIST_WIN = "pytracking_block_list"

KEY_PAUSE = " "
KEY_STEP = "ArrowRight"


class VisdomConnectionError(ConnectionError):
    """No Visdom server answers at the configured address."""


def server_url(server: str) -> str:
    """``server`` with an ``http://`` scheme when it has none (the visdom client needs one), without trailing /."""
    server = server.strip().rstrip("/")
    return server if "://" in server else f"http://{server}"


def probe_server(server: str, port: int, timeout: float = 1.0) -> str | None:
    """Check that an HTTP server answers at ``server:port`` within ``timeout`` seconds.

    A plain TCP check is not enough: the visdom client sends requests without a timeout, so a port that accepts
    connections but never answers would hang the tracker.

    Returns:
        ``None`` when it answers (any HTTP status), else the reason.
    """
    url = f"{server_url(server)}:{int(port)}/"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return None  # an HTTP error status is still an answer
    except urllib.error.URLError as e:
        return str(e.reason)
    except (OSError, http.client.HTTPException, ValueError) as e:
        return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return None


def connect(visdom_info: dict | None = None, timeout: float = 1.0) -> Any:
    """A ``visdom.Visdom`` client connected to ``visdom_info['server']:visdom_info['port']``.

    Args:
        visdom_info: ``server`` (default ``'127.0.0.1'``), ``port`` (default 8097), ``env`` (default ``'main'``).
        timeout: seconds to wait for the server's first answer.

    Raises:
        ImportError: the ``visdom`` package is not installed.
        VisdomConnectionError: no server answers.
    """
    info = dict(visdom_info or {})
    server, port = server_url(str(info.get("server", "127.0.0.1"))), int(info.get("port", 8097))
    try:
        import visdom
    except ImportError as e:
        raise ImportError("the visdom package is not installed (pip install visdom)") from e
    reason = probe_server(server, port, timeout)
    hint = f"start one with `python -m visdom.server -port {port}`"
    if reason is not None:
        raise VisdomConnectionError(f"no Visdom server answers at {server}:{port} ({reason}); {hint}")
    try:
        client = visdom.Visdom(server=server, port=port, env=info.get("env", "main"), raise_exceptions=True)
        connected = client.check_connection()
    except (ConnectionError, OSError) as e:
        raise VisdomConnectionError(f"Visdom server at {server}:{port} failed: {e}; {hint}") from e
    if not connected:
        raise VisdomConnectionError(f"the server at {server}:{port} does not behave like a Visdom server; {hint}")
    return client


@dataclass
class _Block:
    title: str
    mode: str
    debug_level: int
    shown: bool
    data: Any = None
    kwargs: dict = field(default_factory=dict)

    @property
    def win(self) -> str:
        return self.title


class Visdom:
    """Debug dashboard: one Visdom window per registered block, a block list with checkboxes, pause and step.

    Trackers call ``self.visdom.register(data, mode, debug_level, title)`` (``self.visdom`` is ``None`` when
    no view is attached, so guard calls with ``if self.visdom is not None``). A block is created by the first
    ``register`` of its ``title`` and is shown when ``debug_level <= debug``; the block list lists every block
    with a checkbox that shows or hides it (hidden blocks keep only a reference to their latest data and draw
    it when switched on). Keys (with a dashboard window focused): **space** pauses/resumes, **right arrow**
    advances one frame while paused. The harness calls :meth:`block_until_unpaused` after every frame.

    ``data`` per ``mode`` (tensors may be on any device; leading dimensions of size 1 are dropped; images:
    numpy arrays are (H, W[, C]), torch tensors (C, H, W), C in {1, 3, 4}, uint8 or 0..255 values; boxes are
    ``[x, y, w, h]`` in the image's pixels):

    * ``'image'``: an image, sent as a (3, H, W) uint8 RGB array.
    * ``'heatmap'``: a 2-D map (H, W) (e.g. a score map). Sent as float64 with its rows reversed
      (``data[::-1]``) because Visdom draws row 0 at the bottom; so the picture has image orientation (row 0
      on top). Values are not normalised; kwarg ``range=(vmin, vmax)`` fixes the colour limits (Visdom's
      ``xmin``/``xmax``), kwarg ``colormap`` (default ``'Viridis'``).
    * ``'cost_volume'``: a 4-D (H1, W1, H2, W2) volume, shown as a heatmap of (H1*H2, W1*W2) where tile
      (i, j) is the (H2, W2) map of source cell (i, j) (:func:`~pytracking.utils.plotting.tile_cost_volume`).
      ``'cost_volume_flip'``: the same with the halves swapped (tile (k, l) = the (H1, W1) map of target cell
      (k, l)).
    * ``'featmap'``: a (C, H, W) feature map; the first ``max_channels`` (kwarg, default 16) channels, each
      min-max normalised to [0, 1], tiled row-major in a heatmap with NaN (blank) gaps.
    * ``'info_dict'``: a dict name -> value, shown as an HTML table (floats with 4 significant digits, tensors
      and arrays summarised by :func:`~pytracking.utils.plotting.format_value`).
    * ``'text'``: a string (Visdom renders HTML).
    * ``'lineplot'``: y values (N,) or (N, K) (K curves), or a tuple ``(x, y)`` with x (N,); default x is
      0 .. N-1. Kwarg ``legend`` names the curves. The whole curve is sent each time.
    * ``'Tracking'``: a tuple ``(image, box, box, ..., [mask])``: the frame, one or more boxes (each ``[x, y,
      w, h]`` or an (N, 4) array; ``None`` skipped) drawn in :data:`~pytracking.utils.plotting.BOX_COLORS`
      order (1st green, 2nd red, ...) with kwarg ``thickness`` (default 2 px), and optionally a last (H, W)
      mask (label map, bool, or soft mask thresholded at 0.5) blended in with the DAVIS palette at 50 %.
    * ``'bbreg'``: a tuple ``(image, boxes (N, 4), ious (N,))``: IoU-Net proposals drawn in
      :func:`~pytracking.utils.plotting.iou_colors` (red = IoU 0 to green = IoU 1), best drawn last (on top).

    Args:
        debug: debug level; blocks with ``debug_level <= debug`` start shown.
        ui_info: optional ``{'win_id': window id, 'handler': callable(event dict)}``: an extra event handler
            for that window (e.g. clicks in a tracker's own window).
        visdom_info: connection settings, see :func:`connect`.
        client: a ready client (a ``visdom.Visdom`` or an object with the same methods) instead of connecting.
        connect_timeout: seconds to wait for the server.

    Raises:
        ImportError: visdom is not installed (only when connecting).
        VisdomConnectionError: no server answers (only when connecting).
    """

    def __init__(
        self,
        debug: int = 0,
        ui_info: dict | None = None,
        visdom_info: dict | None = None,
        *,
        client: Any = None,
        connect_timeout: float = 1.0,
    ) -> None:
        self.debug = int(debug)
        self.client = connect(visdom_info, connect_timeout) if client is None else client
        self.blocks: dict[str, _Block] = {}
        self.registered_this_frame: set[str] = set()
        self.paused = False
        self._step = False
        self._cond = threading.Condition()
        # Event handlers run on the visdom client's socket thread; this lock serialises them with register().
        self._lock = threading.RLock()
        self._listening: set[str] = set()
        self._events_ok = True
        self._failed = False
        self._listen(BLOCK_LIST_WIN, self._on_block_list_event)
        if ui_info is not None:
            self._listen(ui_info["win_id"], ui_info["handler"])
        self._show_block_list()

    def __deepcopy__(self, memo: dict) -> Visdom:
        # A dashboard is shared, not state: copies of a tracker (MultiObjectWrapper's fast_load) keep drawing here.
        return self

    # ---- public API ---------------------------------------------------------------------------------------------

    def register(self, data: Any, mode: str, debug_level: int = 0, title: str = "Data", **kwargs: Any) -> None:
        """Create or update block ``title`` with ``data`` (see the class docstring for ``data`` per ``mode``).

        Args:
            data: the block's content.
            mode: one of :data:`MODES`.
            debug_level: the block starts shown when ``debug_level <= self.debug``.
            title: block name, window id and window title.
            kwargs: mode options (``range``, ``colormap``, ``legend``, ``thickness``, ``max_channels``).

        Raises:
            ValueError: unknown ``mode`` or malformed ``data``.
        """
        if mode not in MODES:
            raise ValueError(f"unknown debug block mode {mode!r}; choose one of {', '.join(MODES)}")
        with self._lock:
            block = self.blocks.get(title)
            if block is None or block.mode != mode:
                if block is not None:
                    self._call(self.client.close, win=block.win)
                block = _Block(title, mode, debug_level, shown=debug_level <= self.debug)
                self.blocks[title] = block
                self._listen(block.win, self._on_key_event)
                self._show_block_list()
            block.data, block.kwargs = data, kwargs
            self.registered_this_frame.add(title)
            if block.shown:
                self._draw(block)

    def set_visible(self, title: str, visible: bool) -> None:
        """Show (drawing its latest data) or hide (closing its window) block ``title``."""
        with self._lock:
            block = self.blocks[title]
            block.shown = bool(visible)
            if block.shown and block.data is not None:
                self._draw(block)
            elif not block.shown:
                self._call(self.client.close, win=block.win)
            self._show_block_list()

    def toggle_pause(self) -> None:
        """Pause, or resume, the tracking loop (at the next :meth:`block_until_unpaused`)."""
        with self._cond:
            self.paused = not self.paused
            self._step = False
            self._cond.notify_all()
        with self._lock:
            self._show_block_list()

    def step(self) -> None:
        """While paused: let the tracking loop run one more frame. No effect when running."""
        with self._cond:
            if self.paused:
                self._step = True
                self._cond.notify_all()

    def block_until_unpaused(self, timeout: float | None = None) -> bool:
        """Wait while paused (returns at once when running, or after one frame step); then start a new frame.

        Args:
            timeout: give up waiting after this many seconds (``None``: wait as long as it takes).

        Returns:
            ``False`` when the timeout ran out while still paused, else ``True``.
        """
        with self._cond:
            released = self._cond.wait_for(lambda: not self.paused or self._step, timeout)
            if released:
                self._step = False
        self.registered_this_frame = set()
        return released

    # ---- events -------------------------------------------------------------------------------------------------

    def _listen(self, win: str, handler: Callable[[dict], Any]) -> None:
        if win in self._listening and handler == self._on_key_event:
            return
        try:
            self.client.register_event_handler(handler, win)
        except AssertionError:
            # The client asserts when its event socket is down: views still work, only keys and checkboxes don't.
            if self._events_ok:
                logger.warning("Visdom: no event socket to the server; block checkboxes and keys are disabled")
            self._events_ok = False
            return
        self._listening.add(win)

    def _on_key_event(self, event: dict) -> None:
        if event.get("event_type") != "KeyPress":
            return
        key = event.get("key")
        if key == KEY_PAUSE:
            self.toggle_pause()
        elif key == KEY_STEP:
            self.step()

    def _on_block_list_event(self, event: dict) -> None:
        if event.get("event_type") == "PropertyUpdate":
            with self._lock:
                titles = list(self.blocks)
                index = int(event.get("propertyId", -1))
                if 0 <= index < len(titles):
                    value = event.get("value")
                    visible = value.lower() == "true" if isinstance(value, str) else bool(value)
                    self.set_visible(titles[index], visible)
        else:
            self._on_key_event(event)

    # ---- drawing ------------------------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(...)``, unless the server was lost; a lost connection is reported once and ends all drawing."""
        if self._failed:
            return None
        try:
            return fn(*args, **kwargs)
        except (ConnectionError, OSError) as e:
            self._failed = True
            logger.warning("Visdom: lost the connection to the server (%s); debug views are off from now on", e)
            return None

    def _show_block_list(self) -> None:
        props = [{"type": "checkbox", "name": b.title, "value": b.shown} for b in self.blocks.values()]
        state = "PAUSED - space: resume, right arrow: step" if self.paused else "space: pause"
        self._call(self.client.properties, props, win=BLOCK_LIST_WIN, opts={"title": f"Blocks ({state})"})

    def _draw(self, block: _Block) -> None:
        getattr(self, "_draw_" + block.mode)(block.data, block.win, {"title": block.title}, **block.kwargs)

    def _heatmap(
        self, m: np.ndarray, win: str, opts: dict, range: tuple | None = None, colormap: str = "Viridis", **_: Any
    ) -> None:
        opts = {**opts, "colormap": colormap}
        if range is not None:
            lo, hi = range
            opts.update({k: float(v) for k, v in (("xmin", lo), ("xmax", hi)) if v is not None})
        self._call(self.client.heatmap, np.ascontiguousarray(m[::-1]), win=win, opts=opts)

    def _draw_image(self, data: Any, win: str, opts: dict, **_: Any) -> None:
        self._call(self.client.image, image_to_uint8(data).transpose(2, 0, 1), win=win, opts=opts)

    def _draw_heatmap(self, data: Any, win: str, opts: dict, **kwargs: Any) -> None:
        self._heatmap(as_map(data), win, opts, **kwargs)

    def _draw_cost_volume(self, data: Any, win: str, opts: dict, **kwargs: Any) -> None:
        self._heatmap(tile_cost_volume(data), win, opts, **kwargs)

    def _draw_cost_volume_flip(self, data: Any, win: str, opts: dict, **kwargs: Any) -> None:
        self._heatmap(tile_cost_volume(data, flip=True), win, opts, **kwargs)

    def _draw_featmap(self, data: Any, win: str, opts: dict, max_channels: int = 16, **kwargs: Any) -> None:
        self._heatmap(tile_channels(data, max_channels), win, opts, **kwargs)

    def _draw_info_dict(self, data: Any, win: str, opts: dict, **_: Any) -> None:
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(format_value(v))}</td></tr>" for k, v in data.items()
        )
        self._call(self.client.text, f"<table>{rows}</table>", win=win, opts=opts)

    def _draw_text(self, data: Any, win: str, opts: dict, **_: Any) -> None:
        self._call(self.client.text, str(data), win=win, opts=opts)

    def _draw_lineplot(self, data: Any, win: str, opts: dict, legend: list | None = None, **_: Any) -> None:
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = (torch_to_numpy(d).astype(np.float64) for d in data)
        else:
            y = torch_to_numpy(data).astype(np.float64)
            x = np.arange(y.shape[0], dtype=np.float64)
        x = x.reshape(-1)
        if y.ndim == 2:
            x = np.tile(x[:, None], (1, y.shape[1]))
        if legend is not None:
            opts = {**opts, "legend": list(legend)}
        self._call(self.client.line, y, x, win=win, opts=opts)

    def _draw_Tracking(self, data: Any, win: str, opts: dict, thickness: int = 2, **_: Any) -> None:
        image, boxes, mask = parse_tracking_data(data)
        if mask is not None:
            image = overlay_mask(image, mask)
        image = draw_boxes(image, boxes, thickness=thickness)
        self._call(self.client.image, image.transpose(2, 0, 1), win=win, opts=opts)

    def _draw_bbreg(self, data: Any, win: str, opts: dict, thickness: int = 1, **_: Any) -> None:
        image, boxes, ious = parse_bbreg_data(data)
        order = np.argsort(ious, kind="stable")  # ascending: the best proposal is drawn last, on top
        image = draw_boxes(image, boxes[order], colors=iou_colors(ious[order]), thickness=thickness)
        self._call(self.client.image, image.transpose(2, 0, 1), win=win, opts=opts)
