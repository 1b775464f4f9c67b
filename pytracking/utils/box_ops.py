"""Pure bounding-box functions for numpy arrays and torch tensors.

Box formats (the last dimension holds the four numbers, any leading batch shape ``...`` is allowed):

* ``xywh``: ``[x, y, w, h]``, top-left corner and size. The benchmark, ground-truth and result-file format.
* ``xyxy`` (also written ``x0y0x1y1``): ``[x0, y0, x1, y1]``, top-left and bottom-right corners.
* ``cxcywh``: ``[cx, cy, w, h]``, centre and size.

Pixel conventions, chosen with the keyword ``inclusive``:

* continuous (``inclusive=False``): a box covers the real interval ``[x, x + w)``, so ``x1 = x + w`` and the
  centre is ``x + w / 2``.
* pixel-inclusive (``inclusive=True``): a box covers the pixel indices ``x .. x + w - 1``, so ``x1 = x + w - 1``
  and the centre is ``x + (w - 1) / 2``. The original's analysis code (overlap, centre error) uses this one.

Every function accepts a numpy array, a torch tensor or a nested sequence, and returns a torch tensor for a
tensor input and a numpy array otherwise. Integer inputs are promoted to floating point (float64 for numpy, the
default dtype for torch); floating inputs keep their dtype and device.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import numpy as np
import torch

Boxes: TypeAlias = np.ndarray | torch.Tensor
BoxLike: TypeAlias = np.ndarray | torch.Tensor | Sequence[float] | Sequence[Sequence[float]]

__all__ = [
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "xywh_to_cxcywh",
    "cxcywh_to_xywh",
    "xyxy_to_cxcywh",
    "cxcywh_to_xyxy",
    "iou_xywh",
    "iou_xyxy",
    "clip_xywh",
    "polygon_to_xywh",
    "mask_to_xywh",
    "xywh_to_mask",
    "is_valid_xywh",
    "rect_to_rel",
    "rel_to_rect",
]


# ---------------------------------------------------------------------------------------------------------------
# numpy / torch dispatch: the maths below is written once against these few primitives.


class _NumpyOps:
    @staticmethod
    def stack(parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(parts, axis=-1)

    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    where = staticmethod(np.where)
    sqrt = staticmethod(np.sqrt)
    log = staticmethod(np.log)
    exp = staticmethod(np.exp)
    isfinite = staticmethod(np.isfinite)

    @staticmethod
    def full_like(x: np.ndarray, value: float) -> np.ndarray:
        return np.full_like(x, value)

    @staticmethod
    def amin(x: np.ndarray) -> np.ndarray:
        return x.min(axis=-1)

    @staticmethod
    def amax(x: np.ndarray) -> np.ndarray:
        return x.max(axis=-1)

    @staticmethod
    def mean(x: np.ndarray) -> np.ndarray:
        return x.mean(axis=-1)

    @staticmethod
    def all(x: np.ndarray) -> np.ndarray:
        return x.all(axis=-1)

    @staticmethod
    def arange(n: int, like: np.ndarray) -> np.ndarray:
        return np.arange(n, dtype=like.dtype)


class _TorchOps:
    @staticmethod
    def stack(parts: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.stack(list(parts), dim=-1)

    minimum = staticmethod(torch.minimum)
    maximum = staticmethod(torch.maximum)
    where = staticmethod(torch.where)
    sqrt = staticmethod(torch.sqrt)
    log = staticmethod(torch.log)
    exp = staticmethod(torch.exp)
    isfinite = staticmethod(torch.isfinite)

    @staticmethod
    def full_like(x: torch.Tensor, value: float) -> torch.Tensor:
        return torch.full_like(x, value)

    @staticmethod
    def amin(x: torch.Tensor) -> torch.Tensor:
        return x.amin(dim=-1)

    @staticmethod
    def amax(x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=-1)

    @staticmethod
    def mean(x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)

    @staticmethod
    def all(x: torch.Tensor) -> torch.Tensor:
        return x.all(dim=-1)

    @staticmethod
    def arange(n: int, like: torch.Tensor) -> torch.Tensor:
        return torch.arange(n, dtype=like.dtype, device=like.device)


def _as_float(x: BoxLike, like: Boxes | None = None) -> Boxes:
    """Return ``x`` as a floating numpy array or tensor (a tensor when ``x`` or ``like`` is one)."""
    if isinstance(x, torch.Tensor):
        return x if x.is_floating_point() else x.to(torch.get_default_dtype())
    if isinstance(like, torch.Tensor):
        return torch.as_tensor(np.asarray(x), dtype=like.dtype, device=like.device)
    a = np.asarray(x)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def _ops(x: Boxes) -> type[_NumpyOps] | type[_TorchOps]:
    return _TorchOps if isinstance(x, torch.Tensor) else _NumpyOps


def _check_last(x: Boxes, n: int, name: str) -> None:
    if x.ndim == 0 or x.shape[-1] != n:
        raise ValueError(f"{name}: expected an array of shape (..., {n}), got shape {tuple(x.shape)}")


def _unpack4(box: BoxLike, name: str) -> tuple[Boxes, Boxes, Boxes, Boxes, Boxes]:
    b = _as_float(box)
    _check_last(b, 4, name)
    return b, b[..., 0], b[..., 1], b[..., 2], b[..., 3]


# ---------------------------------------------------------------------------------------------------------------
# Format conversions


def xywh_to_xyxy(box: BoxLike, inclusive: bool = False) -> Boxes:
    """Convert ``[x, y, w, h]`` boxes to corners ``[x0, y0, x1, y1]``.

    Args:
        box: boxes of shape (..., 4) as ``[x, y, w, h]``.
        inclusive: pixel-inclusive convention (``x1 = x + w - 1``) instead of continuous (``x1 = x + w``).

    Returns:
        Boxes of shape (..., 4) as ``[x0, y0, x1, y1]``.
    """
    b, x, y, w, h = _unpack4(box, "xywh_to_xyxy")
    off = 1.0 if inclusive else 0.0
    return _ops(b).stack([x, y, x + w - off, y + h - off])


def xyxy_to_xywh(box: BoxLike, inclusive: bool = False) -> Boxes:
    """Convert corner boxes ``[x0, y0, x1, y1]`` to ``[x, y, w, h]``.

    Args:
        box: boxes of shape (..., 4) as ``[x0, y0, x1, y1]``.
        inclusive: pixel-inclusive convention (``w = x1 - x0 + 1``) instead of continuous (``w = x1 - x0``).

    Returns:
        Boxes of shape (..., 4) as ``[x, y, w, h]``.
    """
    b, x0, y0, x1, y1 = _unpack4(box, "xyxy_to_xywh")
    off = 1.0 if inclusive else 0.0
    return _ops(b).stack([x0, y0, x1 - x0 + off, y1 - y0 + off])


def xywh_to_cxcywh(box: BoxLike, inclusive: bool = False) -> Boxes:
    """Convert ``[x, y, w, h]`` boxes to centre + size ``[cx, cy, w, h]``.

    Args:
        box: boxes of shape (..., 4) as ``[x, y, w, h]``.
        inclusive: pixel-inclusive centre ``x + (w - 1) / 2`` instead of continuous ``x + w / 2``.

    Returns:
        Boxes of shape (..., 4) as ``[cx, cy, w, h]``.
    """
    b, x, y, w, h = _unpack4(box, "xywh_to_cxcywh")
    off = 1.0 if inclusive else 0.0
    return _ops(b).stack([x + (w - off) / 2, y + (h - off) / 2, w, h])


def cxcywh_to_xywh(box: BoxLike, inclusive: bool = False) -> Boxes:
    """Convert centre + size boxes ``[cx, cy, w, h]`` to ``[x, y, w, h]``.

    Args:
        box: boxes of shape (..., 4) as ``[cx, cy, w, h]``.
        inclusive: pixel-inclusive convention (``x = cx - (w - 1) / 2``) instead of continuous (``cx - w / 2``).

    Returns:
        Boxes of shape (..., 4) as ``[x, y, w, h]``.
    """
    b, cx, cy, w, h = _unpack4(box, "cxcywh_to_xywh")
    off = 1.0 if inclusive else 0.0
    return _ops(b).stack([cx - (w - off) / 2, cy - (h - off) / 2, w, h])


def xyxy_to_cxcywh(box: BoxLike, inclusive: bool = False) -> Boxes:
    """Convert corner boxes ``[x0, y0, x1, y1]`` to centre + size ``[cx, cy, w, h]``.

    The centre is ``(x0 + x1) / 2`` in both conventions; only the size differs (``+ 1`` when inclusive).

    Args:
        box: boxes of shape (..., 4) as ``[x0, y0, x1, y1]``.
        inclusive: pixel-inclusive convention (``w = x1 - x0 + 1``) instead of continuous (``w = x1 - x0``).

    Returns:
        Boxes of shape (..., 4) as ``[cx, cy, w, h]``.
    """
    b, x0, y0, x1, y1 = _unpack4(box, "xyxy_to_cxcywh")
    off = 1.0 if inclusive else 0.0
    return _ops(b).stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0 + off, y1 - y0 + off])


def cxcywh_to_xyxy(box: BoxLike, inclusive: bool = False) -> Boxes:
    """Convert centre + size boxes ``[cx, cy, w, h]`` to corners ``[x0, y0, x1, y1]``.

    Args:
        box: boxes of shape (..., 4) as ``[cx, cy, w, h]``.
        inclusive: pixel-inclusive convention (``x1 - x0 = w - 1``) instead of continuous (``x1 - x0 = w``).

    Returns:
        Boxes of shape (..., 4) as ``[x0, y0, x1, y1]``.
    """
    b, cx, cy, w, h = _unpack4(box, "cxcywh_to_xyxy")
    off = 1.0 if inclusive else 0.0
    hw, hh = (w - off) / 2, (h - off) / 2
    return _ops(b).stack([cx - hw, cy - hh, cx + hw, cy + hh])


# ---------------------------------------------------------------------------------------------------------------
# Overlap, clipping, validity


def iou_xywh(a: BoxLike, b: BoxLike, inclusive: bool = True) -> Boxes:
    """Element-wise intersection over union of ``[x, y, w, h]`` boxes, broadcasting the leading dimensions.

    ``inclusive=True`` follows the original's analysis literally: intersection top-left ``max(x)``, bottom-right
    ``min(x + w - 1)``, size ``br - tl + 1`` clamped at 0, union ``w1 * h1 + w2 * h2 - inter``. The continuous
    form uses ``min(x + w) - max(x)`` directly. Both give the same value up to floating-point rounding (the ``- 1``
    and ``+ 1`` cancel); the inclusive form is kept for bit-level parity with results computed by the original.
    A zero (or negative) union gives IoU 0, never NaN.

    Args:
        a: boxes of shape (..., 4) as ``[x, y, w, h]``.
        b: boxes of shape (..., 4), broadcastable against ``a``. Converted to ``a``'s type when they differ.
        inclusive: pixel-inclusive arithmetic as in the original analysis (default) or continuous.

    Returns:
        IoU values of the broadcast leading shape (the last dimension is dropped).
    """
    if isinstance(b, torch.Tensor) and not isinstance(a, torch.Tensor):
        b = _as_float(b)
        a = _as_float(a, like=b)
    else:
        a = _as_float(a)
        b = _as_float(b, like=a)
    _check_last(a, 4, "iou_xywh (a)")
    _check_last(b, 4, "iou_xywh (b)")
    ops = _ops(a)
    off = 1.0 if inclusive else 0.0
    tl_x = ops.maximum(a[..., 0], b[..., 0])
    tl_y = ops.maximum(a[..., 1], b[..., 1])
    br_x = ops.minimum(a[..., 0] + a[..., 2] - off, b[..., 0] + b[..., 2] - off)
    br_y = ops.minimum(a[..., 1] + a[..., 3] - off, b[..., 1] + b[..., 3] - off)
    zero = ops.full_like(tl_x, 0.0)
    inter = ops.maximum(br_x - tl_x + off, zero) * ops.maximum(br_y - tl_y + off, zero)
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    positive = union > 0
    # Dividing by a safe denominator and masking avoids NaN (and numpy's divide warnings) for empty unions.
    safe = ops.where(positive, union, ops.full_like(union, 1.0))
    return ops.where(positive, inter / safe, zero)


def iou_xyxy(a: BoxLike, b: BoxLike, inclusive: bool = False) -> Boxes:
    """Element-wise IoU of ``[x0, y0, x1, y1]`` boxes, broadcasting the leading dimensions.

    Here the convention changes the result: with ``inclusive=True`` the corners are pixel indices that both
    belong to the box (width ``x1 - x0 + 1``, as in VOC-style detection code); continuous boxes have width
    ``x1 - x0``.

    Args:
        a: boxes of shape (..., 4) as ``[x0, y0, x1, y1]``.
        b: boxes of shape (..., 4), broadcastable against ``a``.
        inclusive: corners are inclusive pixel indices (True) or continuous coordinates (False).

    Returns:
        IoU values of the broadcast leading shape.
    """
    return iou_xywh(xyxy_to_xywh(a, inclusive=inclusive), xyxy_to_xywh(b, inclusive=inclusive))


def clip_xywh(box: BoxLike, image_hw: tuple[float, float]) -> Boxes:
    """Clip ``[x, y, w, h]`` boxes to an image; a box entirely outside gets zero width and/or height.

    The box is intersected with ``[0, W] x [0, H]``. This is also the pixel-inclusive clip to the indices
    ``0 .. W-1`` (``min(x + w - 1, W - 1) + 1 = min(x + w, W)``), so no convention needs choosing.
    Negative input sizes are clipped to 0.

    Args:
        box: boxes of shape (..., 4) as ``[x, y, w, h]``.
        image_hw: image size as ``(height, width)``, i.e. ``image.shape[:2]``.

    Returns:
        Clipped boxes of shape (..., 4) as ``[x, y, w, h]``.
    """
    b, x, y, w, h = _unpack4(box, "clip_xywh")
    ops = _ops(b)
    img_h, img_w = float(image_hw[0]), float(image_hw[1])
    zero = ops.full_like(x, 0.0)

    def clip(v, hi: float):
        return ops.minimum(ops.maximum(v, zero), ops.full_like(v, hi))

    x0, x1 = clip(x, img_w), clip(x + w, img_w)
    y0, y1 = clip(y, img_h), clip(y + h, img_h)
    return ops.stack([x0, y0, ops.maximum(x1 - x0, zero), ops.maximum(y1 - y0, zero)])


def is_valid_xywh(box: BoxLike) -> Boxes:
    """Element-wise validity of ``[x, y, w, h]`` boxes: all four values finite and ``w > 0``, ``h > 0``.

    Args:
        box: boxes of shape (..., 4).

    Returns:
        Boolean array/tensor of shape (...).
    """
    b, _, _, w, h = _unpack4(box, "is_valid_xywh")
    ops = _ops(b)
    return ops.all(ops.isfinite(b)) & (w > 0) & (h > 0)


# ---------------------------------------------------------------------------------------------------------------
# Polygons and masks


def polygon_to_xywh(poly: BoxLike, mode: Literal["union", "preserve_area"] = "union") -> Boxes:
    """Convert VOT 4-corner polygons ``[x1, y1, x2, y2, x3, y3, x4, y4]`` to axis-aligned ``[x, y, w, h]``.

    ``'union'``: the min/max box of the corners, ``[xmin, ymin, xmax - xmin, ymax - ymin]``.
    ``'preserve_area'`` (the VOT toolkit's definition): a box centred on the corner mean with the min/max box's
    aspect ratio, scaled so its area matches the polygon's: ``A1 = |p1 - p2| * |p2 - p3|``,
    ``A2 = (xmax - xmin) * (ymax - ymin)``, ``s = sqrt(A1 / A2)``, ``w = s * (xmax - xmin) + 1``,
    ``h = s * (ymax - ymin) + 1``, ``x = cx - w / 2``, ``y = cy - h / 2``. A degenerate polygon with ``A2 = 0``
    uses ``s = 1``.

    Rows that already have 4 values (an input of shape (..., 4)) are returned unchanged (as floats).

    Args:
        poly: polygons of shape (..., 8), or rectangles of shape (..., 4).
        mode: ``'union'`` or ``'preserve_area'``.

    Returns:
        Boxes of shape (..., 4) as ``[x, y, w, h]``.
    """
    p = _as_float(poly)
    if p.ndim > 0 and p.shape[-1] == 4:
        return p
    _check_last(p, 8, "polygon_to_xywh")
    if mode not in ("union", "preserve_area"):
        raise ValueError(f"polygon_to_xywh: unknown mode {mode!r}; choose 'union' or 'preserve_area'")
    ops = _ops(p)
    xs, ys = p[..., 0::2], p[..., 1::2]
    x0, x1, y0, y1 = ops.amin(xs), ops.amax(xs), ops.amin(ys), ops.amax(ys)
    if mode == "union":
        return ops.stack([x0, y0, x1 - x0, y1 - y0])

    cx, cy = ops.mean(xs), ops.mean(ys)
    side12 = ops.sqrt((p[..., 0] - p[..., 2]) ** 2 + (p[..., 1] - p[..., 3]) ** 2)
    side23 = ops.sqrt((p[..., 2] - p[..., 4]) ** 2 + (p[..., 3] - p[..., 5]) ** 2)
    area_poly = side12 * side23
    area_box = (x1 - x0) * (y1 - y0)
    degenerate = area_box <= 0
    one = ops.full_like(area_box, 1.0)
    s = ops.where(degenerate, one, ops.sqrt(area_poly / ops.where(degenerate, one, area_box)))
    w = s * (x1 - x0) + 1
    h = s * (y1 - y0) + 1
    return ops.stack([cx - w / 2, cy - h / 2, w, h])


def mask_to_xywh(mask: np.ndarray | torch.Tensor) -> Boxes:
    """Pixel-inclusive bounding box ``[x0, y0, x1 - x0 + 1, y1 - y0 + 1]`` of the non-zero pixels of a mask.

    Args:
        mask: mask of shape (H, W) or a batch (N, H, W); any non-zero value is foreground.

    Returns:
        Boxes of shape (4,) or (N, 4) as floats; an empty mask gives ``[0, 0, 0, 0]``.
    """
    is_torch = isinstance(mask, torch.Tensor)
    m = mask != 0 if is_torch else np.asarray(mask) != 0
    if m.ndim not in (2, 3):
        raise ValueError(f"mask_to_xywh: expected a mask of shape (H, W) or (N, H, W), got {tuple(m.shape)}")
    batched = m.ndim == 3
    if not batched:
        m = m[None]
    img_h, img_w = m.shape[-2], m.shape[-1]
    if is_torch:
        rows, cols = m.any(dim=-1), m.any(dim=-2)
        # argmax over an integer copy: the first True along each row/column (0 when there is none).
        y0 = rows.to(torch.uint8).argmax(dim=-1)
        y1 = img_h - 1 - rows.flip(-1).to(torch.uint8).argmax(dim=-1)
        x0 = cols.to(torch.uint8).argmax(dim=-1)
        x1 = img_w - 1 - cols.flip(-1).to(torch.uint8).argmax(dim=-1)
        out = torch.stack([x0, y0, x1 - x0 + 1, y1 - y0 + 1], dim=-1).to(torch.get_default_dtype())
        out = out * rows.any(dim=-1, keepdim=True).to(out.dtype)
    else:
        rows, cols = m.any(axis=-1), m.any(axis=-2)
        y0 = rows.argmax(axis=-1)
        y1 = img_h - 1 - rows[:, ::-1].argmax(axis=-1)
        x0 = cols.argmax(axis=-1)
        x1 = img_w - 1 - cols[:, ::-1].argmax(axis=-1)
        out = np.stack([x0, y0, x1 - x0 + 1, y1 - y0 + 1], axis=-1).astype(np.float64)
        out = out * rows.any(axis=-1, keepdims=True)
    return out if batched else out[0]


def xywh_to_mask(box: BoxLike, image_hw: tuple[int, int]) -> Boxes:
    """Boolean mask of the pixels covered by pixel-inclusive ``[x, y, w, h]`` boxes, clipped to the image.

    Pixel ``(row i, column j)`` is covered when ``x <= j <= x + w - 1`` and ``y <= i <= y + h - 1``.

    Args:
        box: boxes of shape (..., 4) as ``[x, y, w, h]``.
        image_hw: image size as ``(height, width)``.

    Returns:
        Boolean mask of shape (..., H, W) (a tensor for a tensor input).
    """
    b, x, y, w, h = _unpack4(box, "xywh_to_mask")
    ops = _ops(b)
    img_h, img_w = int(image_hw[0]), int(image_hw[1])
    cols = ops.arange(img_w, b)
    rows = ops.arange(img_h, b)
    x, y, w, h = (v[..., None] for v in (x, y, w, h))
    in_x = (cols >= x) & (cols <= x + w - 1)  # (..., W)
    in_y = (rows >= y) & (rows <= y + h - 1)  # (..., H)
    return in_y[..., :, None] & in_x[..., None, :]


# ---------------------------------------------------------------------------------------------------------------
# IoU-Net refinement parametrisation


def rect_to_rel(bb: BoxLike, sz_norm: BoxLike | float | None = None) -> Boxes:
    """Convert ``[x, y, w, h]`` boxes to the relative log-size parametrisation used by IoU-Net refinement.

    Output ``[cx / nx, cy / ny, log(w), log(h)]`` with the continuous centre ``c = xy + wh / 2`` and the
    normaliser ``(nx, ny) = sz_norm`` (default: the box's own size ``(w, h)``). Inverse: :func:`rel_to_rect`.

    Args:
        bb: boxes of shape (N, 4) (any (..., 4) works) as ``[x, y, w, h]`` with ``w, h > 0``.
        sz_norm: size normaliser broadcastable to (..., 2), or a scalar; ``None`` uses each box's size.

    Returns:
        Relative boxes of shape (..., 4).
    """
    b, x, y, w, h = _unpack4(bb, "rect_to_rel")
    ops = _ops(b)
    if sz_norm is None:
        nx, ny = w, h
    else:
        n = _as_float(sz_norm, like=b)
        nx, ny = (n, n) if n.ndim == 0 else (n[..., 0], n[..., 1])
    return ops.stack([(x + w / 2) / nx, (y + h / 2) / ny, ops.log(w), ops.log(h)])


def rel_to_rect(bb_rel: BoxLike, sz_norm: BoxLike | float | None = None) -> Boxes:
    """Invert :func:`rect_to_rel`: relative log-size boxes back to ``[x, y, w, h]``.

    Args:
        bb_rel: relative boxes of shape (N, 4) (any (..., 4) works) as ``[cx / nx, cy / ny, log(w), log(h)]``.
        sz_norm: the normaliser given to :func:`rect_to_rel`; ``None`` when each box's own size was used.

    Returns:
        Boxes of shape (..., 4) as ``[x, y, w, h]``.
    """
    b, cxr, cyr, lw, lh = _unpack4(bb_rel, "rel_to_rect")
    ops = _ops(b)
    w, h = ops.exp(lw), ops.exp(lh)
    if sz_norm is None:
        nx, ny = w, h
    else:
        n = _as_float(sz_norm, like=b)
        nx, ny = (n, n) if n.ndim == 0 else (n[..., 0], n[..., 1])
    return ops.stack([cxr * nx - w / 2, cyr * ny - h / 2, w, h])
