"""Procedural rendering of the synthetic tracking benchmark: pure numpy + OpenCV, no file output.

A sequence is a textured target (an ellipse, a star-shaped polygon or a rounded rectangle cut out of a photograph)
moving over a larger photograph seen through a moving crop window (the camera). Every random draw comes from a
``numpy.random.Generator`` seeded with ``(seed, sequence index)``, so a sequence depends only on the split seed,
its index and the split parameters (not on how many sequences are generated, nor on the process generating it).
Files are byte-identical across runs with the same versions of OpenCV (JPEG/PNG encoders), Pillow and
scikit-image (the photographs); the scikit-image version is part of the cache fingerprint.

Challenges, each switched on per sequence by a random draw (plus one *primary* challenge forced on, cycling through
:data:`CHALLENGES` with the sequence index, so that every challenge occurs in a small split):

* smooth trajectories: Catmull-Rom splines through keyframes of position, log-scale, log-aspect and angle;
* ``fast_motion``: keyframes closer in time and farther apart in space; ``motion_blur``: a directional line kernel
  along the target's image velocity, applied around the target on frames where it moves fast;
* ``scale_variation`` / ``aspect_ratio_change``: a ramp of the scale / aspect ratio by a factor 2.7 / 2.6;
* ``occlusion``: an occluding bar of another texture drawn over the target; it crosses the target at one frame,
  wide enough to hide it fully (``full``) or narrower than the target (``partial``);
* ``out_of_view``: one keyframe places the target entirely outside the image;
* ``distractors``: one or two objects with the target's shape and texture on their own trajectories (drawn under
  the target, so they never hide it);
* ``camera_motion``: the crop window moves over a background 1.5x the image size;
* ``illumination_variation``: a smooth ramp of a global gain and offset.

The attribute labels of a sequence are NOT the switches above: :func:`derive_attributes` computes them from the
per-frame statistics of what was rendered (see its docstring for the thresholds).

The ground truth is exact: the mask is the set of target pixels that are inside the image and not covered by the
occluder, and the box is the pixel-inclusive tight box of that mask (``[x0, y0, x1 - x0 + 1, y1 - y0 + 1]``, as
:func:`pytracking.utils.box_ops.mask_to_xywh`); a frame whose mask is empty is absent and gets ``[0, 0, 0, 0]``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import importlib.util
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

__all__ = [
    "GENERATOR_VERSION",
    "CHALLENGES",
    "ATTRIBUTES",
    "SplitConfig",
    "SPLITS",
    "split_config",
    "Texture",
    "load_textures",
    "texture_source_id",
    "RenderedSequence",
    "render_sequence",
    "derive_attributes",
    "visible_ratio_to_cover",
]

#: Bumped whenever the rendered content or the on-disk layout changes; a cache with another version is stale.
GENERATOR_VERSION = 1

#: Primary challenges, forced on in turn: sequence ``i`` gets ``CHALLENGES[i % len(CHALLENGES)]``.
CHALLENGES: tuple[str, ...] = (
    "occlusion",
    "out_of_view",
    "distractors",
    "scale_variation",
    "camera_motion",
    "illumination_variation",
    "fast_motion",
    "aspect_ratio_change",
    "motion_blur",
)

#: Every attribute label written to ``attributes.json`` (all booleans).
ATTRIBUTES: tuple[str, ...] = (
    "occlusion",
    "partial_occlusion",
    "full_occlusion",
    "out_of_view",
    "scale_variation",
    "aspect_ratio_change",
    "rotation",
    "camera_motion",
    "illumination_variation",
    "motion_blur",
    "fast_motion",
    "distractors",
)

# Photographs (and photographic textures) that scikit-image ships inside its wheel; the ones that need pooch to
# download are deliberately absent. Names that fail to load in the installed version are skipped.
_SKIMAGE_IMAGES: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
    "coins",
    "camera",
    "brick",
    "grass",
    "gravel",
    "moon",
    "clock",
)

_PATCH = 128  # side of the canonical object patch (texture and shape mask) that is warped into each frame
_MIN_SIDE = 6.0  # smallest object side in pixels, so that a shrunk target never vanishes while in view


# ---------------------------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class SplitConfig:
    """Parameters of one split; everything that changes the rendered content is here (and in the manifest).

    Attributes:
        num_sequences: number of sequences.
        min_frames, max_frames: inclusive range of the sequence lengths.
        width, height: image size in pixels.
        seed: split seed; sequence ``i`` uses ``numpy.random.default_rng([seed, i])``.
        name_prefix: sequence ``i`` is named ``f"{name_prefix}{i:04d}"``.
        image_format: ``'jpg'`` or ``'png'`` (lossless).
        jpeg_quality: JPEG quality (1..100).
        textures: ``'auto'`` (scikit-image photographs when importable, else procedural), ``'skimage'`` or
            ``'procedural'``.
        challenge_cycle: force one primary challenge per sequence (see :data:`CHALLENGES`).
    """

    num_sequences: int
    min_frames: int = 60
    max_frames: int = 100
    width: int = 320
    height: int = 240
    seed: int = 0
    name_prefix: str = "syn_"
    image_format: str = "jpg"
    jpeg_quality: int = 95
    textures: str = "auto"
    challenge_cycle: bool = True

    def __post_init__(self) -> None:
        if self.num_sequences < 0:
            raise ValueError(f"SplitConfig: num_sequences must be >= 0, got {self.num_sequences}")
        if not 8 <= self.min_frames <= self.max_frames:
            raise ValueError(
                f"SplitConfig: need 8 <= min_frames <= max_frames, got {self.min_frames}, {self.max_frames}"
            )
        if self.width < 32 or self.height < 32:
            raise ValueError(f"SplitConfig: images must be at least 32x32, got {self.width}x{self.height}")
        if self.image_format not in ("jpg", "png"):
            raise ValueError(f"SplitConfig: image_format must be 'jpg' or 'png', got {self.image_format!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"SplitConfig: jpeg_quality must lie in 1..100, got {self.jpeg_quality}")
        if self.textures not in ("auto", "skimage", "procedural"):
            raise ValueError(f"SplitConfig: textures must be 'auto', 'skimage' or 'procedural', got {self.textures!r}")

    def params(self) -> dict[str, Any]:
        """The parameters as a JSON-serialisable dict (stored in the manifest)."""
        return dataclasses.asdict(self)

    def sequence_name(self, index: int) -> str:
        """Name of sequence ``index``."""
        return f"{self.name_prefix}{index:04d}"


#: Built-in splits: a small evaluation split and a large training split (generated only on request).
SPLITS: dict[str, SplitConfig] = {
    "synthetic": SplitConfig(num_sequences=18, min_frames=60, max_frames=100, seed=0, name_prefix="syn_"),
    "synthetic_train": SplitConfig(num_sequences=600, min_frames=60, max_frames=120, seed=1, name_prefix="syntrain_"),
}


def split_config(split: str, **overrides: Any) -> SplitConfig:
    """The configuration of a built-in split with some fields replaced (``None`` values are ignored).

    Args:
        split: a key of :data:`SPLITS`.
        **overrides: :class:`SplitConfig` fields, e.g. ``num_sequences=3, width=96``.

    Raises:
        ValueError: unknown split or field.
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown synthetic split {split!r}; choose one of {sorted(SPLITS)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    names = {f.name for f in dataclasses.fields(SplitConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"Unknown synthetic split parameter(s) {unknown}; valid: {sorted(names)}")
    return dataclasses.replace(SPLITS[split], **overrides)


# ---------------------------------------------------------------------------------------------------------------
# Textures


@dataclass(frozen=True)
class Texture:
    """A source image for backgrounds and object textures.

    Attributes:
        name: e.g. ``'skimage:coffee'`` or ``'procedural:3'``.
        image: HxWx3 uint8 RGB.
        crc32: checksum of the pixels (recorded in the manifest).
        gray: whether the source was grayscale (such textures get a random tint when used).
    """

    name: str
    image: np.ndarray = field(repr=False)
    crc32: int
    gray: bool


def _skimage_available() -> bool:
    return importlib.util.find_spec("skimage") is not None


def texture_source_id(textures: str = "auto") -> str:
    """Identifier of the texture source in use, cheap to compute (no image is loaded).

    ``'skimage-<version>'`` or ``'procedural'``; part of the cache fingerprint, because another scikit-image version
    may ship other pixels.
    """
    if textures == "procedural" or (textures == "auto" and not _skimage_available()):
        return "procedural"
    if not _skimage_available():
        raise ImportError("textures='skimage' needs scikit-image (pip install scikit-image)")
    return f"skimage-{importlib.metadata.version('scikit-image')}"


def _make_texture(name: str, img: np.ndarray) -> Texture:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(img * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    gray = img.ndim == 2
    if gray:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3])
    return Texture(name, img, zlib.crc32(img.tobytes()), gray)


def _procedural_texture(index: int) -> Texture:
    """A colourful band-limited noise image (used when scikit-image is not installed)."""
    rng = np.random.default_rng([0x5EED, index])
    size = 384
    img = np.zeros((size, size, 3), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for c in range(3):
        for _ in range(4):
            fx, fy = rng.uniform(-12, 12, size=2)
            img[:, :, c] += np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 2 * np.pi))
    noise = cv2.GaussianBlur(rng.standard_normal((size, size, 3)).astype(np.float32), (0, 0), 3.0)
    img = img / 4 + 2.0 * noise
    img = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
    base = rng.uniform(0, 255, size=3).astype(np.float32)
    img = np.clip(0.5 * base + 0.5 * 255 * img + rng.uniform(-30, 30, size=3), 0, 255).astype(np.uint8)
    return _make_texture(f"procedural:{index}", img)


@functools.cache
def load_textures(textures: str = "auto") -> tuple[Texture, ...]:
    """Load the texture library once per process.

    Args:
        textures: ``'auto'``, ``'skimage'`` or ``'procedural'`` (see :class:`SplitConfig`).

    Returns:
        At least four textures, in a fixed order.
    """
    if texture_source_id(textures) == "procedural":
        return tuple(_procedural_texture(i) for i in range(12))
    data = importlib.import_module("skimage.data")
    out = []
    for name in _SKIMAGE_IMAGES:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        try:
            img = loader()
        except (ImportError, OSError, ValueError):  # e.g. an image that needs pooch in this version
            continue
        if isinstance(img, tuple):  # stereo_motorcycle: (left, right, disparity)
            img = img[0]
        out.append(_make_texture(f"skimage:{name}", img))
    if len(out) < 4:
        raise RuntimeError(f"Only {len(out)} scikit-image sample images could be loaded; use textures='procedural'")
    return tuple(out)


def _texture_crop(
    rng: np.random.Generator, tex: Texture, out_w: int, out_h: int, min_frac: float, min_std: float = 0.0
) -> np.ndarray:
    """A random crop of ``tex`` with the aspect ratio ``out_w / out_h``, resized to (out_h, out_w, 3).

    ``min_std``: redraw (up to 8 times) crops whose grey-level standard deviation is lower, so that object
    textures are not flat (e.g. a black patch of sky).
    """
    src_h, src_w = tex.image.shape[:2]
    ratio = out_w / out_h
    max_w = min(src_w, src_h * ratio)
    for _ in range(8):
        crop_w = max_w * rng.uniform(min_frac, 1.0)
        crop_h = crop_w / ratio
        x0 = rng.uniform(0, src_w - crop_w)
        y0 = rng.uniform(0, src_h - crop_h)
        crop = tex.image[int(y0) : int(y0) + max(int(crop_h), 1), int(x0) : int(x0) + max(int(crop_w), 1)]
        if crop.std() >= min_std:
            break
    out = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA if crop_w > out_w else cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if tex.gray:
        tint = rng.uniform(0.45, 1.0, size=3).astype(np.float32)
        out = (out.astype(np.float32) * tint + rng.uniform(0, 60, size=3)).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(out)


# ---------------------------------------------------------------------------------------------------------------
# Shapes, splines, warping


def _shape_mask(rng: np.random.Generator, kind: str) -> np.ndarray:
    """A filled shape on the canonical ``_PATCH x _PATCH`` patch, as uint8 0/255."""
    p = _PATCH
    m = np.zeros((p, p), np.uint8)
    c = p // 2
    if kind == "ellipse":
        cv2.ellipse(m, (c, c), (c - 1, c - 1), 0, 0, 360, 255, thickness=-1)
    elif kind == "rounded_rect":
        r = int(rng.uniform(0.1, 0.35) * p)
        cv2.rectangle(m, (r, 0), (p - 1 - r, p - 1), 255, thickness=-1)
        cv2.rectangle(m, (0, r), (p - 1, p - 1 - r), 255, thickness=-1)
        for cx, cy in ((r, r), (p - 1 - r, r), (r, p - 1 - r), (p - 1 - r, p - 1 - r)):
            cv2.circle(m, (cx, cy), r, 255, thickness=-1)
    elif kind == "polygon":
        k = int(rng.integers(5, 10))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(0.6, 1.0, k) * (c - 1)
        pts = np.stack([c + radii * np.cos(angles), c + radii * np.sin(angles)], axis=1)
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
    elif kind == "rect":
        m[:] = 255
    else:
        raise ValueError(kind)
    return m


def _catmull_rom(keys: np.ndarray, step: int, n: int) -> np.ndarray:
    """Uniform Catmull-Rom spline through ``keys`` (K, D) placed at frames ``0, step, 2 step, ...``.

    Returns:
        (n, D) values at frames ``0 .. n-1``; the curve passes exactly through each key at its frame.
    """
    keys = np.asarray(keys, np.float64)
    # Reflected end points give zero curvature at the ends instead of a kink.
    padded = np.concatenate([2 * keys[:1] - keys[1:2], keys, 2 * keys[-1:] - keys[-2:-1]], axis=0)
    t = np.arange(n, dtype=np.float64) / step
    i = np.minimum(t.astype(np.int64), len(keys) - 2)
    u = (t - i)[:, None]
    p0, p1, p2, p3 = padded[i], padded[i + 1], padded[i + 2], padded[i + 3]
    return 0.5 * (2 * p1 + (p2 - p0) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u**2 + (3 * p1 - p0 - 3 * p2 + p3) * u**3)


def _num_keys(n: int, step: int) -> int:
    return max(2, math.ceil((n - 1) / step) + 1)


def _affine(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    """2x3 map from canonical patch pixels to image pixels: patch centre -> (cx, cy), patch size -> (w, h)."""
    cos, sin = math.cos(angle), math.sin(angle)
    a = np.array([[cos * w / _PATCH, -sin * h / _PATCH], [sin * w / _PATCH, cos * h / _PATCH]])
    centre = np.array([(_PATCH - 1) / 2, (_PATCH - 1) / 2])
    return np.concatenate([a, (np.array([cx, cy]) - a @ centre)[:, None]], axis=1)


def _warp(tex: np.ndarray, mask: np.ndarray, m: np.ndarray, with_tex: bool = True):
    """Warp a canonical texture and mask into a local canvas that holds the whole object.

    Returns:
        ``(tex_local or None, mask_local bool, ox, oy)``: the canvas's top-left corner is image pixel (ox, oy).
    """
    corners = np.array([[-0.5, -0.5, 1], [_PATCH - 0.5, -0.5, 1], [-0.5, _PATCH - 0.5, 1], [_PATCH - 0.5] * 2 + [1]])
    pts = corners @ m.T
    ox, oy = math.floor(pts[:, 0].min()) - 1, math.floor(pts[:, 1].min()) - 1
    lw, lh = math.ceil(pts[:, 0].max()) - ox + 2, math.ceil(pts[:, 1].max()) - oy + 2
    ml = m.copy()
    ml[:, 2] -= (ox, oy)
    mask_l = cv2.warpAffine(mask, ml, (lw, lh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) >= 128
    tex_l = None
    if with_tex:
        tex_l = cv2.warpAffine(tex, ml, (lw, lh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return tex_l, mask_l, ox, oy


def _overlap(ox: int, oy: int, lw: int, lh: int, img_w: int, img_h: int):
    """Slices of the image and of a local canvas at (ox, oy) covering their intersection, or None."""
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + lw, img_w), min(oy + lh, img_h)
    if x1 <= x0 or y1 <= y0:
        return None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))


def _paste(frame: np.ndarray, tex_l: np.ndarray, mask_l: np.ndarray, ox: int, oy: int, out_mask=None) -> int:
    """Draw the masked canvas into ``frame`` (and ``out_mask``); returns the number of pixels drawn."""
    sl = _overlap(ox, oy, mask_l.shape[1], mask_l.shape[0], frame.shape[1], frame.shape[0])
    if sl is None:
        return 0
    fs, ls = sl
    m = mask_l[ls]
    frame[fs][m] = tex_l[ls][m]
    if out_mask is not None:
        out_mask[fs] |= m
    return int(m.sum())


def _line_kernel(length: int, angle: float) -> np.ndarray:
    size = length if length % 2 else length + 1
    k = np.zeros((size, size), np.float32)
    c = (size - 1) / 2
    dx, dy = math.cos(angle) * (length - 1) / 2, math.sin(angle) * (length - 1) / 2
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, thickness=1)
    return k / k.sum()


def _tight_box(mask: np.ndarray) -> np.ndarray:
    """Pixel-inclusive ``[x, y, w, h]`` of a bool mask; ``[0, 0, 0, 0]`` when empty (as box_ops.mask_to_xywh)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return np.zeros(4)
    return np.array([cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1], dtype=np.float64)


def visible_ratio_to_cover(ratio: np.ndarray) -> np.ndarray:
    """GOT-10k ``cover.label`` levels: 0 for 0 %, 1..7 for (0, 15], (15, 30], ..., (90, 100) %, 8 for 100 %."""
    r = np.asarray(ratio, np.float64)
    partial = np.clip(np.ceil(np.round(r / 0.15, 9)), 1, 7)
    return np.where(r <= 0, 0, np.where(r >= 1, 8, partial)).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Planning: per-frame object states


@dataclass
class _Object:
    """Per-frame state of one rendered object: centre, size (before rotation) and angle, arrays of shape (n,)."""

    cx: np.ndarray
    cy: np.ndarray
    w: np.ndarray
    h: np.ndarray
    angle: np.ndarray
    tex: np.ndarray
    mask: np.ndarray


def _half_extent(w, h):
    return 0.5 * np.hypot(w, h)  # bounds the object's extent from its centre in every direction and rotation


def _size_track(rng, n, step, base, aspect, min_wh, sv, arc, rot):
    """Width, height and angle arrays (n,) of an object."""
    k = _num_keys(n, step)
    log_s = np.clip(np.cumsum(rng.normal(0, 0.08, k)), -0.2, 0.2)
    log_a = np.clip(np.cumsum(rng.normal(0, 0.05, k)), -0.12, 0.12)
    log_s -= log_s[0]
    if sv or arc:
        j = int(rng.integers(1, k)) if k > 2 else 1
        for flag, track, factor in ((sv, log_s, 2.7), (arc, log_a, 2.6)):
            if flag:
                sign = 1.0 if rng.random() < 0.5 else -1.0
                track[j:] += sign * math.log(factor)
    angle = np.cumsum(rng.normal(0, 0.45, k)) if rot else np.zeros(k)
    angle -= angle[0]
    tracks = _catmull_rom(np.stack([log_s, log_a, angle], axis=1), step, n)
    s, a = base * np.exp(tracks[:, 0]), aspect * np.exp(tracks[:, 1])
    w, h = s * np.sqrt(a), s / np.sqrt(a)
    # Keep the object inside reasonable limits (the ratio between w and h is preserved).
    shrink = np.minimum(1.0, 0.8 * min_wh / np.maximum(w, h))
    grow = np.maximum(1.0, _MIN_SIDE / np.minimum(w * shrink, h * shrink))
    return w * shrink * grow, h * shrink * grow, tracks[:, 2]


def _position_track(rng, n, step, w, h, img_w, img_h, fast, oov_key=None, avoid=None):
    """Centre arrays (n,), (n,) through keyframes; ``oov_key``: index of a keyframe placed fully out of view."""
    k = _num_keys(n, step)
    frames = np.minimum(np.arange(k) * step, n - 1)
    he = _half_extent(w, h)[frames]
    lo_x, hi_x = he + 2, img_w - he - 2
    lo_y, hi_y = he + 2, img_h - he - 2
    short = min(img_w, img_h)

    def inside(i, x, y):
        x = np.clip(x, lo_x[i], hi_x[i]) if lo_x[i] < hi_x[i] else img_w / 2
        y = np.clip(y, lo_y[i], hi_y[i]) if lo_y[i] < hi_y[i] else img_h / 2
        return float(x), float(y)

    keys = np.zeros((k, 2))
    for attempt in range(10):
        keys[0] = inside(0, rng.uniform(lo_x[0], max(hi_x[0], lo_x[0])), rng.uniform(lo_y[0], max(hi_y[0], lo_y[0])))
        if avoid is None or math.hypot(keys[0, 0] - avoid[0], keys[0, 1] - avoid[1]) > avoid[2] + he[0] or attempt == 9:
            break
    prev_inside = keys[0].copy()
    for i in range(1, k):
        length = rng.uniform(0.25, 0.4) * short if fast else rng.uniform(0.05, 0.25) * short
        theta = rng.uniform(0, 2 * np.pi)
        x, y = prev_inside[0] + length * math.cos(theta), prev_inside[1] + length * math.sin(theta)
        # Bounce off the borders so that fast keys keep their length instead of piling up at a border.
        if not lo_x[i] <= x <= hi_x[i]:
            x = prev_inside[0] - length * math.cos(theta)
        if not lo_y[i] <= y <= hi_y[i]:
            y = prev_inside[1] - length * math.sin(theta)
        keys[i] = inside(i, x, y)
        prev_inside = keys[i].copy()
        if i == oov_key:
            # Leave through the border nearest to where the target would have gone; the curve passes through
            # this key, so at least its frame shows no target pixel.
            px, py = prev_inside
            side = int(np.argmin((px, img_w - px, py, img_h - py)))
            out = he[i] * rng.uniform(1.0, 1.6) + 3
            keys[i] = [(-out, py), (img_w + out, py), (px, -out), (px, img_h + out)][side]
    xy = _catmull_rom(keys, step, n)
    return xy[:, 0], xy[:, 1]


def _smoothstep(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    u = np.clip((t - t0) / max(t1 - t0, 1e-9), 0, 1)
    return u * u * (3 - 2 * u)


@dataclass
class _Plan:
    n: int
    primary: str | None
    target: _Object
    distractors: list[_Object]
    occluder: _Object | None
    camera: np.ndarray  # (n, 2) int crop offsets into the background canvas
    canvas: np.ndarray  # background canvas (Hb, Wb, 3)
    gain: np.ndarray
    offset: np.ndarray
    blur: np.ndarray  # (n,) int kernel length (0 = no blur)
    info: dict[str, Any]


def _plan(rng: np.random.Generator, cfg: SplitConfig, index: int, textures: tuple[Texture, ...]) -> _Plan:
    img_w, img_h = cfg.width, cfg.height
    short = min(img_w, img_h)
    n = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
    primary = CHALLENGES[index % len(CHALLENGES)] if cfg.challenge_cycle else None

    def want(name: str, p: float) -> bool:
        draw = rng.random() < p  # always drawn, so that forcing one challenge does not shift the others
        return draw or name == primary

    occl = want("occlusion", 0.3)
    oov = want("out_of_view", 0.2)
    distr = want("distractors", 0.3)
    sv = want("scale_variation", 0.25)
    arc = want("aspect_ratio_change", 0.2)
    cam = want("camera_motion", 0.4)
    illum = want("illumination_variation", 0.3)
    blur = want("motion_blur", 0.3)
    fast = want("fast_motion", 0.15) or primary == "motion_blur"
    rot = rng.random() < 0.25 and primary not in ("scale_variation", "aspect_ratio_change")

    tex_ids = rng.permutation(len(textures))
    bg_tex, target_tex, occ_tex = (textures[int(i)] for i in tex_ids[:3])

    # Background canvas and camera path.
    scale = 1.5 if cam else 1.0
    bw, bh = round(img_w * scale), round(img_h * scale)
    canvas = _texture_crop(rng, bg_tex, bw, bh, 0.5)
    if cam:
        cstep = max(4, int(rng.integers(max(4, n // 6), max(5, n // 3) + 1)))
        ck = _num_keys(n, cstep)
        keys = np.stack([rng.uniform(0, bw - img_w, ck), rng.uniform(0, bh - img_h, ck)], axis=1)
        # A guaranteed pan: the first two keys lie at opposite ends of a random axis.
        axis = int(rng.integers(0, 2))
        span = (bw - img_w, bh - img_h)[axis]
        first, second = rng.uniform(0, 0.3) * span, rng.uniform(0.7, 1.0) * span
        if rng.random() < 0.5:
            first, second = span - first, span - second
        keys[0, axis], keys[1, axis] = first, second
        cam_xy = _catmull_rom(keys, cstep, n)
        camera = np.stack(
            [np.clip(np.round(cam_xy[:, 0]), 0, bw - img_w), np.clip(np.round(cam_xy[:, 1]), 0, bh - img_h)], axis=1
        ).astype(np.int64)
    else:
        camera = np.zeros((n, 2), np.int64)

    # Target: appearance, size and trajectory.
    shape = ("ellipse", "polygon", "rounded_rect")[int(rng.integers(0, 3))]
    tex = _texture_crop(rng, target_tex, _PATCH, _PATCH, 0.15, min_std=30.0)
    mask = _shape_mask(rng, shape)
    base = short * (rng.uniform(0.12, 0.18) if fast else rng.uniform(0.14, 0.26))
    aspect = math.exp(rng.uniform(-0.5, 0.5))
    step = int(rng.integers(3, max(4, n // 14) + 1)) if fast else int(rng.integers(max(4, n // 8), max(5, n // 4) + 1))
    w, h, angle = _size_track(rng, n, step, base, aspect, short, sv, arc, rot)
    k = _num_keys(n, step)
    oov_key = None
    if oov:
        # The keyframe nearest to 70 % of the sequence that still lies inside it (and is not the first one).
        last_inside = (n - 1) // step
        oov_key = int(np.clip(round(0.7 * (n - 1) / step), 1, max(1, min(last_inside, k - 1))))
    cx, cy = _position_track(rng, n, step, w, h, img_w, img_h, fast, oov_key=oov_key)
    target = _Object(cx, cy, w, h, angle, tex, mask)

    # Distractors: same shape and texture, own size factor and path.
    distractors = []
    for _ in range((1 + int(rng.random() < 0.3)) if distr else 0):
        f = rng.uniform(0.85, 1.15)
        dstep = int(rng.integers(max(4, n // 8), max(5, n // 4) + 1))
        dw, dh, dang = _size_track(rng, n, dstep, base * f, aspect, short, False, False, rng.random() < 0.3)
        avoid = (cx[0], cy[0], float(_half_extent(w[0], h[0])))
        dx, dy = _position_track(rng, n, dstep, dw, dh, img_w, img_h, False, avoid=avoid)
        distractors.append(_Object(dx, dy, dw, dh, dang, tex, mask))

    # Occluder: a bar crossing the target's position at frame t_mid.
    occluder, occ_kind = None, None
    if occl:
        occ_kind = "full" if (primary == "occlusion" or rng.random() < 0.5) else "partial"
        t_mid = int(np.clip(round(rng.uniform(0.25, 0.45) * (n - 1)), 2, n - 2))
        he_t = float(_half_extent(w[t_mid], h[t_mid]))
        direction = rng.uniform(0, 2 * np.pi)
        along = he_t * rng.uniform(1.15, 1.35) + 3 if occ_kind == "full" else 0.25 * min(w[t_mid], h[t_mid])
        across = he_t * rng.uniform(1.5, 3.0) + 3
        he_o = math.hypot(along, across)
        speed = rng.uniform(1.0, 3.0) * short / 240
        t = np.arange(n, dtype=np.float64)
        # Fast enough to be clear of the target at frame 0 (the initialisation frame must be unoccluded).
        for _ in range(30):
            ox = cx[t_mid] + math.cos(direction) * speed * (t - t_mid)
            oy = cy[t_mid] + math.sin(direction) * speed * (t - t_mid)
            if math.hypot(ox[0] - cx[0], oy[0] - cy[0]) > he_o + _half_extent(w[0], h[0]) + 2:
                break
            speed *= 1.25
        occ_tex_img = _texture_crop(rng, occ_tex, _PATCH, _PATCH, 0.3, min_std=20.0)
        ones = np.ones(n)
        occluder = _Object(
            ox, oy, 2 * along * ones, 2 * across * ones, direction * ones, occ_tex_img, _shape_mask(rng, "rect")
        )

    # Illumination: a smooth ramp of gain and offset, sometimes ramping back.
    t = np.arange(n, dtype=np.float64)
    if illum:
        t0 = rng.uniform(0.2, 0.55) * (n - 1)
        t1 = t0 + rng.uniform(0.15, 0.35) * (n - 1)
        ramp = _smoothstep(t, t0, t1)
        if rng.random() < 0.4 and t1 < 0.7 * (n - 1):
            t2 = rng.uniform(t1, 0.85 * (n - 1))
            ramp = ramp - _smoothstep(t, t2, t2 + 0.1 * (n - 1))
        log_gain = (1.0 if rng.random() < 0.5 else -1.0) * rng.uniform(0.35, 0.6)
        gain = np.exp(log_gain * ramp)
        offset = rng.uniform(-30, 30) * ramp
    else:
        gain, offset = np.ones(n), np.zeros(n)

    # Motion blur length from the target's image speed (the shutter fraction is drawn per sequence).
    speed_img = np.hypot(np.diff(cx), np.diff(cy))
    speed_img = np.concatenate([speed_img[:1], speed_img])  # frame 0 moves as frame 1 does
    shutter = rng.uniform(0.5, 0.9) if blur else 0.0
    blur_len = np.round(shutter * speed_img).astype(np.int64)
    blur_len = np.where(blur_len >= 3, np.minimum(blur_len, 25), 0)

    info = {
        "index": index,
        "num_frames": n,
        "width": img_w,
        "height": img_h,
        "primary_challenge": primary,
        "shape": shape,
        "background": bg_tex.name,
        "target_texture": target_tex.name,
        "occluder_texture": occ_tex.name if occluder is not None else None,
        "occlusion_kind": occ_kind,
        "num_distractors": len(distractors),
        "rotation": bool(rot),
        "keyframe_step": step,
    }
    return _Plan(n, primary, target, distractors, occluder, camera, canvas, gain, offset, blur_len, info)


# ---------------------------------------------------------------------------------------------------------------
# Rendering


@dataclass
class RenderedSequence:
    """One rendered sequence, in memory.

    Attributes:
        name: sequence name.
        frames: n images (H, W, 3) uint8 RGB.
        masks: n target masks (H, W) bool (visible pixels only).
        boxes: (n, 4) float64 pixel-inclusive ``[x, y, w, h]`` of the masks; ``[0, 0, 0, 0]`` when absent.
        visible: (n,) bool, whether the mask is non-empty.
        cover: (n,) int GOT-10k cover levels of the visible ratio (see :func:`visible_ratio_to_cover`).
        table: per-frame statistics, column name -> (n,) array (written as ``frames.csv``).
        attributes: attribute name -> bool (see :func:`derive_attributes`).
        info: generation details (shape, textures, primary challenge, ...).
    """

    name: str
    frames: list[np.ndarray]
    masks: list[np.ndarray]
    boxes: np.ndarray
    visible: np.ndarray
    cover: np.ndarray
    table: dict[str, np.ndarray]
    attributes: dict[str, bool]
    info: dict[str, Any]


def _render(plan: _Plan, img_w: int, img_h: int) -> tuple[list, list, dict[str, np.ndarray]]:
    n = plan.n
    frames, masks = [], []
    cols = {
        name: np.zeros(n, np.int64)
        for name in (
            "visible_pixels",
            "inframe_pixels",
            "full_pixels",
            "occluded_pixels",
            "full_x",
            "full_y",
            "full_w",
            "full_h",
            "distractors_in_view",
        )
    }
    tgt = plan.target
    for t in range(n):
        cam_x, cam_y = plan.camera[t]
        frame = plan.canvas[cam_y : cam_y + img_h, cam_x : cam_x + img_w].copy()
        for d in plan.distractors:
            tex_l, m_l, ox, oy = _warp(d.tex, d.mask, _affine(d.cx[t], d.cy[t], d.w[t], d.h[t], d.angle[t]))
            drawn = _paste(frame, tex_l, m_l, ox, oy)
            total = int(m_l.sum())
            cols["distractors_in_view"][t] += int(total > 0 and 2 * drawn >= total)

        tex_l, m_l, ox, oy = _warp(tgt.tex, tgt.mask, _affine(tgt.cx[t], tgt.cy[t], tgt.w[t], tgt.h[t], tgt.angle[t]))
        inframe = np.zeros((img_h, img_w), bool)
        _paste(frame, tex_l, m_l, ox, oy, out_mask=inframe)
        full_box = _tight_box(m_l)
        cols["full_pixels"][t] = int(m_l.sum())
        cols["full_x"][t], cols["full_y"][t] = full_box[0] + ox, full_box[1] + oy
        cols["full_w"][t], cols["full_h"][t] = full_box[2], full_box[3]

        blur_len = int(plan.blur[t])
        if blur_len and inframe.any():
            # Smear the target and its surroundings along its velocity; the annotation stays the sharp shape.
            vx = tgt.cx[min(t + 1, n - 1)] - tgt.cx[max(t - 1, 0)]
            vy = tgt.cy[min(t + 1, n - 1)] - tgt.cy[max(t - 1, 0)]
            kernel = _line_kernel(blur_len, math.atan2(vy, vx))
            pad = kernel.shape[0] // 2 + 1
            sl = _overlap(ox - pad, oy - pad, m_l.shape[1] + 2 * pad, m_l.shape[0] + 2 * pad, img_w, img_h)
            if sl is not None:
                fs = sl[0]
                roi = frame[fs]
                smeared = cv2.filter2D(roi, -1, kernel, borderType=cv2.BORDER_REPLICATE)
                footprint = cv2.filter2D(inframe[fs].astype(np.float32), -1, kernel) > 1e-3
                roi[footprint] = smeared[footprint]
        else:
            plan.blur[t] = 0

        visible = inframe
        if plan.occluder is not None:
            o = plan.occluder
            otex, om, oox, ooy = _warp(o.tex, o.mask, _affine(o.cx[t], o.cy[t], o.w[t], o.h[t], o.angle[t]))
            occ_mask = np.zeros((img_h, img_w), bool)
            _paste(frame, otex, om, oox, ooy, out_mask=occ_mask)
            hidden = inframe & occ_mask
            cols["occluded_pixels"][t] = int(hidden.sum())
            visible = inframe & ~occ_mask

        gain, offset = plan.gain[t], plan.offset[t]
        if gain != 1.0 or offset != 0.0:
            frame = np.clip(frame.astype(np.float32) * np.float32(gain) + np.float32(offset + 0.5), 0, 255)
            frame = frame.astype(np.uint8)
        cols["inframe_pixels"][t] = int(inframe.sum())
        cols["visible_pixels"][t] = int(visible.sum())
        frames.append(frame)
        masks.append(visible)

    table: dict[str, np.ndarray] = {"frame": np.arange(1, n + 1)}
    table.update(cols)
    table.update(
        {
            "center_x": tgt.cx.copy(),
            "center_y": tgt.cy.copy(),
            "angle_deg": np.degrees(tgt.angle),
            "blur_length": plan.blur.copy(),
            "gain": plan.gain.copy(),
            "offset": plan.offset.copy(),
            "camera_x": plan.camera[:, 0].copy(),
            "camera_y": plan.camera[:, 1].copy(),
        }
    )
    return frames, masks, table


def derive_attributes(table: dict[str, np.ndarray], width: int, height: int) -> dict[str, bool]:
    """Attribute labels computed from the per-frame statistics of a rendered sequence.

    Definitions (``full`` = the whole target, unclipped and unoccluded; ``in frame`` = its part inside the image;
    ratios relative to frame 0 follow the LaSOT / OTB attribute definitions):

    * ``partial_occlusion``: some frame has 10 % to <100 % of its in-frame pixels covered by the occluder;
      ``full_occlusion``: some frame has in-frame pixels, all covered; ``occlusion``: either.
    * ``out_of_view``: some frame has no target pixel inside the image.
    * ``scale_variation``: ``sqrt(area / area_0)`` of the full box leaves [0.5, 2] on some frame.
    * ``aspect_ratio_change``: ``(w / h) / (w_0 / h_0)`` of the full box leaves [0.5, 2] on some frame.
    * ``rotation``: the target turns by 30 degrees or more from frame 0.
    * ``camera_motion``: the crop window moves 10 % of the image's shorter side or more from its start.
    * ``illumination_variation``: ``|gain / gain_0 - 1| >= 0.25`` or ``|offset - offset_0| >= 25`` on some frame.
    * ``motion_blur``: some frame with a visible target was blurred with a kernel of length >= 3.
    * ``fast_motion``: between two frames with the target in view, the full box's centre moves by more than half
      the geometric mean of the previous full box's sides.
    * ``distractors``: some frame shows a distractor with at least half of its pixels inside the image.

    Args:
        table: column -> (n,) array, as :attr:`RenderedSequence.table` (or read back from ``frames.csv``).
        width, height: image size.

    Returns:
        attribute name -> bool, for every name in :data:`ATTRIBUTES`.
    """
    g = {k: np.asarray(v, np.float64) for k, v in table.items()}
    inframe, occ = g["inframe_pixels"], g["occluded_pixels"]
    with np.errstate(divide="ignore", invalid="ignore"):
        occ_ratio = np.where(inframe > 0, occ / np.maximum(inframe, 1), 0.0)
    fw, fh = g["full_w"], g["full_h"]
    scale = np.sqrt(fw * fh / (fw[0] * fh[0]))
    arc = (fw / fh) / (fw[0] / fh[0])
    cam = np.hypot(g["camera_x"] - g["camera_x"][0], g["camera_y"] - g["camera_y"][0])
    in_view = inframe > 0
    fcx, fcy = g["full_x"] + (fw - 1) / 2, g["full_y"] + (fh - 1) / 2
    disp = np.hypot(np.diff(fcx), np.diff(fcy))
    fast = (disp > 0.5 * np.sqrt(fw[:-1] * fh[:-1])) & in_view[:-1] & in_view[1:]
    partial = bool(np.any((occ_ratio >= 0.1) & (occ_ratio < 1)))
    full = bool(np.any(in_view & (occ >= inframe)))
    return {
        "occlusion": partial or full,
        "partial_occlusion": partial,
        "full_occlusion": full,
        "out_of_view": bool(np.any(~in_view)),
        "scale_variation": bool(np.any((scale < 0.5) | (scale > 2))),
        "aspect_ratio_change": bool(np.any((arc < 0.5) | (arc > 2))),
        "rotation": bool(np.any(np.abs(g["angle_deg"] - g["angle_deg"][0]) >= 30)),
        "camera_motion": bool(np.any(cam >= 0.1 * min(width, height))),
        "illumination_variation": bool(
            np.any((np.abs(g["gain"] / g["gain"][0] - 1) >= 0.25) | (np.abs(g["offset"] - g["offset"][0]) >= 25))
        ),
        "motion_blur": bool(np.any((g["blur_length"] >= 3) & (g["visible_pixels"] > 0))),
        "fast_motion": bool(np.any(fast)),
        "distractors": bool(np.any(g["distractors_in_view"] > 0)),
    }


def render_sequence(cfg: SplitConfig, index: int, textures: tuple[Texture, ...] | None = None) -> RenderedSequence:
    """Render sequence ``index`` of a split.

    The result depends only on ``cfg`` (minus ``num_sequences``), ``index`` and the textures. When the primary
    challenge did not materialise in the derived attributes (rare, e.g. a partial occlusion hidden by a border),
    the sequence is re-planned with the next draws of the same generator, up to 8 times.

    Args:
        cfg: split configuration.
        index: sequence index, 0-based.
        textures: texture library; default :func:`load_textures` of ``cfg.textures``.
    """
    textures = load_textures(cfg.textures) if textures is None else textures
    rng = np.random.default_rng([cfg.seed, index])
    attempts = 0
    while True:
        attempts += 1
        plan = _plan(rng, cfg, index, textures)
        frames, masks, table = _render(plan, cfg.width, cfg.height)
        attributes = derive_attributes(table, cfg.width, cfg.height)
        if plan.primary is None or attributes[plan.primary] or attempts == 8:
            break
    info = dict(plan.info, attempts=attempts, primary_realised=plan.primary is None or attributes[plan.primary])
    visible = table["visible_pixels"] > 0
    ratio = table["visible_pixels"] / np.maximum(table["full_pixels"], 1)
    boxes = np.stack([_tight_box(m) for m in masks]) if masks else np.zeros((0, 4))
    return RenderedSequence(
        cfg.sequence_name(index),
        frames,
        masks,
        boxes,
        visible,
        visible_ratio_to_cover(ratio),
        table,
        attributes,
        info,
    )
