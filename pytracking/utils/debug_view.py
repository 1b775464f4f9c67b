"""Choosing the live debug view for ``--debug N``: Visdom, else matplotlib windows, else none.

:func:`make_debug_view` returns an object with the :class:`DebugView` interface that the harness attaches as
``tracker.visdom``: a :class:`~pytracking.utils.visdom.Visdom` dashboard when Visdom is requested and a server
answers, else a :class:`MatplotlibView` when matplotlib can open windows, else ``None`` (headless; one log
message says why). Neither visdom nor matplotlib.pyplot is imported until a view is made.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pytracking.utils.plotting import (
    as_map,
    format_value,
    image_to_uint8,
    parse_bbreg_data,
    parse_tracking_data,
    plot_graph,
    show_image_with_boxes,
    show_tensor,
    show_text,
    tile_channels,
    tile_cost_volume,
)
from pytracking.utils.plotting import iou_colors as _iou_colors
from pytracking.utils.visdom import MODES, Visdom, VisdomConnectionError, server_url

__all__ = ["DebugView", "MatplotlibView", "make_debug_view", "interactive_matplotlib", "clear_cache"]

logger = logging.getLogger(__name__)

#: Backends that cannot open windows (lower case).
NON_INTERACTIVE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})

_DASHBOARDS: dict[tuple[str, int, str], Visdom] = {}


@runtime_checkable
class DebugView(Protocol):
    """What the harness and the trackers use of a debug view."""

    debug: int
    registered_this_frame: set[str]
    """Titles registered since the last :meth:`block_until_unpaused` (the harness draws 'Tracking' if absent)."""

    def register(self, data: Any, mode: str, debug_level: int = 0, title: str = "Data", **kwargs: Any) -> None:
        """Show ``data`` in block ``title`` (conventions per mode: :class:`~pytracking.utils.visdom.Visdom`)."""
        ...

    def block_until_unpaused(self, timeout: float | None = None) -> bool:
        """Called after every frame: wait while the user has paused; start a new frame."""
        ...


class MatplotlibView:
    """Debug view in matplotlib windows: one figure per block title, same ``register`` as the Visdom dashboard.

    Blocks with ``debug_level > debug`` are not drawn. 'info_dict' and 'text' blocks are drawn as text; the
    other modes follow :class:`~pytracking.utils.visdom.Visdom` (heatmaps with row 0 on top, as images). Keys
    in any of its windows: space pauses/resumes, right arrow steps one frame while paused.

    Args:
        debug: debug level.
        interactive: turn on matplotlib's interactive mode (``plt.ion()``) so windows appear without
            ``plt.show()``; ``False`` for off-screen use (tests, Agg).
    """

    def __init__(self, debug: int, *, interactive: bool = True) -> None:
        import matplotlib.pyplot as plt

        self.debug = int(debug)
        self.registered_this_frame: set[str] = set()
        self.paused = False
        self._step = False
        self.figures: dict[str, Any] = {}
        if interactive:
            plt.ion()

    def __deepcopy__(self, memo: dict) -> MatplotlibView:
        return self  # shared by copies of a tracker, like the Visdom dashboard

    def register(self, data: Any, mode: str, debug_level: int = 0, title: str = "Data", **kwargs: Any) -> None:
        """Draw ``data`` into the figure of ``title`` (see :meth:`pytracking.utils.visdom.Visdom.register`).

        Raises:
            ValueError: unknown ``mode`` or malformed ``data``.
        """
        if mode not in MODES:
            raise ValueError(f"unknown debug block mode {mode!r}; choose one of {', '.join(MODES)}")
        self.registered_this_frame.add(title)
        if debug_level > self.debug:
            return
        fig = self._figure(title)
        ax = fig.axes[0] if fig.axes else fig.add_subplot()
        value_range = kwargs.get("range", (None, None))
        if mode == "image":
            show_tensor(image_to_uint8(data), title=title, ax=ax)
        elif mode == "heatmap":
            show_tensor(as_map(data), title=title, range=value_range, ax=ax)
        elif mode in ("cost_volume", "cost_volume_flip"):
            show_tensor(tile_cost_volume(data, flip=mode.endswith("flip")), title=title, range=value_range, ax=ax)
        elif mode == "featmap":
            show_tensor(tile_channels(data, kwargs.get("max_channels", 16)), title=title, ax=ax)
        elif mode == "info_dict":
            show_text("\n".join(f"{k}: {format_value(v)}" for k, v in data.items()), title=title, ax=ax)
        elif mode == "text":
            show_text(str(data), title=title, ax=ax)
        elif mode == "lineplot":
            x, y = data if isinstance(data, (tuple, list)) and len(data) == 2 else (None, data)
            plot_graph(y, title=title, ax=ax, x=x)
            if kwargs.get("legend") is not None:
                ax.legend(list(kwargs["legend"]))
        elif mode == "Tracking":
            image, boxes, mask = parse_tracking_data(data)
            show_image_with_boxes(image, boxes, mask=mask, title=title, ax=ax)
        elif mode == "bbreg":
            image, boxes, ious = parse_bbreg_data(data)
            order = ious.argsort(kind="stable")
            show_image_with_boxes(image, boxes[order], colors=_iou_colors(ious[order]), title=title, ax=ax)

    def _figure(self, title: str) -> Any:
        import matplotlib.pyplot as plt

        fig = self.figures.get(title)
        if fig is None or not plt.fignum_exists(fig.number):
            fig = plt.figure(title)
            fig.canvas.mpl_connect("key_press_event", self._on_key)
            self.figures[title] = fig
        return fig

    def _on_key(self, event: Any) -> None:
        if event.key == " ":
            self.paused = not self.paused
            self._step = False
        elif event.key == "right" and self.paused:
            self._step = True

    def block_until_unpaused(self, timeout: float | None = None) -> bool:
        """Run the windows' event loop while paused (keys arrive there); then start a new frame.

        Returns:
            ``False`` when ``timeout`` seconds ran out while still paused, else ``True``. Closing every window
            also resumes.
        """
        import matplotlib.pyplot as plt

        deadline = None if timeout is None else time.monotonic() + timeout
        released = True
        while self.paused and not self._step:
            open_figs = [f for f in self.figures.values() if plt.fignum_exists(f.number)]
            if not open_figs:
                self.paused = False
                break
            if deadline is not None and time.monotonic() >= deadline:
                released = False
                break
            open_figs[0].canvas.start_event_loop(0.05)
        if released:
            self._step = False
        self.registered_this_frame = set()
        return released


def _configured_backend() -> str | None:
    """The matplotlib backend set by the user or already in use, or ``None`` while it is still 'auto'."""
    import matplotlib

    try:
        return matplotlib.get_backend(auto_select=False)  # matplotlib >= 3.10
    except TypeError:
        return matplotlib.rcParams._get_backend_or_none()  # older: the same query, private API


def interactive_matplotlib(environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Whether matplotlib can open windows here.

    An explicitly chosen (or already active) backend decides by its kind; with the automatic choice, Linux needs
    ``DISPLAY`` or ``WAYLAND_DISPLAY`` and then a GUI toolkit that matplotlib finds.

    Returns:
        ``(usable, reason)``.
    """
    env = os.environ if environ is None else environ
    backend = _configured_backend()
    if backend is None:
        if sys.platform not in ("darwin", "win32") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            return False, "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
        import matplotlib

        backend = matplotlib.get_backend()  # resolves 'auto': the first GUI toolkit that loads, else agg
    name = backend.lower()
    if name in NON_INTERACTIVE_BACKENDS or name.startswith("module://matplotlib_inline"):
        return False, f"the matplotlib backend {backend!r} cannot open windows"
    return True, f"matplotlib backend {backend!r}"


def clear_cache() -> None:
    """Forget the Visdom dashboards kept for reuse by :func:`make_debug_view`."""
    _DASHBOARDS.clear()


def make_debug_view(
    debug: int | None,
    visdom_info: Mapping[str, Any] | None = None,
    *,
    connect_timeout: float = 1.0,
    reuse: bool = True,
) -> Visdom | MatplotlibView | None:
    """The debug view for debug level ``debug``, or ``None``.

    Args:
        debug: debug level; ``None`` or <= 0 gives ``None``.
        visdom_info: ``{'use_visdom': bool, 'server': str, 'port': int}`` (``use_visdom`` defaults to True in a
            given dict; ``None`` means no Visdom).
        connect_timeout: seconds to wait for the Visdom server.
        reuse: return the dashboard made earlier for the same server (one client and event socket per process,
            and the block checkboxes keep their state from sequence to sequence).

    Returns:
        A :class:`~pytracking.utils.visdom.Visdom` dashboard when Visdom is requested and its server answers,
        else a :class:`MatplotlibView` when :func:`interactive_matplotlib` allows, else ``None``. Falling back
        logs one warning with the reason(s).
    """
    if debug is None or debug <= 0:
        return None
    info = dict(visdom_info or {})
    visdom_problem = None
    if visdom_info is not None and info.get("use_visdom", True):
        server, port = server_url(str(info.get("server", "127.0.0.1"))), int(info.get("port", 8097))
        key = (server, port, str(info.get("env", "main")))
        view = _DASHBOARDS.get(key) if reuse else None
        if view is None:
            try:
                view = Visdom(debug, visdom_info=info, connect_timeout=connect_timeout)
            except ImportError as e:
                visdom_problem = str(e)
            except VisdomConnectionError as e:
                visdom_problem = str(e)
            else:
                if reuse:
                    _DASHBOARDS[key] = view
        if view is not None:
            view.debug = int(debug)
            view.registered_this_frame = set()
            return view
    usable, reason = interactive_matplotlib()
    if usable:
        if visdom_problem is not None:
            logger.warning("Visdom debug view unavailable: %s; using matplotlib windows instead", visdom_problem)
        return MatplotlibView(debug)
    if visdom_problem is None:
        visdom_problem = "Visdom not requested (use_visdom is off)"
    logger.warning("Debug views are off: %s; and matplotlib cannot open windows: %s", visdom_problem, reason)
    return None
