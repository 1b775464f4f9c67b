"""Debug drawing: numpy converters shared by the live debug views, and small matplotlib helpers.

Layout convention for images (every function here): a **numpy array** is read as ``(H, W)`` or ``(H, W, C)``
(the frame convention of the trackers: ``imread`` gives (H, W, 3) uint8 RGB), a **torch tensor** as ``(H, W)``
or ``(C, H, W)`` (the network convention); leading dimensions of size 1 (a batch of one) are dropped. ``C`` is
1 (gray), 3 (RGB) or 4 (RGBA, alpha ignored). Pixel values: uint8 is kept, bool becomes 0/255, any other dtype
is read as 0..255 and rounded and clipped (scale [0, 1] images by 255 first, or use ``show_tensor``'s
``range``).

Boxes are ``[x, y, w, h]`` in pixels; a box covers columns ``round(x) .. round(x + w) - 1`` and rows
``round(y) .. round(y + h) - 1`` (the convention of :func:`pytracking.analysis.playback_results.draw_box`).

matplotlib is imported inside the functions that draw, so importing this module is cheap and needs no display.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from pytracking.utils.image_io import davis_palette

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BOX_COLORS",
    "torch_to_numpy",
    "image_to_hwc",
    "image_to_uint8",
    "as_map",
    "draw_boxes",
    "overlay_mask",
    "iou_colors",
    "tile_cost_volume",
    "tile_channels",
    "format_value",
    "parse_tracking_data",
    "parse_bbreg_data",
    "draw_figure",
    "show_tensor",
    "plot_graph",
    "show_image_with_boxes",
    "show_text",
]

#: RGB colours of the 1st, 2nd, ... box drawn by :func:`draw_boxes` (and the views' 'Tracking' blocks).
BOX_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 255, 0),
    (255, 0, 0),
    (0, 128, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 128, 0),
    (128, 0, 255),
)


# ---- conversions -----------------------------------------------------------------------------------------------


def torch_to_numpy(a: Any) -> np.ndarray:
    """``a`` as a numpy array: tensors are detached and moved to the CPU (half types become float32)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu()
        if a.dtype in (torch.bfloat16, torch.float16):
            a = a.float()  # numpy has no bfloat16
        return a.numpy()
    return np.asarray(a)


def _drop_leading_ones(a: np.ndarray, ndim: int) -> np.ndarray:
    while a.ndim > ndim and a.shape[0] == 1:
        a = a[0]
    return a


def image_to_hwc(im: Any) -> np.ndarray:
    """An image as an (H, W, 3) array of its original dtype (layout rule in the module docstring).

    Raises:
        ValueError: not 2-D/3-D after dropping leading ones, or not 1, 3 or 4 channels.
    """
    is_tensor = isinstance(im, torch.Tensor)
    a = _drop_leading_ones(torch_to_numpy(im), 3)
    if a.ndim == 2:
        a = a[:, :, None]
    elif a.ndim == 3 and is_tensor:
        a = a.transpose(1, 2, 0)
    elif a.ndim != 3:
        raise ValueError(f"expected an image of 2 or 3 dimensions, got shape {tuple(a.shape)}")
    channels = a.shape[2]
    if channels == 1:
        a = np.repeat(a, 3, axis=2)
    elif channels == 4:
        a = a[:, :, :3]
    elif channels != 3:
        layout = "(C, H, W) for torch tensors" if is_tensor else "(H, W, C) for numpy arrays"
        raise ValueError(f"expected 1, 3 or 4 channels in layout {layout}; got shape {tuple(np.shape(im))}")
    return a


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    return np.clip(np.rint(np.nan_to_num(a.astype(np.float64))), 0, 255).astype(np.uint8)


def image_to_uint8(im: Any) -> np.ndarray:
    """An image as a new-or-contiguous (H, W, 3) uint8 RGB array (rules in the module docstring)."""
    return _to_uint8(image_to_hwc(im))


def as_map(a: Any) -> np.ndarray:
    """A 2-D score map as (H, W) float64 (leading dimensions of size 1 dropped).

    Raises:
        ValueError: not 2-D after dropping leading ones.
    """
    m = _drop_leading_ones(torch_to_numpy(a), 2)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D map (leading dimensions of size 1 allowed), got shape {np.shape(a)}")
    return m.astype(np.float64)


def _boxes_array(boxes: Any) -> np.ndarray:
    """Boxes as an (N, 4) float64 array from one box, a list of boxes or an (N, 4) array/tensor."""
    if isinstance(boxes, (list, tuple)) and boxes and not np.isscalar(boxes[0]):
        return np.concatenate([_boxes_array(b) for b in boxes], axis=0)
    a = torch_to_numpy(boxes).astype(np.float64)
    if a.size % 4:
        raise ValueError(f"boxes must have 4 values each ([x, y, w, h]), got shape {a.shape}")
    return a.reshape(-1, 4)


def _color(colors: Sequence[Sequence[int]] | None, i: int) -> tuple[int, int, int]:
    palette = BOX_COLORS if colors is None or len(colors) == 0 else colors
    return tuple(int(c) for c in palette[i % len(palette)][:3])  # type: ignore[return-value]


def draw_boxes(
    image: np.ndarray, boxes: Any, colors: Sequence[Sequence[int]] | None = None, thickness: int = 2
) -> np.ndarray:
    """A copy of ``image`` with box outlines drawn in (clipped at the border; NaN or empty boxes skipped).

    Args:
        image: (H, W, 3) uint8.
        boxes: one ``[x, y, w, h]``, a list of them or an (N, 4) array/tensor.
        colors: RGB 0..255 per box (cycled); default :data:`BOX_COLORS`.
        thickness: outline width in pixels, growing into the box.

    Returns:
        (H, W, 3) uint8 image.
    """
    out = np.array(image, dtype=np.uint8, copy=True)
    img_h, img_w = out.shape[:2]
    t = max(int(thickness), 1)
    for i, (x, y, w, h) in enumerate(_boxes_array(boxes)):
        if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
            continue
        x0, y0 = int(round(x)), int(round(y))
        x1, y1 = int(round(x + w)) - 1, int(round(y + h)) - 1
        cx0, cx1, cy0, cy1 = max(x0, 0), min(x1, img_w - 1), max(y0, 0), min(y1, img_h - 1)
        if cx1 < cx0 or cy1 < cy0:
            continue
        rows = np.arange(cy0, cy1 + 1)[:, None]
        cols = np.arange(cx0, cx1 + 1)[None, :]
        edge = (rows < y0 + t) | (rows > y1 - t) | (cols < x0 + t) | (cols > x1 - t)
        out[cy0 : cy1 + 1, cx0 : cx1 + 1][edge] = _color(colors, i)
    return out


def overlay_mask(
    image: np.ndarray, mask: Any, alpha: float = 0.5, colors: np.ndarray | Sequence[Sequence[int]] | None = None
) -> np.ndarray:
    """Blend a mask into ``image``: pixel of label ``l > 0`` becomes ``round((1 - alpha) * pixel + alpha * color[l])``.

    Args:
        image: (H, W, 3) uint8.
        mask: (H, W) label map (integers), bool mask (label 1) or soft mask (other floats, label 1 where >= 0.5).
        alpha: weight of the label colour.
        colors: colour per label (row ``l`` for label ``l``); default the DAVIS palette (label 1 = (128, 0, 0)).

    Returns:
        New (H, W, 3) uint8 image.
    """
    m = _drop_leading_ones(torch_to_numpy(mask), 2)
    if m.shape != image.shape[:2]:
        raise ValueError(f"mask shape {m.shape} does not match the image's {image.shape[:2]}")
    if m.dtype == np.bool_:
        labels = m.astype(np.int64)
    elif np.issubdtype(m.dtype, np.integer):
        labels = m.astype(np.int64)
    else:
        labels = (m >= 0.5).astype(np.int64)
    palette = davis_palette() if colors is None else np.asarray(colors, dtype=np.uint8)
    out = image.astype(np.float64)
    fg = labels > 0
    col = palette[labels[fg] % len(palette)].astype(np.float64)
    out[fg] = (1.0 - alpha) * out[fg] + alpha * col
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def iou_colors(ious: Any) -> np.ndarray:
    """Colour per IoU, red (0) to green (1): ``(round(255 (1 - v)), round(255 v), 0)`` with v clipped to [0, 1].

    Returns:
        (N, 3) uint8.
    """
    v = np.clip(torch_to_numpy(ious).astype(np.float64).reshape(-1), 0.0, 1.0)
    return np.stack([np.rint(255 * (1 - v)), np.rint(255 * v), np.zeros_like(v)], axis=1).astype(np.uint8)


def tile_cost_volume(cost_volume: Any, flip: bool = False) -> np.ndarray:
    """Lay out a 4-D cost volume as one 2-D map of tiles.

    Args:
        cost_volume: (H1, W1, H2, W2) (leading dimensions of size 1 dropped): score of source cell (i, j) for
            target cell (k, l).
        flip: tile over the target cells instead (swap the two halves: (H2, W2, H1, W1)).

    Returns:
        (H1*H2, W1*W2) float64 (flipped: (H2*H1, W2*W1)); tile (i, j), i.e. rows ``i*H2 .. (i+1)*H2 - 1`` and
        columns ``j*W2 .. (j+1)*W2 - 1``, is the (H2, W2) map of source cell (i, j).
    """
    cv = _drop_leading_ones(torch_to_numpy(cost_volume), 4).astype(np.float64)
    if cv.ndim != 4:
        raise ValueError(f"expected a (H1, W1, H2, W2) cost volume, got shape {np.shape(cost_volume)}")
    if flip:
        cv = cv.transpose(2, 3, 0, 1)
    h1, w1, h2, w2 = cv.shape
    return cv.transpose(0, 2, 1, 3).reshape(h1 * h2, w1 * w2)


def tile_channels(features: Any, max_channels: int = 16, gap: int = 1) -> np.ndarray:
    """The first channels of a feature map side by side, each min-max normalised to [0, 1].

    Args:
        features: (C, H, W) (leading dimensions of size 1 dropped; a 2-D map counts as one channel).
        max_channels: show channels ``0 .. min(C, max_channels) - 1``.
        gap: NaN rows/columns between tiles (drawn blank).

    Returns:
        float64 grid of ``ceil(sqrt(n))`` columns, row-major; a constant channel is all 0.
    """
    f = _drop_leading_ones(torch_to_numpy(features), 3).astype(np.float64)
    if f.ndim == 2:
        f = f[None]
    if f.ndim != 3:
        raise ValueError(f"expected a (C, H, W) feature map, got shape {np.shape(features)}")
    n = max(1, min(f.shape[0], int(max_channels)))
    _, h, w = f.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), np.nan)
    for k in range(n):
        ch = f[k]
        lo, hi = np.nanmin(ch), np.nanmax(ch)
        ch = (ch - lo) / (hi - lo) if hi > lo else np.zeros_like(ch)
        r, c = divmod(k, cols)
        grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = ch
    return grid


def format_value(v: Any) -> str:
    """Short text for one value of an 'info_dict' block: floats with 4 significant digits, arrays summarised."""
    if isinstance(v, torch.Tensor) or isinstance(v, np.ndarray):
        a = torch_to_numpy(v)
        if a.size == 1:
            return format_value(a.reshape(-1)[0].item())
        if a.size <= 8:
            return np.array2string(a, precision=4, separator=", ")
        return f"{a.dtype} array of shape {tuple(a.shape)}"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def parse_tracking_data(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Split the data of a 'Tracking' block: ``(image, box, box, ..., [mask])``.

    The image follows the layout rule of the module docstring; each further element is a box ``[x, y, w, h]``
    or an (N, 4) array of boxes (``None`` entries are skipped); a last element that is 2-D with the image's
    (H, W) is the mask.

    Returns:
        ``(image (H, W, 3) uint8, boxes (N, 4) float64, mask or None)``.
    """
    if not isinstance(data, (tuple, list)) or len(data) == 0:
        raise TypeError("'Tracking' data must be a tuple (image, box, ..., [mask])")
    image = image_to_uint8(data[0])
    rest = [d for d in data[1:] if d is not None]
    mask = None
    if rest:
        last = _drop_leading_ones(torch_to_numpy(rest[-1]), 2)
        if last.ndim == 2 and last.shape == image.shape[:2]:
            mask, rest = last, rest[:-1]
    boxes = _boxes_array(rest) if rest else np.zeros((0, 4))
    return image, boxes, mask


def parse_bbreg_data(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the data of a 'bbreg' block: ``(image, boxes (N, 4) [x, y, w, h], ious (N,))``.

    Returns:
        ``(image (H, W, 3) uint8, boxes (N, 4) float64, ious (N,) float64)``.
    """
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise TypeError("'bbreg' data must be a tuple (image, boxes, ious)")
    image = image_to_uint8(data[0])
    boxes = _boxes_array(data[1])
    ious = torch_to_numpy(data[2]).astype(np.float64).reshape(-1)
    if len(ious) != len(boxes):
        raise ValueError(f"'bbreg' data: {len(boxes)} boxes but {len(ious)} IoUs")
    return image, boxes, ious


# ---- matplotlib --------------------------------------------------------------------------------------------------


def draw_figure(fig: Figure) -> None:
    """Redraw ``fig`` and let its GUI (if any) process pending events, so that live windows update."""
    fig.canvas.draw_idle()
    fig.canvas.flush_events()


def _axes(ax: Axes | None, fig_num: int | str | None, title: str | None) -> Axes:
    """``ax`` cleared, or the single axes of a cleared figure ``fig_num`` (a new figure when ``None``)."""
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(fig_num)
        fig.clf()
        ax = fig.add_subplot()
    else:
        ax.cla()
    if title is not None:
        ax.set_title(title)
    return ax


def show_tensor(
    a: Any,
    fig_num: int | str | None = None,
    title: str | None = None,
    range: tuple[float | None, float | None] = (None, None),
    ax: Axes | None = None,
) -> Axes:
    """Show a 2-D map (colour-mapped) or an image.

    Args:
        a: (H, W) map, or an image per the module's layout rule (3-D: numpy (H, W, C), torch (C, H, W)).
        fig_num: figure number or label to draw into (cleared first); ``None`` creates a new figure. Ignored
            when ``ax`` is given.
        title: axes title.
        range: ``(vmin, vmax)``; ``None`` entries take the data's min/max. Maps: colour-map limits. Images: when
            either is set, values in [vmin, vmax] are mapped linearly to 0..255 before display.
        ax: axes to draw into (cleared first).

    Returns:
        The axes drawn into.
    """
    arr = _drop_leading_ones(torch_to_numpy(a), 2)
    ax = _axes(ax, fig_num, title)
    lo, hi = range
    if arr.ndim == 2:
        ax.imshow(arr, vmin=lo, vmax=hi, interpolation="nearest")
    else:
        img = image_to_hwc(a)
        if lo is not None or hi is not None:
            img = img.astype(np.float64)
            lo = float(np.nanmin(img)) if lo is None else lo
            hi = float(np.nanmax(img)) if hi is None else hi
            img = (img - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(img)
        ax.imshow(_to_uint8(img), interpolation="nearest")
    ax.set_axis_off()
    draw_figure(ax.figure)
    return ax


def plot_graph(
    a: Any, fig_num: int | str | None = None, title: str | None = None, ax: Axes | None = None, x: Any = None
) -> Axes:
    """Plot a curve (N,) or several curves (N, K) (one per column) against ``x`` (default 0 .. N-1).

    Returns:
        The axes drawn into (a new figure when ``ax`` and ``fig_num`` are ``None``).
    """
    y = torch_to_numpy(a).astype(np.float64)
    if y.ndim == 0:
        y = y.reshape(1)
    elif y.ndim > 2:
        y = y.reshape(y.shape[0], -1)
    xs = np.arange(y.shape[0]) if x is None else torch_to_numpy(x).astype(np.float64).reshape(-1)
    ax = _axes(ax, fig_num, title)
    ax.plot(xs, y)
    ax.grid(True)
    draw_figure(ax.figure)
    return ax


def show_image_with_boxes(
    im: Any,
    boxes: Any,
    colors: Sequence[Sequence[int]] | None = None,
    mask: Any = None,
    fig_num: int | str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    linewidth: float = 2.0,
) -> Axes:
    """Show an image with box outlines (matplotlib rectangles) and optionally a mask blended in.

    Args:
        im: image (layout rule of the module docstring).
        boxes: one ``[x, y, w, h]``, a list of them or an (N, 4) array; NaN or empty boxes are skipped. A box's
            rectangle spans ``(x - 0.5, y - 0.5)`` to ``(x + w - 0.5, y + h - 0.5)``: the outer edges of its
            pixels.
        colors: RGB 0..255 per box (cycled); default :data:`BOX_COLORS`.
        mask: optional (H, W) mask, drawn with :func:`overlay_mask`.
        fig_num, title, ax: as in :func:`show_tensor`.
        linewidth: rectangle line width in points.

    Returns:
        The axes drawn into.
    """
    from matplotlib.patches import Rectangle

    img = image_to_uint8(im)
    if mask is not None:
        img = overlay_mask(img, mask)
    ax = _axes(ax, fig_num, title)
    ax.imshow(img, interpolation="nearest")
    for i, (x, y, w, h) in enumerate(_boxes_array(boxes) if boxes is not None else np.zeros((0, 4))):
        if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
            continue
        color = tuple(c / 255.0 for c in _color(colors, i))
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor=color, linewidth=linewidth))
    ax.set_axis_off()
    draw_figure(ax.figure)
    return ax


def show_text(text: str, fig_num: int | str | None = None, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Show ``text`` (monospace, top-left aligned) on empty axes.

    Returns:
        The axes drawn into.
    """
    ax = _axes(ax, fig_num, title)
    ax.text(0.0, 1.0, text, va="top", ha="left", family="monospace", transform=ax.transAxes)
    ax.set_axis_off()
    draw_figure(ax.figure)
    return ax
