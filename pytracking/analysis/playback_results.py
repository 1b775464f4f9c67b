"""Frame-by-frame viewing of tracking results: a headless renderer and an interactive matplotlib player.

:func:`render_frames` draws boxes into RGB arrays with numpy only (usable in tests, scripts and video export);
:func:`playback_results` shows them in a matplotlib window with keyboard control. matplotlib is imported only
by the player.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pytracking.analysis.extract_results import (
    SequenceLike,
    TrackerLike,
    load_tracker_result,
    result_file,
    tracker_info,
)
from pytracking.analysis.plot_results import get_plot_draw_styles, get_tracker_display_name

__all__ = ["draw_box", "load_sequence_results", "render_frames", "playback_results"]

GT_COLOR = (0, 255, 0)


def _color_u8(color: Sequence[float]) -> tuple[int, int, int]:
    c = [float(v) for v in color[:3]]
    if max(c) <= 1.0:
        c = [v * 255.0 for v in c]
    return tuple(int(round(v)) for v in c)  # type: ignore[return-value]


def draw_box(image: np.ndarray, box: Sequence[float], color: Sequence[float], thickness: int = 2) -> np.ndarray:
    """Draw the outline of an ``[x, y, w, h]`` box into ``image`` in place (pixel-inclusive, clipped).

    The outline covers columns ``round(x) .. round(x + w) - 1`` and rows ``round(y) .. round(y + h) - 1`` and
    grows inwards by ``thickness`` pixels. Boxes with NaN values or no area inside the image draw nothing.

    Args:
        image: (H, W, 3) uint8 image.
        box: ``[x, y, w, h]``.
        color: RGB in 0..255, or 0..1 floats.
        thickness: line width in pixels.

    Returns:
        ``image``.
    """
    x, y, w, h = (float(v) for v in box)
    if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
        return image
    img_h, img_w = image.shape[:2]
    x0, y0 = int(round(x)), int(round(y))
    x1, y1 = int(round(x + w)) - 1, int(round(y + h)) - 1
    if x1 < 0 or y1 < 0 or x0 >= img_w or y0 >= img_h or x1 < x0 or y1 < y0:
        return image
    c = np.array(_color_u8(color), dtype=image.dtype)
    t = max(int(thickness), 1)
    cx0, cx1 = max(x0, 0), min(x1, img_w - 1)
    cy0, cy1 = max(y0, 0), min(y1, img_h - 1)
    # Each side is drawn only where it lies inside the image; slices clip the rest.
    if y0 >= 0:
        image[y0 : min(y0 + t, y1 + 1, img_h), cx0 : cx1 + 1] = c
    if y1 < img_h:
        image[max(y1 - t + 1, y0, 0) : y1 + 1, cx0 : cx1 + 1] = c
    if x0 >= 0:
        image[cy0 : cy1 + 1, x0 : min(x0 + t, x1 + 1, img_w)] = c
    if x1 < img_w:
        image[cy0 : cy1 + 1, max(x1 - t + 1, x0, 0) : x1 + 1] = c
    return image


def load_sequence_results(trackers: Iterable[TrackerLike], sequence: SequenceLike) -> dict[str, np.ndarray]:
    """Each tracker's boxes for ``sequence``, keyed by display name; trackers without a result file are skipped.

    Returns:
        display name -> (N, 4) float64 boxes.
    """
    out = {}
    for trk in trackers:
        path = result_file(trk, sequence)
        if os.path.isfile(path):
            out[get_tracker_display_name(tracker_info(trk))] = load_tracker_result(path)
    return out


def _frame_image(frame: Any) -> np.ndarray:
    if isinstance(frame, np.ndarray):
        img = frame
    else:
        from pytracking.utils.image_io import imread

        img = imread(frame)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.array(img[:, :, :3], dtype=np.uint8, copy=True)


def render_frames(
    sequence: SequenceLike,
    boxes: Mapping[str, np.ndarray],
    frame_ids: Iterable[int] | None = None,
    show_gt: bool = True,
    colors: Mapping[str, Sequence[float]] | None = None,
    thickness: int = 2,
) -> list[np.ndarray]:
    """Render frames of ``sequence`` with the given boxes drawn (ground truth in green, drawn first).

    Args:
        sequence: a sequence whose ``frames`` are image paths or (H, W, 3) uint8 arrays.
        boxes: name -> (N, 4) boxes ``[x, y, w, h]``, e.g. from :func:`load_sequence_results`; frames beyond a
            tracker's results get no box for it.
        frame_ids: frames to render (default all).
        show_gt: draw ``sequence.ground_truth_rect`` too.
        colors: name -> RGB colour; default the plot styles in order.
        thickness: line width in pixels.

    Returns:
        List of (H, W, 3) uint8 RGB arrays (copies; the sources are untouched).
    """
    styles = get_plot_draw_styles()
    palette = {name: (colors or {}).get(name, styles[i % len(styles)]["color"]) for i, name in enumerate(boxes)}
    gt = np.asarray(sequence.ground_truth_rect, dtype=np.float64) if show_gt else None
    ids = range(len(sequence.frames)) if frame_ids is None else frame_ids
    out = []
    for i in ids:
        img = _frame_image(sequence.frames[i])
        if gt is not None and i < len(gt):
            draw_box(img, gt[i], GT_COLOR, thickness)
        for name, b in boxes.items():
            if i < len(b):
                draw_box(img, b[i], palette[name], thickness)
        out.append(img)
    return out


class _Player:
    """State of one interactive playback window (kept alive by the figure's callbacks)."""

    def __init__(self, sequence: SequenceLike, boxes: Mapping[str, np.ndarray], fps: float, start_frame: int):
        import matplotlib.pyplot as plt

        self.plt = plt
        self.sequence, self.boxes = sequence, boxes
        self.n = len(sequence.frames)
        self.frame = min(max(start_frame, 0), self.n - 1)
        self.interval = 1.0 / max(fps, 0.1)
        self.paused = False
        self.closed = False
        self.fig, self.ax = plt.subplots(1, 1)
        self.fig.canvas.mpl_connect("key_press_event", self.on_key)
        self.fig.canvas.mpl_connect("close_event", self.on_close)
        self.im = None

    def show(self) -> None:
        img = render_frames(self.sequence, self.boxes, [self.frame])[0]
        if self.im is None:
            self.im = self.ax.imshow(img)
            self.ax.set_axis_off()
        else:
            self.im.set_data(img)
        state = " (paused)" if self.paused else ""
        self.ax.set_title(f"{self.sequence.name}: frame {self.frame + 1}/{self.n}{state}")
        self.fig.canvas.draw_idle()

    def on_key(self, event: Any) -> None:
        if event.key == " ":
            self.paused = not self.paused
        elif event.key == "right":
            self.frame = min(self.frame + 1, self.n - 1)
        elif event.key == "left":
            self.frame = max(self.frame - 1, 0)
        elif event.key == "up":
            self.interval = max(self.interval / 2.0, 0.005)
        elif event.key == "down":
            self.interval = min(self.interval * 2.0, 2.0)
        elif event.key in ("q", "escape"):
            self.plt.close(self.fig)
            return
        self.show()

    def on_close(self, event: Any) -> None:
        self.closed = True

    def run(self) -> None:
        self.show()
        while not self.closed:
            if not self.paused and self.frame < self.n - 1:
                self.frame += 1
                self.show()
            self.plt.pause(self.interval)


def playback_results(
    trackers: Iterable[TrackerLike], sequence: SequenceLike, fps: float = 20.0, start_frame: int = 0
) -> None:
    """Play ``sequence`` with every tracker's boxes in an interactive matplotlib window (blocks until closed).

    Keys: space pause/resume, left/right step one frame, up/down double/halve the speed, q or escape close.
    Needs an interactive matplotlib backend; with Agg use :func:`render_frames` instead.

    Args:
        trackers: trackers whose result files for ``sequence`` are shown (missing ones are skipped).
        sequence: the sequence (frames, ground_truth_rect, name).
        fps: initial playback speed.
        start_frame: first frame shown.
    """
    _Player(sequence, load_sequence_results(trackers, sequence), fps, start_frame).run()
