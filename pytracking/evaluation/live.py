"""Tracking on a video file or a live camera, with an optional interactive window.

The two entry points :func:`run_video` (``pytracking/run_video.py``) and :func:`run_webcam`
(``pytracking/run_webcam.py``) are built from small, separately testable parts:

* **frame sources** (:class:`FrameSource`): :class:`VideoCaptureSource` (a camera index, a video file or a stream
  URL, read with OpenCV) and :class:`FrameListSource` (frames held in memory). Sources return BGR frames, as
  OpenCV reads them; frames are converted to RGB before they reach a tracker.
* **displays** (:class:`Display`): :class:`OpenCVDisplay` (an OpenCV window) and :class:`ScriptedDisplay` (a
  list of timed mouse drags and key presses that stands in for a user, recording every frame it is shown).
* **the multi-target state** (:class:`LiveTargets`): one tracker instance per target, all built by the same
  factory, plus :class:`BoxDrawer`, which turns press-drag-release mouse events into boxes.
* **the interactive loop** (:func:`run_live_loop`): read, track, draw, show, react to the user.

OpenCV builds without GUI support (the ``opencv-*-headless`` wheels) cannot open windows;
:func:`opencv_gui_problem` detects this (and a missing display server on Linux) before a window is needed.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import secrets
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

__all__ = [
    "KEY_ESC",
    "QUIT_KEYS",
    "RESET_KEYS",
    "PAUSE_KEYS",
    "GUI_INSTALL_HINT",
    "GuiUnavailableError",
    "VideoSourceError",
    "gui_backend",
    "opencv_gui_problem",
    "require_gui",
    "FrameSource",
    "VideoCaptureSource",
    "FrameListSource",
    "parse_source",
    "MouseEvent",
    "Drag",
    "KeyPress",
    "Display",
    "OpenCVDisplay",
    "ScriptedDisplay",
    "BoxDrawer",
    "LiveTargets",
    "LiveEvent",
    "LiveResult",
    "VideoResult",
    "box_corners",
    "target_colour",
    "draw_box",
    "render_frame",
    "clip_box",
    "validate_box",
    "run_live_loop",
    "run_video",
    "run_webcam",
]

KEY_ESC = 27
QUIT_KEYS = frozenset({ord("q"), KEY_ESC})
RESET_KEYS = frozenset({ord("r")})
PAUSE_KEYS = frozenset({ord(" ")})

GUI_INSTALL_HINT = (
    "install a GUI build of OpenCV instead of the -headless one: "
    "pip uninstall opencv-contrib-python-headless opencv-python-headless && pip install opencv-contrib-python"
)

Box = list[float]

# Distinct BGR colours for target ids 1, 2, ... (cycled); none of them is grey, so they stand out on most video.
PALETTE_BGR: tuple[tuple[int, int, int], ...] = (
    (0, 255, 0),
    (0, 0, 255),
    (255, 0, 0),
    (0, 255, 255),
    (255, 0, 255),
    (255, 255, 0),
    (0, 128, 255),
    (255, 0, 128),
)
DRAFT_COLOUR_BGR = (255, 255, 255)  # the box being drawn with the mouse


class GuiUnavailableError(RuntimeError):
    """OpenCV cannot open a window here (headless build, or no display server)."""


class VideoSourceError(OSError):
    """A camera, video file or stream could not be opened or gave no frame."""


# ---------------------------------------------------------------------------------------------------------------
# GUI detection

_GUI_BACKEND_KEYS = ("gtk", "qt", "win32", "cocoa", "wayland", "framebuffer")


def gui_backend(build_information: str | None = None) -> str | None:
    """The GUI backend named in OpenCV's build information, ``None`` when it has none.

    Args:
        build_information: text of ``cv2.getBuildInformation()`` (default: the installed cv2's).

    Returns:
        The backend (e.g. ``'GTK3'``, ``'QT'``), ``None`` for a build without GUI (``GUI: NONE``, or a ``GUI:``
        section listing no backend), or ``'unknown'`` when the text has no ``GUI:`` section at all.
    """
    text = cv2.getBuildInformation() if build_information is None else build_information
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.strip().startswith("GUI:"):
            continue
        value = line.split(":", 1)[1].strip()
        if value:
            return None if value.upper() == "NONE" else value
        # Older builds list the backends on indented lines below an empty 'GUI:' line.
        indent = len(line) - len(line.lstrip())
        for sub in lines[i + 1 :]:
            if not sub.strip() or len(sub) - len(sub.lstrip()) <= indent:
                break
            key, _, status = sub.strip().partition(":")
            if any(k in key.lower() for k in _GUI_BACKEND_KEYS) and status.strip().upper().startswith("YES"):
                return key.strip()
        return None
    return "unknown"


def _opencv_distributions() -> list[str]:
    """Names of the installed pip distributions that provide cv2 (e.g. ``['opencv-contrib-python-headless']``)."""
    names = set()
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name.startswith("opencv-"):
            names.add(name)
    return sorted(names)


def opencv_gui_problem(build_information: str | None = None, environ: dict[str, str] | None = None) -> str | None:
    """Why OpenCV cannot open a window here, or ``None`` when it can (as far as can be told without opening one).

    Args:
        build_information: OpenCV build information text (default: the installed cv2's).
        environ: environment variables (default ``os.environ``), for the display-server check on Linux.

    Returns:
        A message for the user naming the cause and the fix, or ``None``.
    """
    environ = os.environ if environ is None else environ
    backend = gui_backend(build_information)
    dists = _opencv_distributions()
    if backend == "unknown":
        # No GUI section to read: judge by the installed wheels (only -headless ones means no GUI).
        backend = None if dists and all(d.endswith("-headless") for d in dists) else "unknown"
    if backend is None:
        installed = f" (installed: {', '.join(dists)})" if dists else ""
        return f"OpenCV {cv2.__version__} was built without GUI support{installed}, so it cannot open windows; " + (
            GUI_INSTALL_HINT
        )
    if sys.platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return "no display server: neither DISPLAY nor WAYLAND_DISPLAY is set, so OpenCV cannot open windows"
    return None


def require_gui() -> None:
    """Raise :class:`GuiUnavailableError` (with :func:`opencv_gui_problem`'s message) when no window can open."""
    problem = opencv_gui_problem()
    if problem is not None:
        raise GuiUnavailableError(problem)


# ---------------------------------------------------------------------------------------------------------------
# Frame sources


@runtime_checkable
class FrameSource(Protocol):
    """A stream of frames: ``read()`` gives the next (H, W, 3) uint8 BGR frame, or ``None`` at the end."""

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


def parse_source(source: int | str | os.PathLike) -> int | str:
    """A camera index for ints and strings of digits (``'0'`` -> 0), else the path/URL as a string."""
    if isinstance(source, (int, np.integer)):
        return int(source)
    text = os.fspath(source)
    return int(text) if text.strip().isdigit() else text


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


class VideoCaptureSource:
    """Frames from ``cv2.VideoCapture``: a camera index, a video file, or a stream URL (``scheme://...``).

    Args:
        source: camera index (int or digits), video file path, or stream URL.

    Raises:
        FileNotFoundError: ``source`` is a file path that does not exist.
        VideoSourceError: OpenCV cannot open it (unknown camera, unsupported format or codec).
    """

    def __init__(self, source: int | str | os.PathLike):
        self.source = parse_source(source)
        self.is_camera = isinstance(self.source, int)
        if not self.is_camera and "://" not in self.source and not Path(self.source).is_file():
            raise FileNotFoundError(f"video file not found: {self.source}")
        self._cap = cv2.VideoCapture(self.source)
        if not self._cap.isOpened():
            what = f"camera {self.source}" if self.is_camera else f"video {self.source}"
            raise VideoSourceError(
                f"cannot open {what}: OpenCV could not read it (no such device, or an unsupported format/codec)"
            )

    @property
    def fps(self) -> float:
        """Frame rate the source reports (0.0 when unknown)."""
        value = self._cap.get(cv2.CAP_PROP_FPS) if self._cap is not None else 0.0
        return float(value) if value and math.isfinite(value) else 0.0

    def read(self) -> np.ndarray | None:
        """The next frame, (H, W, 3) uint8 BGR, or ``None`` at the end of the stream (or a camera failure)."""
        if self._cap is None:
            return None
        ok, frame = self._cap.read()
        return _as_bgr(frame) if ok and frame is not None else None

    def close(self) -> None:
        """Release the capture device (idempotent)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoCaptureSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FrameListSource:
    """Frames held in memory (BGR), returned in order; e.g. a recorded stream in tests."""

    def __init__(self, frames: Iterable[np.ndarray]):
        self._frames = deque(frames)

    def read(self) -> np.ndarray | None:
        """The next frame, or ``None`` when all were read."""
        return self._frames.popleft() if self._frames else None

    def close(self) -> None:
        """Drop the remaining frames."""
        self._frames.clear()

    def __enter__(self) -> FrameListSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------------------------
# Displays


@dataclass(frozen=True)
class MouseEvent:
    """A left-button mouse event in image pixel coordinates; ``kind`` is ``'down'``, ``'move'`` or ``'up'``."""

    kind: str
    x: int
    y: int


MouseCallback = Callable[[MouseEvent], None]


@dataclass(frozen=True)
class Drag:
    """Scripted action: press at ``start``, move (``moves`` intermediate points), release at ``end`` (x, y)."""

    start: tuple[int, int]
    end: tuple[int, int]
    moves: int = 2

    def events(self) -> list[MouseEvent]:
        """The mouse events of the drag, in order."""
        (x0, y0), (x1, y1) = self.start, self.end
        steps = [
            (round(x0 + (x1 - x0) * k / (self.moves + 1)), round(y0 + (y1 - y0) * k / (self.moves + 1)))
            for k in range(1, self.moves + 1)
        ]
        return [MouseEvent("down", x0, y0), *(MouseEvent("move", x, y) for x, y in steps), MouseEvent("up", x1, y1)]


@dataclass(frozen=True)
class KeyPress:
    """Scripted action: a key press (a one-character string or a key code)."""

    key: str | int

    @property
    def code(self) -> int:
        """The key code as ``Display.poll_key`` returns it."""
        return ord(self.key) if isinstance(self.key, str) else int(self.key)


Action = Drag | KeyPress | MouseEvent


@runtime_checkable
class Display(Protocol):
    """Where frames are shown and user input comes from.

    Mouse events are delivered to the callback set with :meth:`set_mouse_callback` while :meth:`poll_key` runs
    (OpenCV processes window events inside ``waitKey``).
    """

    def show(self, frame_bgr: np.ndarray) -> None:
        """Show an (H, W, 3) uint8 BGR frame."""
        ...

    def poll_key(self, delay_ms: int) -> int:
        """Process window events for up to ``delay_ms`` ms; the pressed key's code (0-255), or -1 for none."""
        ...

    def set_mouse_callback(self, callback: MouseCallback | None) -> None:
        """Deliver mouse events to ``callback`` (``None``: stop)."""
        ...

    def select_box(self, frame_bgr: np.ndarray) -> Box | None:
        """Let the user select one box ``[x, y, w, h]`` on ``frame_bgr``; ``None`` if cancelled."""
        ...

    def is_open(self) -> bool:
        """False once the user closed the window."""
        ...

    def close(self) -> None:
        """Close the window."""
        ...


class OpenCVDisplay:
    """An OpenCV ``highgui`` window.

    Args:
        title: window title (also OpenCV's window name).

    Raises:
        GuiUnavailableError: OpenCV has no GUI backend or there is no display (checked before creating the window).
    """

    _MOUSE_KINDS = {cv2.EVENT_LBUTTONDOWN: "down", cv2.EVENT_MOUSEMOVE: "move", cv2.EVENT_LBUTTONUP: "up"}

    def __init__(self, title: str = "pytracking"):
        require_gui()
        self.title = title
        self._callback: MouseCallback | None = None
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
        except cv2.error as e:  # a GUI backend that fails at run time (e.g. a broken display connection)
            raise GuiUnavailableError(f"OpenCV cannot open a window: {e}; {GUI_INSTALL_HINT}") from e
        self._open = True
        cv2.setMouseCallback(title, self._on_mouse)

    def _on_mouse(self, event: int, x: int, y: int, flags: int, param: Any) -> None:
        kind = self._MOUSE_KINDS.get(event)
        if kind is not None and self._callback is not None:
            self._callback(MouseEvent(kind, int(x), int(y)))

    def show(self, frame_bgr: np.ndarray) -> None:
        cv2.imshow(self.title, frame_bgr)

    def poll_key(self, delay_ms: int) -> int:
        key = cv2.waitKey(max(1, int(delay_ms)))
        return -1 if key == -1 else key & 0xFF

    def set_mouse_callback(self, callback: MouseCallback | None) -> None:
        self._callback = callback

    def select_box(self, frame_bgr: np.ndarray) -> Box | None:
        x, y, w, h = cv2.selectROI(self.title, frame_bgr, showCrosshair=True, fromCenter=False)
        # selectROI installs its own mouse handler on the window; put ours back.
        cv2.setMouseCallback(self.title, self._on_mouse)
        return [float(x), float(y), float(w), float(h)] if w > 0 and h > 0 else None

    def is_open(self) -> bool:
        if not self._open:
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)  # lets the backend actually remove the window
            except cv2.error:
                pass


class ScriptedDisplay:
    """A display driven by a script, for tests and demos; it records every frame it is shown.

    Each action is ``(step, action)``: it happens during the :meth:`poll_key` call that follows the ``step``-th
    :meth:`show` (0-based), i.e. while frame ``step`` is on screen when nothing is paused. A :class:`Drag` or a
    :class:`MouseEvent` goes to the mouse callback, a :class:`KeyPress` is returned by ``poll_key`` (several keys
    on one step come out on successive polls).

    Args:
        actions: ``(step, action)`` pairs, any order.
        boxes: answers of successive :meth:`select_box` calls (``None`` entries mean "cancelled"); ``None``
            once exhausted.
    """

    def __init__(self, actions: Iterable[tuple[int, Action]] = (), boxes: Iterable[Sequence[float] | None] = ()):
        self._actions: dict[int, list[Action]] = {}
        for step, action in actions:
            self._actions.setdefault(int(step), []).append(action)
        self._boxes = deque(boxes)
        self._keys: deque[int] = deque()
        self._callback: MouseCallback | None = None
        self.shown: list[np.ndarray] = []
        self.select_frames: list[np.ndarray] = []
        self.polls: list[int] = []
        self.closed = False

    @property
    def step(self) -> int:
        """Index of the latest :meth:`show` call (-1 before the first)."""
        return len(self.shown) - 1

    def show(self, frame_bgr: np.ndarray) -> None:
        self.shown.append(np.array(frame_bgr, copy=True))

    def poll_key(self, delay_ms: int) -> int:
        self.polls.append(self.step)
        for action in self._actions.pop(self.step, []):
            if isinstance(action, KeyPress):
                self._keys.append(action.code)
            elif self._callback is not None:
                for event in action.events() if isinstance(action, Drag) else [action]:
                    self._callback(event)
        return self._keys.popleft() if self._keys else -1

    def set_mouse_callback(self, callback: MouseCallback | None) -> None:
        self._callback = callback

    def select_box(self, frame_bgr: np.ndarray) -> Box | None:
        self.select_frames.append(np.array(frame_bgr, copy=True))
        box = self._boxes.popleft() if self._boxes else None
        return None if box is None else [float(v) for v in box]

    def is_open(self) -> bool:
        return not self.closed

    def close(self) -> None:
        self.closed = True


# ---------------------------------------------------------------------------------------------------------------
# Boxes and drawing


def validate_box(box: Sequence[float]) -> Box:
    """``box`` as ``[x, y, w, h]`` floats.

    Raises:
        ValueError: not four finite numbers with positive width and height.
    """
    values = [float(v) for v in box]
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"a box must be x y w h with finite values and w, h > 0, got {list(box)}")
    return values


def clip_box(box: Sequence[float], width: int, height: int) -> Box | None:
    """The part of ``box`` inside a ``width`` x ``height`` image, or ``None`` when less than 1x1 pixel remains."""
    x, y, w, h = (float(v) for v in box)
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(width), x + w), min(float(height), y + h)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return [x0, y0, x1 - x0, y1 - y0]


def box_corners(box: Sequence[float]) -> tuple[int, int, int, int]:
    """Inclusive pixel corners ``(x0, y0, x1, y1)`` of the outline :func:`draw_box` draws for ``box``."""
    x, y, w, h = (float(v) for v in box)
    x0, y0 = round(x), round(y)
    return x0, y0, max(x0, round(x + w) - 1), max(y0, round(y + h) - 1)


def target_colour(obj_id: int) -> tuple[int, int, int]:
    """BGR colour of target ``obj_id`` (1-based; the palette repeats)."""
    return PALETTE_BGR[(int(obj_id) - 1) % len(PALETTE_BGR)]


def draw_box(
    frame_bgr: np.ndarray,
    box: Sequence[float],
    colour: tuple[int, int, int],
    label: str | None = None,
    thickness: int = 2,
) -> None:
    """Draw ``box`` ([x, y, w, h]) on ``frame_bgr`` in place, with ``label`` above its top-left corner."""
    x0, y0, x1, y1 = box_corners(box)
    cv2.rectangle(frame_bgr, (x0, y0), (x1, y1), colour, thickness)
    if label:
        # Above the box when there is room, else just inside it.
        org = (x0, y0 - 5) if y0 >= 16 else (x0 + 3, y0 + 15)
        cv2.putText(frame_bgr, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def render_frame(
    frame_bgr: np.ndarray,
    boxes: dict[int, Sequence[float]],
    draft: Sequence[float] | None = None,
    status: str | None = None,
) -> np.ndarray:
    """A copy of ``frame_bgr`` with each target's box and id, the box being drawn, and a status line.

    Args:
        frame_bgr: (H, W, 3) uint8 BGR frame (not modified).
        boxes: target id -> [x, y, w, h].
        draft: box being drawn with the mouse (thin white outline), if any.
        status: text for the bottom-left corner, if any.
    """
    canvas = np.array(frame_bgr, copy=True)
    for obj_id, box in boxes.items():
        draw_box(canvas, box, target_colour(obj_id), str(obj_id))
    if draft is not None:
        draw_box(canvas, draft, DRAFT_COLOUR_BGR, thickness=1)
    if status:
        cv2.putText(canvas, status, (5, canvas.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
    return canvas


class BoxDrawer:
    """Turns left-button press-drag-release mouse events into boxes (a mouse callback for :class:`Display`).

    Args:
        min_size: drags smaller than this (width or height, pixels) are taken as clicks and dropped.
    """

    def __init__(self, min_size: int = 3):
        self.min_size = min_size
        self._start: tuple[int, int] | None = None
        self._current: tuple[int, int] | None = None
        self._completed: deque[Box] = deque()

    @staticmethod
    def _box(a: tuple[int, int], b: tuple[int, int]) -> Box:
        return [float(min(a[0], b[0])), float(min(a[1], b[1])), float(abs(b[0] - a[0])), float(abs(b[1] - a[1]))]

    def __call__(self, event: MouseEvent) -> None:
        point = (event.x, event.y)
        if event.kind == "down":
            self._start = self._current = point
        elif self._start is None:
            return  # a move or release without a press in this window
        elif event.kind == "move":
            self._current = point
        elif event.kind == "up":
            box = self._box(self._start, point)
            self._start = self._current = None
            if box[2] >= self.min_size and box[3] >= self.min_size:
                self._completed.append(box)

    @property
    def draft(self) -> Box | None:
        """The box of the drag in progress, or ``None``."""
        if self._start is None or self._current is None:
            return None
        return self._box(self._start, self._current)

    def pop_completed(self) -> list[Box]:
        """Boxes finished since the last call, oldest first."""
        boxes = list(self._completed)
        self._completed.clear()
        return boxes

    def cancel(self) -> None:
        """Forget the drag in progress and unclaimed boxes."""
        self._start = self._current = None
        self._completed.clear()


# ---------------------------------------------------------------------------------------------------------------
# Multi-target state


@dataclass
class _Target:
    tracker: Any
    box: Box
    previous_output: dict


class LiveTargets:
    """The targets being tracked: one tracker per target, created by ``tracker_factory`` (same parameters).

    Ids are 1, 2, ... in the order targets are added, and restart at 1 after :meth:`reset`. Trackers receive the
    id as a string (the ``object_ids`` convention of :mod:`pytracking.tracker.base.io_contract`).

    Args:
        tracker_factory: returns a new, uninitialised tracker (``initialize``/``track`` interface).
    """

    def __init__(self, tracker_factory: Callable[[], Any]):
        self.tracker_factory = tracker_factory
        self._targets: OrderedDict[int, _Target] = OrderedDict()
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._targets)

    @property
    def boxes(self) -> dict[int, Box]:
        """Target id -> its current box [x, y, w, h]."""
        return {obj_id: list(t.box) for obj_id, t in self._targets.items()}

    def add(self, image_rgb: np.ndarray, box: Sequence[float]) -> int:
        """Start a new tracker on ``box`` in ``image_rgb`` ((H, W, 3) uint8 RGB); returns the new target's id."""
        box = validate_box(box)
        obj_id = self._next_id
        tracker = self.tracker_factory()
        out = tracker.initialize(image_rgb, {"init_bbox": list(box), "object_ids": [str(obj_id)]})
        out = {} if out is None else dict(out)
        out.setdefault("target_bbox", list(box))
        self._targets[obj_id] = _Target(tracker, list(box), out)
        self._next_id += 1
        return obj_id

    def track(self, image_rgb: np.ndarray) -> dict[int, Box]:
        """Track every target on the next frame; returns the new boxes (a target without output keeps its box)."""
        for target in self._targets.values():
            out = target.tracker.track(image_rgb, {"previous_output": target.previous_output})
            out = {} if out is None else dict(out)
            if out.get("target_bbox") is not None:
                target.box = [float(v) for v in out["target_bbox"]]
            out["target_bbox"] = list(target.box)
            target.previous_output = out
        return self.boxes

    def reset(self) -> None:
        """Drop every target."""
        self._targets.clear()
        self._next_id = 1


# ---------------------------------------------------------------------------------------------------------------
# The interactive loop


@dataclass(frozen=True)
class LiveEvent:
    """Something the user did, on frame ``frame`` (0-based index of the frames read)."""

    frame: int
    kind: str  # 'add', 'reset', 'pause', 'resume', 'quit' (user) or 'end' (the source ran out)
    obj_id: int | None = None
    box: Box | None = None


@dataclass
class LiveResult:
    """What :func:`run_live_loop` did.

    Attributes:
        num_frames: frames read from the source.
        boxes: per frame read, target id -> box after that frame (tracked, or the initial box for a target
            added on it).
        events: user actions and the end of the loop, in order.
        seconds: tracking time (initialise + track calls).
    """

    num_frames: int = 0
    boxes: list[dict[int, Box]] = field(default_factory=list)
    events: list[LiveEvent] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def quit_by_user(self) -> bool:
        """True when the loop ended on a quit key or a closed window, False when the source ran out."""
        return bool(self.events) and self.events[-1].kind == "quit"

    def kinds(self) -> list[str]:
        """The event kinds, in order (handy in tests and logs)."""
        return [e.kind for e in self.events]


HELP_TEXT = "drag: add target  r: reset  space: pause  q: quit"


def run_live_loop(
    source: FrameSource,
    display: Display,
    tracker_factory: Callable[[], Any],
    *,
    delay_ms: int = 1,
    max_frames: int | None = None,
    trust_checkpoint: bool = False,
) -> LiveResult:
    """Interactive multi-target tracking: read a frame, track all targets, draw them, show, react to the user.

    Controls: press-drag-release the left mouse button to add a target (its tracker starts on the frame shown
    while drawing; several targets allowed), ``r`` drops all targets, space pauses/resumes reading frames (new
    targets can still be drawn), ``q``/Esc or closing the window quits.

    Args:
        source: BGR frames (a camera, a video, ...); the loop ends when it returns ``None``.
        display: where frames are shown and input comes from.
        tracker_factory: builds one tracker per target.
        delay_ms: how long each :meth:`Display.poll_key` waits for input.
        max_frames: stop after this many frames (``None``: no limit).

    Returns:
        A :class:`LiveResult`. The source and the display are left open (their owner closes them).
    """
    targets = LiveTargets(tracker_factory)
    drawer = BoxDrawer()
    result = LiveResult()
    display.set_mouse_callback(drawer)
    frame_bgr: np.ndarray | None = None
    image_rgb: np.ndarray | None = None
    paused = False
    try:
        while True:
            if frame_bgr is None or not paused:
                if max_frames is not None and result.num_frames >= max_frames:
                    result.events.append(LiveEvent(result.num_frames - 1, "end"))
                    break
                frame_bgr = source.read()
                if frame_bgr is None:
                    result.events.append(LiveEvent(result.num_frames - 1, "end"))
                    break
                image_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
                start = time.perf_counter()
                boxes = targets.track(image_rgb)
                result.seconds += time.perf_counter() - start
                result.boxes.append(boxes)
                result.num_frames += 1
            frame_index = result.num_frames - 1
            status = ("PAUSED  " if paused else "") + HELP_TEXT
            display.show(render_frame(frame_bgr, targets.boxes, drawer.draft, status))
            key = display.poll_key(delay_ms)

            height, width = frame_bgr.shape[:2]
            for box in drawer.pop_completed():
                box = clip_box(box, width, height)
                if box is None:
                    continue
                start = time.perf_counter()
                obj_id = targets.add(image_rgb, box)
                result.seconds += time.perf_counter() - start
                result.boxes[-1][obj_id] = list(box)
                result.events.append(LiveEvent(frame_index, "add", obj_id, list(box)))

            if key in QUIT_KEYS or not display.is_open():
                result.events.append(LiveEvent(frame_index, "quit"))
                break
            if key in RESET_KEYS:
                targets.reset()
                drawer.cancel()
                result.events.append(LiveEvent(frame_index, "reset"))
            elif key in PAUSE_KEYS:
                paused = not paused
                result.events.append(LiveEvent(frame_index, "pause" if paused else "resume"))
    finally:
        display.set_mouse_callback(None)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Entry points


def _prepare_tracker(
    tracker_name: str, tracker_param: str, run_id: int | None, debug: int | None, trust_checkpoint: bool = False
) -> tuple[Any, Any]:
    """``(Tracker, params)`` with ``params.debug``/``tracker_name``/``param_name`` set, as for a sequence run."""
    from pytracking.evaluation.preflight import checked_tracker

    # Checked before any window or camera opens.
    tracker, params = checked_tracker(tracker_name, tracker_param, run_id, trust_checkpoint=trust_checkpoint)
    params.debug = getattr(params, "debug", 0) if debug is None else debug
    params.tracker_name = tracker.name
    params.param_name = tracker.parameter_name
    return tracker, params


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_video_boxes(path: str | os.PathLike, boxes: np.ndarray) -> Path:
    """Write (N, 4) boxes as TAB-separated integers (truncated toward zero, as the original did), atomically."""
    rows = np.asarray(boxes, np.float64).reshape(-1, 4).astype(np.int64)
    text = "".join("\t".join(str(v) for v in row) + "\n" for row in rows)
    path = Path(path)
    _atomic_write_text(path, text)
    return path


@dataclass
class VideoResult:
    """Outcome of :func:`run_video`.

    Attributes:
        boxes: (N, 4) float64 [x, y, w, h], one row per frame processed (row 0: the initial box).
        times: (N,) seconds the tracker spent on each frame (row 0: ``initialize``).
        results_file: the saved box file, or ``None``.
        stopped_by_user: the user quit before the end of the video.
    """

    boxes: np.ndarray
    times: np.ndarray
    results_file: Path | None = None
    stopped_by_user: bool = False

    @property
    def num_frames(self) -> int:
        """Frames processed."""
        return len(self.boxes)

    @property
    def mean_fps(self) -> float:
        """Frames per second of tracker time (initialisation included); 0.0 when no time was measured."""
        total = float(np.sum(self.times))
        return self.num_frames / total if total > 0 else 0.0

    def summary(self) -> str:
        """One line: frames, mean FPS and where the results went."""
        text = f"{self.num_frames} frames, {self.mean_fps:.1f} FPS"
        if self.stopped_by_user:
            text += " (stopped by the user)"
        return text + (f"; results: {self.results_file}" if self.results_file is not None else "")


def run_video(
    tracker_name: str,
    tracker_param: str,
    videofile: str | os.PathLike,
    optional_box: Sequence[float] | None = None,
    debug: int | None = None,
    save_results: bool = False,
    run_id: int | None = None,
    display: Display | None = None,
    *,
    delay_ms: int = 1,
    trust_checkpoint: bool = False,
) -> VideoResult:
    """Track one target through a video file.

    The tracker is built like for a dataset run (``Tracker(name, param, run_id)`` -> ``get_parameters()`` ->
    ``create_tracker``) and seeded with ``Tracker.sequence_seed('video_<stem>')``.

    Args:
        tracker_name: tracker package under ``pytracking/tracker``.
        tracker_param: parameter file under ``pytracking/parameter/<tracker_name>``.
        videofile: the video (anything OpenCV reads).
        optional_box: initial box [x, y, w, h] on the first frame; ``None``: the user selects it on ``display``
            (or on an OpenCV window opened for it when ``display`` is ``None``).
        debug: ``params.debug``; ``None`` keeps the parameter file's value.
        save_results: write ``{tracker.results_dir}/video_<stem>.txt`` (one TAB-separated integer box a frame).
        run_id: run number (selects the results folder).
        display: show each frame with the box; keys: ``q``/Esc stop, ``r`` select a new box and restart the
            tracker on the current frame. ``None``: no window.
        delay_ms: key polling time per frame when ``display`` is given.
        trust_checkpoint: load the networks without the safe-unpickling allowlist (trusted files only).

    Returns:
        A :class:`VideoResult`.

    Raises:
        FileNotFoundError: the video file does not exist.
        VideoSourceError: OpenCV cannot open the video or read its first frame.
        GuiUnavailableError: no box given and no window can be opened to select one.
        ValueError: invalid or cancelled box.
        ModuleNotFoundError: unknown tracker or parameter file.
        ltr.admin.loading.CheckpointNotFoundError: a network file is missing (a FileNotFoundError).
    """
    from pytracking.evaluation.tracker import seed_everything

    path = Path(videofile)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {videofile}")
    if optional_box is not None:
        optional_box = validate_box(optional_box)
    tracker, params = _prepare_tracker(tracker_name, tracker_param, run_id, debug, trust_checkpoint)

    boxes: list[Box] = []
    times: list[float] = []
    stopped = False
    own_display: Display | None = None
    with VideoCaptureSource(path) as source:
        frame = source.read()
        if frame is None:
            raise VideoSourceError(f"cannot read any frame from video {path}")
        box = optional_box
        if box is None:
            if display is None:
                problem = opencv_gui_problem()
                if problem is not None:
                    raise GuiUnavailableError(
                        f"no initial box: pass it as --optional_box x y w h (selecting it in a window is not "
                        f"possible here: {problem})"
                    )
                own_display = OpenCVDisplay(f"{tracker_name}/{tracker_param}: select the target")
            selector = display if display is not None else own_display
            try:
                selected = selector.select_box(frame)
            finally:
                if own_display is not None:
                    own_display.close()
            if selected is None:
                raise ValueError(f"no box selected on the first frame of {path}")
            box = validate_box(selected)

        seed_everything(tracker.sequence_seed(f"video_{path.stem}"))

        def start_tracker(image_rgb: np.ndarray, init_box: Box) -> tuple[Any, dict]:
            trk = tracker.create_tracker(params)
            t0 = time.perf_counter()
            out = trk.initialize(image_rgb, {"init_bbox": list(init_box)})
            times.append(time.perf_counter() - t0)
            out = {} if out is None else dict(out)
            out.setdefault("target_bbox", list(init_box))
            boxes.append(list(init_box))
            return trk, out

        trk, previous = start_tracker(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), box)
        while True:
            if display is not None:
                display.show(render_frame(frame, {1: boxes[-1]}, status="r: new box  q: quit"))
                key = display.poll_key(delay_ms)
                if key in QUIT_KEYS or not display.is_open():
                    stopped = True
                    break
                if key in RESET_KEYS:
                    selected = display.select_box(frame)
                    if selected is not None:
                        # The restart replaces this frame's tracked box with the user's one.
                        boxes.pop()
                        times.pop()
                        trk, previous = start_tracker(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), validate_box(selected))
            frame = source.read()
            if frame is None:
                break
            t0 = time.perf_counter()
            out = trk.track(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), {"previous_output": previous})
            times.append(time.perf_counter() - t0)
            out = {} if out is None else dict(out)
            if out.get("target_bbox") is None:
                out["target_bbox"] = list(boxes[-1])
            boxes.append([float(v) for v in out["target_bbox"]])
            previous = out

    result = VideoResult(np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(times, np.float64))
    result.stopped_by_user = stopped
    if save_results:
        result.results_file = save_video_boxes(Path(tracker.results_dir) / f"video_{path.stem}.txt", result.boxes)
    return result


def run_webcam(
    tracker_name: str,
    tracker_param: str,
    debug: int | None = None,
    visdom_info: dict | None = None,
    source: int | str | os.PathLike = 0,
    *,
    display: Display | None = None,
    run_id: int | None = None,
    delay_ms: int = 1,
    max_frames: int | None = None,
    trust_checkpoint: bool = False,
) -> LiveResult:
    """Interactive multi-target tracking on a camera (or a video file/stream standing in for one).

    See :func:`run_live_loop` for the controls. Each target gets its own tracker instance built from the same
    parameters (networks held by the parameters, e.g. DiMP's ``params.net``, are shared, so they load once).

    Args:
        tracker_name: tracker package under ``pytracking/tracker``.
        tracker_param: parameter file under ``pytracking/parameter/<tracker_name>``.
        debug: ``params.debug``; ``None`` keeps the parameter file's value.
        visdom_info: ``{'use_visdom', 'server', 'port'}``, stored in ``params.visdom_info``.
        source: camera index, video file or stream URL.
        display: where to show frames and read input; ``None``: an OpenCV window (checked for GUI support
            before anything else happens).
        run_id: run number of the tracker.
        delay_ms: how long each frame waits for key presses.
        max_frames: stop after this many frames (``None``: until quit or the source ends).
        trust_checkpoint: load the networks without the safe-unpickling allowlist (trusted files only).

    Returns:
        The :class:`LiveResult` of the loop.

    Raises:
        GuiUnavailableError: ``display`` is ``None`` and OpenCV cannot open windows.
        FileNotFoundError, VideoSourceError: the source cannot be opened, or a network file is missing.
        ModuleNotFoundError: unknown tracker or parameter file.
    """
    if display is None:
        require_gui()
    tracker, params = _prepare_tracker(tracker_name, tracker_param, run_id, debug, trust_checkpoint)
    if visdom_info is not None:
        params.visdom_info = visdom_info

    with VideoCaptureSource(source) as frames:
        own = display is None
        if display is None:
            display = OpenCVDisplay(f"{tracker_name}/{tracker_param}")
        try:
            return run_live_loop(
                frames, display, lambda: tracker.create_tracker(params), delay_ms=delay_ms, max_frames=max_frames
            )
        finally:
            if own:
                display.close()
