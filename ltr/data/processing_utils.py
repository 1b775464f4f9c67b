"""Crops, box perturbations, Gaussian labels and box densities used by the training processing classes.

Conventions: boxes are ``[x, y, w, h]`` tensors in continuous pixel coordinates (pixel ``j`` covers ``[j, j + 1)``,
so a box's centre is ``xy + wh / 2``); images are (H, W, C) numpy arrays; sizes given as pairs are ``(width,
height)`` (OpenCV's order), as in the original. Random numbers: :func:`perturb_box` draws from Python's
:mod:`random`, everything else from torch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Literal

import cv2 as cv
import numpy as np
import torch
import torch.nn.functional as F

from pytracking.utils.box_ops import iou_xywh, rect_to_rel, rel_to_rect

__all__ = [
    "sample_target",
    "transform_image_to_crop",
    "jittered_center_crop",
    "sample_target_adaptive",
    "transform_box_to_crop",
    "target_image_crop",
    "iou",
    "rand_uniform",
    "perturb_box",
    "gauss_1d",
    "gauss_2d",
    "gaussian_label_function",
    "gauss_density_centered",
    "gmm_density_centered",
    "sample_gmm_centered",
    "sample_gmm",
    "sample_box_gmm",
]

CropMode = Literal["replicate", "inside", "inside_major"]
SizeLike = int | float | Sequence[int] | Sequence[float]
MaskLike = np.ndarray | torch.Tensor


# ---------------------------------------------------------------------------------------------------------------
# Crops


def _crop_replicate(im: np.ndarray, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    """``im[y1:y2, x1:x2]`` where rows/columns outside the image repeat the nearest border pixel.

    Unlike the original (which pads one pixel too many at the right/bottom and so drops the last image row/column
    whenever the crop reaches it), pixels inside the image are always copied.
    """
    im_h, im_w = im.shape[:2]
    pad_l, pad_t = max(0, -x1), max(0, -y1)
    pad_r, pad_b = max(0, x2 - im_w), max(0, y2 - im_h)
    if pad_l + pad_r >= x2 - x1 or pad_t + pad_b >= y2 - y1:
        # No overlap with the image (copyMakeBorder needs a non-empty source): clip indices instead.
        rows = np.clip(np.arange(y1, y2), 0, im_h - 1)
        cols = np.clip(np.arange(x1, x2), 0, im_w - 1)
        return im[rows[:, None], cols[None, :]]
    inner = im[y1 + pad_t : y2 - pad_b, x1 + pad_l : x2 - pad_r]
    if pad_l == pad_t == pad_r == pad_b == 0:
        return inner
    return cv.copyMakeBorder(inner, pad_t, pad_b, pad_l, pad_r, cv.BORDER_REPLICATE)


def _crop_mask_zero(mask: MaskLike, x1: int, y1: int, x2: int, y2: int) -> torch.Tensor:
    """``mask[y1:y2, x1:x2]`` as a float tensor, zero outside the mask."""
    m = torch.as_tensor(mask).float()
    im_h, im_w = m.shape[-2:]
    out = m.new_zeros((y2 - y1, x2 - x1))
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, im_w), min(y2, im_h)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = m[sy1:sy2, sx1:sx2]
    return out


def sample_target(
    im: np.ndarray,
    target_bb: torch.Tensor | Sequence[float],
    search_area_factor: float,
    output_sz: int | None = None,
    mask: MaskLike | None = None,
) -> tuple:
    """Square crop of side ``ceil(sqrt(w h) * search_area_factor)`` centred on a box, resized to ``output_sz``.

    The crop's top-left corner is ``round(centre - crop_sz / 2)``; parts outside the image replicate the border.

    Args:
        im: image (H, W, C) (or (H, W)).
        target_bb: (4,) box ``[x, y, w, h]`` to centre the crop on.
        search_area_factor: crop side over the box's geometric-mean side.
        output_sz: side of the resized square output; ``None`` keeps the crop size.
        mask: optional (H, W) mask cropped alike (zero outside, bilinear resize).

    Returns:
        ``(crop, resize_factor)`` with ``resize_factor = output_sz / crop_sz`` (1.0 without resizing), plus the
        cropped (output_sz, output_sz) float mask tensor when ``mask`` is given.

    Raises:
        ValueError: the crop would be smaller than one pixel.
    """
    x, y, w, h = (float(v) for v in torch.as_tensor(target_bb).reshape(-1).tolist())
    crop_sz = math.ceil(math.sqrt(w * h) * search_area_factor)
    if not crop_sz >= 1:
        raise ValueError(f"sample_target: box {[x, y, w, h]} too small for a crop (crop size {crop_sz})")
    x1 = round(x + 0.5 * w - crop_sz * 0.5)
    y1 = round(y + 0.5 * h - crop_sz * 0.5)
    x2, y2 = x1 + crop_sz, y1 + crop_sz
    crop = _crop_replicate(im, x1, y1, x2, y2)
    mask_crop = _crop_mask_zero(mask, x1, y1, x2, y2) if mask is not None else None

    if output_sz is None:
        return (crop, 1.0) if mask is None else (crop, 1.0, mask_crop)
    output_sz = int(output_sz)
    resize_factor = output_sz / crop_sz
    crop = cv.resize(crop, (output_sz, output_sz))
    if mask is None:
        return crop, resize_factor
    mask_crop = F.interpolate(mask_crop[None, None], (output_sz, output_sz), mode="bilinear", align_corners=False)
    return crop, resize_factor, mask_crop[0, 0]


def transform_image_to_crop(
    box_in: torch.Tensor,
    box_extract: torch.Tensor,
    resize_factor: float,
    crop_sz: torch.Tensor,
    normalize: bool = False,
) -> torch.Tensor:
    """Map a box from image to crop coordinates for a crop made by :func:`sample_target` around ``box_extract``.

    The centre of ``box_extract`` goes to ``(crop_sz - 1) / 2`` and offsets are scaled by ``resize_factor``:
    ``c_out = (crop_sz - 1) / 2 + (c_in - c_extract) * resize_factor``, ``wh_out = wh_in * resize_factor``.

    Args:
        box_in: (4,) box to map.
        box_extract: (4,) box the crop was centred on.
        resize_factor: crop scale (output size over crop size).
        crop_sz: (2,) output size ``(w, h)``.
        normalize: divide the result by ``crop_sz[0]``.

    Returns:
        (4,) box ``[x, y, w, h]`` in crop pixels.
    """
    crop_sz = torch.as_tensor(crop_sz, dtype=box_in.dtype)
    c_extract = box_extract[0:2] + 0.5 * box_extract[2:4]
    c_in = box_in[0:2] + 0.5 * box_in[2:4]
    c_out = (crop_sz - 1) / 2 + (c_in - c_extract) * resize_factor
    wh_out = box_in[2:4] * resize_factor
    box_out = torch.cat((c_out - 0.5 * wh_out, wh_out))
    return box_out / crop_sz[0] if normalize else box_out


def jittered_center_crop(
    frames: Sequence[np.ndarray],
    box_extract: Sequence[torch.Tensor],
    box_gt: Sequence[torch.Tensor],
    search_area_factor: float,
    output_sz: int,
    masks: Sequence[MaskLike] | None = None,
) -> tuple[list, list, list | None]:
    """:func:`sample_target` around each ``box_extract``, and ``box_gt`` mapped into each crop (ATOM's cropping).

    Args:
        frames: images (H, W, C).
        box_extract: per frame, the (4,) box the crop is centred on (the jittered box).
        box_gt: per frame, the (4,) box to map into the crop.
        search_area_factor: crop side over the box's geometric-mean side.
        output_sz: side of the square crops.
        masks: optional per-frame masks cropped alike.

    Returns:
        ``(crops, boxes, mask_crops)``: lists of (output_sz, output_sz, C) arrays, of (4,) boxes in crop pixels,
        and of mask crops (``None`` without masks).
    """
    if masks is None:
        results = [sample_target(f, a, search_area_factor, output_sz) for f, a in zip(frames, box_extract)]
        crops, factors = zip(*results) if results else ((), ())
        mask_crops = None
    else:
        results = [sample_target(f, a, search_area_factor, output_sz, m) for f, a, m in zip(frames, box_extract, masks)]
        crops, factors, mask_crops = zip(*results) if results else ((), (), ())
        mask_crops = list(mask_crops)
    crop_sz = torch.tensor([float(output_sz), float(output_sz)])
    boxes = [transform_image_to_crop(g, e, rf, crop_sz) for g, e, rf in zip(box_gt, box_extract, factors)]
    return list(crops), boxes, mask_crops


def _pair(v: SizeLike) -> tuple[float, float]:
    if isinstance(v, (int, float)):
        return float(v), float(v)
    a, b = (float(t) for t in (v.tolist() if torch.is_tensor(v) else v))
    return a, b


def sample_target_adaptive(
    im: np.ndarray,
    target_bb: torch.Tensor | Sequence[float],
    search_area_factor: float,
    output_sz: SizeLike,
    mode: CropMode = "replicate",
    max_scale_change: float | None = None,
    mask: MaskLike | None = None,
) -> tuple:
    """Crop of area ``search_area_factor^2 * w * h`` with the aspect ratio of ``output_sz``, optionally kept inside.

    The crop size is ``ceil(output_sz * sqrt(w h / prod(output_sz)) * search_area_factor)`` per axis. Modes:

    * ``'replicate'``: the crop keeps its size;
    * ``'inside'``: the crop is first shrunk (by at most ``max_scale_change``) until it fits the image on both axes;
    * ``'inside_major'``: the crop is first shrunk until it fits on at least one axis.

    In every mode the crop (initially centred on the box) is then shifted inside the image along each axis where it
    fits, and centred on the image along an axis where it does not; only the part sticking out is filled by
    replicating the border pixels. So a replicate crop is not centred on the box near the image border.

    Args:
        im: image (H, W, C).
        target_bb: (4,) box ``[x, y, w, h]``.
        search_area_factor: crop side over the box's geometric-mean side.
        output_sz: output size, a number or ``(w, h)``.
        mode: ``'replicate'``, ``'inside'`` or ``'inside_major'``.
        max_scale_change: largest shrink factor for the inside modes (``None``: unbounded).
        mask: optional (H, W) mask cropped alike (zero outside, nearest-neighbour resize).

    Returns:
        ``(crop, crop_box)``: the (out_h, out_w, C) crop and the cropped region as a (4,) ``[x, y, w, h]`` tensor
        in image pixels; plus the (out_h, out_w) float mask crop when ``mask`` is given.

    Raises:
        ValueError: unknown mode, or a crop smaller than one pixel.
    """
    if mode not in ("replicate", "inside", "inside_major"):
        raise ValueError(f"sample_target_adaptive: unknown mode {mode!r}; choose 'replicate', 'inside', 'inside_major'")
    max_scale_change = float("inf") if max_scale_change is None else float(max_scale_change)
    out_w, out_h = _pair(output_sz)
    im_h, im_w = im.shape[:2]
    bbx, bby, bbw, bbh = (float(v) for v in torch.as_tensor(target_bb).reshape(-1).tolist())

    # float32 tensor arithmetic as in the original, so the ceil lands on the same integer.
    out_t = torch.tensor([out_w, out_h])
    scale = (torch.tensor(bbw * bbh, dtype=torch.float32) / out_t.prod()).sqrt()
    crop_w, crop_h = (out_t * scale * search_area_factor).ceil().long().tolist()

    if mode != "replicate":
        ratios = (crop_w / im_w, crop_h / im_h)
        rescale = max(ratios) if mode == "inside" else min(ratios)
        rescale = min(max(1.0, rescale), max_scale_change)
        crop_w, crop_h = math.floor(crop_w / rescale), math.floor(crop_h / rescale)
    if crop_w < 1 or crop_h < 1:
        raise ValueError(f"sample_target_adaptive: box {[bbx, bby, bbw, bbh]} too small for a crop")

    x1 = round(bbx + 0.5 * bbw - crop_w * 0.5)
    y1 = round(bby + 0.5 * bbh - crop_h * 0.5)
    x1, y1 = _shift_inside(x1, crop_w, im_w), _shift_inside(y1, crop_h, im_h)
    x2, y2 = x1 + crop_w, y1 + crop_h

    crop = _crop_replicate(im, x1, y1, x2, y2)
    crop = cv.resize(crop, (int(out_w), int(out_h)))
    crop_box = torch.tensor([x1, y1, x2 - x1, y2 - y1], dtype=torch.float32)
    if mask is None:
        return crop, crop_box
    mask_crop = _crop_mask_zero(mask, x1, y1, x2, y2)
    mask_crop = F.interpolate(mask_crop[None, None], (int(out_h), int(out_w)), mode="nearest")[0, 0]
    return crop, crop_box, mask_crop


def _shift_inside(start: int, size: int, limit: int) -> int:
    """Shift ``[start, start + size)`` into ``[0, limit)``, or centre it on ``[0, limit)`` when it is larger."""
    start += max(0, -start) + min(0, limit - (start + size))
    overflow = (max(0, -start) + max(0, start + size - limit)) // 2
    if overflow > 0:
        start = -overflow
    return start


def transform_box_to_crop(
    box: torch.Tensor, crop_box: torch.Tensor, crop_sz: torch.Tensor | Sequence[float], normalize: bool = False
) -> torch.Tensor:
    """Map a box from image coordinates into a crop of ``crop_box`` resized to ``crop_sz``.

    Args:
        box: (4,) box ``[x, y, w, h]`` in image pixels.
        crop_box: (4,) cropped region ``[x, y, w, h]`` in image pixels.
        crop_sz: (2,) output size ``(w, h)``.
        normalize: divide the result by ``crop_sz[0]``.

    Returns:
        (4,) box in crop pixels: ``(xy - crop_xy) * s`` and ``wh * s`` with ``s = crop_sz / crop_box_wh``.
    """
    crop_sz = torch.as_tensor(crop_sz, dtype=box.dtype)
    scale = crop_sz / crop_box[2:].to(box.dtype)
    out = torch.cat(((box[:2] - crop_box[:2].to(box.dtype)) * scale, box[2:] * scale))
    return out / crop_sz[0] if normalize else out


def target_image_crop(
    frames: Sequence[np.ndarray],
    box_extract: Sequence[torch.Tensor],
    box_gt: Sequence[torch.Tensor],
    search_area_factor: float,
    output_sz: SizeLike,
    mode: CropMode = "replicate",
    max_scale_change: float | None = None,
    masks: Sequence[MaskLike] | None = None,
) -> tuple:
    """:func:`sample_target_adaptive` around each ``box_extract`` and ``box_gt`` mapped into each crop (DiMP).

    Args:
        frames: images (H, W, C).
        box_extract: per frame, the (4,) box the crop is centred on (the jittered box).
        box_gt: per frame, the (4,) box to map into the crop.
        search_area_factor: crop side over the box's geometric-mean side.
        output_sz: output size, a number or ``(w, h)``.
        mode: ``'replicate'``, ``'inside'`` or ``'inside_major'``.
        max_scale_change: largest shrink factor for the inside modes.
        masks: optional per-frame masks cropped alike.

    Returns:
        ``(crops, boxes)`` as lists, plus the list of mask crops when ``masks`` is given.
    """
    out_w, out_h = _pair(output_sz)
    if masks is None:
        results = [
            sample_target_adaptive(f, a, search_area_factor, (out_w, out_h), mode, max_scale_change)
            for f, a in zip(frames, box_extract)
        ]
    else:
        results = [
            sample_target_adaptive(f, a, search_area_factor, (out_w, out_h), mode, max_scale_change, mask=m)
            for f, a, m in zip(frames, box_extract, masks)
        ]
    parts = list(zip(*results)) if results else [(), (), ()]
    crop_sz = torch.tensor([out_w, out_h])
    boxes = [transform_box_to_crop(g, c, crop_sz) for g, c in zip(box_gt, parts[1])]
    if masks is None:
        return list(parts[0]), boxes
    return list(parts[0]), boxes, list(parts[2])


# ---------------------------------------------------------------------------------------------------------------
# Proposals


def iou(reference: torch.Tensor, proposals: torch.Tensor) -> torch.Tensor:
    """IoU of one reference box with several proposals (continuous ``[x, y, w, h]`` boxes).

    Args:
        reference: (1, 4) box.
        proposals: (N, 4) boxes.

    Returns:
        (N,) IoU values (0 where the union is empty).
    """
    return iou_xywh(reference.reshape(-1, 4), proposals.reshape(-1, 4), inclusive=False)


def _iou_scalar(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``[x, y, w, h]`` boxes given as Python numbers (the per-draw test of :func:`perturb_box`)."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def rand_uniform(a: float, b: float, shape: int | Sequence[int] = 1) -> torch.Tensor:
    """Tensor of ``shape`` with values uniform in ``[a, b)`` (torch's generator)."""
    return (b - a) * torch.rand(shape) + a


def perturb_box(
    box: torch.Tensor, min_iou: float = 0.5, sigma_factor: float | torch.Tensor | list = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian perturbation of a box with IoU above ``min_iou`` (ATOM/DiMP IoU-Net proposals).

    One sigma factor is drawn uniformly from ``sigma_factor`` when it is a list; the noise standard deviation is
    ``sqrt(w h) * factor`` (a (4,) factor gives one per coordinate of ``[cx, cy, w, h]``). A perturbed width or
    height ``<= 1`` is replaced by ``U(0.15, 0.5)`` times the original one; the box is rounded to integers. Up to
    100 draws are made, the standard deviation shrinking by 0.9 after each draw whose IoU is ``<= min_iou``; the
    last draw is returned if none succeeds.

    Args:
        box: (4,) box ``[x, y, w, h]``.
        min_iou: required IoU (strictly greater).
        sigma_factor: a float, a (4,) tensor, or a list of those.

    Returns:
        ``(perturbed_box, iou)``: (4,) float32 box and its (1,) IoU with ``box``.
    """
    factor = random.choice(sigma_factor) if isinstance(sigma_factor, list) else sigma_factor
    factor = torch.as_tensor(factor, dtype=torch.float32) * torch.ones(4)
    bx, by, bw, bh = (float(v) for v in box.reshape(-1).tolist())
    sigma = [math.sqrt(bw * bh) * float(f) for f in factor]
    cx, cy = bx + 0.5 * bw, by + 0.5 * bh
    box_per, box_iou = torch.tensor([bx, by, bw, bh]), torch.zeros(1)
    for _ in range(100):
        cx_p = random.gauss(cx, sigma[0])
        cy_p = random.gauss(cy, sigma[1])
        w_p = random.gauss(bw, sigma[2])
        h_p = random.gauss(bh, sigma[3])
        if w_p <= 1:
            w_p = bw * float(rand_uniform(0.15, 0.5))
        if h_p <= 1:
            h_p = bh * float(rand_uniform(0.15, 0.5))
        box_per = torch.tensor([cx_p - 0.5 * w_p, cy_p - 0.5 * h_p, w_p, h_p]).round()
        if box_per[2] <= 1:
            box_per[2] = bw * float(rand_uniform(0.15, 0.5))
        if box_per[3] <= 1:
            box_per[3] = bh * float(rand_uniform(0.15, 0.5))
        box_iou = torch.tensor([_iou_scalar((bx, by, bw, bh), box_per.tolist())])
        if box_iou > min_iou:
            return box_per, box_iou
        sigma = [s * 0.9 for s in sigma]
    return box_per, box_iou


# ---------------------------------------------------------------------------------------------------------------
# Gaussian labels


def gauss_1d(sz: int, sigma: float, center: torch.Tensor, end_pad: int = 0, density: bool = False) -> torch.Tensor:
    """Sampled Gaussians ``exp(-(k - c)^2 / (2 sigma^2))`` at ``k = -(sz - 1)/2 + j``, ``j = 0 .. sz + end_pad - 1``.

    Args:
        sz: number of samples before padding.
        sigma: standard deviation in samples.
        center: (N,) peak positions relative to the middle of the first ``sz`` samples.
        end_pad: extra samples appended at the end.
        density: divide by ``sqrt(2 pi) sigma`` (a normal density instead of peak value 1).

    Returns:
        (N, sz + end_pad) tensor.
    """
    k = torch.arange(int(sz) + int(end_pad), dtype=center.dtype).reshape(1, -1) - (int(sz) - 1) / 2
    g = torch.exp(-1.0 / (2 * sigma**2) * (k - center.reshape(-1, 1)) ** 2)
    if density:
        g = g / (math.sqrt(2 * math.pi) * sigma)
    return g


def gauss_2d(
    sz: Sequence[int] | torch.Tensor,
    sigma: float | Sequence[float],
    center: torch.Tensor,
    end_pad: Sequence[int] = (0, 0),
    density: bool = False,
) -> torch.Tensor:
    """Separable 2-D Gaussians on a grid of size ``sz = (w, h)``.

    Args:
        sz: grid size ``(w, h)``.
        sigma: standard deviation, a number or ``(sigma_x, sigma_y)``.
        center: (N, 2) peak offsets ``(x, y)`` from the grid middle.
        end_pad: extra samples ``(x, y)`` appended at the ends.
        density: normalise as a density.

    Returns:
        (N, h + end_pad[1], w + end_pad[0]) tensor.
    """
    sx, sy = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    w, h = (int(v) for v in (sz.tolist() if torch.is_tensor(sz) else sz))
    n = center.shape[0]
    gx = gauss_1d(w, sx, center[:, 0], end_pad[0], density).reshape(n, 1, -1)
    gy = gauss_1d(h, sy, center[:, 1], end_pad[1], density).reshape(n, -1, 1)
    return gx * gy


def gaussian_label_function(
    target_bb: torch.Tensor,
    sigma_factor: float,
    kernel_sz: SizeLike,
    feat_sz: SizeLike,
    image_sz: SizeLike,
    end_pad_if_even: bool = True,
    density: bool = False,
    uni_bias: float = 0.0,
) -> torch.Tensor:
    """Gaussian score-map labels centred on the target, as used by DiMP's classifier losses.

    The target centre ``c`` (image pixels) maps to the feature-grid offset ``feat_sz * (c - image_sz / 2) /
    image_sz`` from the grid middle, plus 0.5 along axes where the filter ``kernel_sz`` is even (an even filter
    shifts its output by half a cell). ``sigma = sigma_factor * sqrt(feat_w * feat_h)`` cells. With
    ``end_pad_if_even`` the map gets one extra row/column per even kernel axis, matching the size of a
    correlation output (``feat_sz + 1``).

    Args:
        target_bb: (N, 4) boxes ``[x, y, w, h]`` in image pixels.
        sigma_factor: Gaussian width relative to the feature size.
        kernel_sz: filter size, a number or ``(w, h)``.
        feat_sz: feature-map size, a number or ``(w, h)``.
        image_sz: image size, a number or ``(w, h)``.
        end_pad_if_even: pad even kernel axes by one sample.
        density: normalise each 1-D factor as a density.
        uni_bias: added uniform term; with ``density`` the result is ``(1 - b) * gauss + b / numel``.

    Returns:
        (N, feat_h + pad_y, feat_w + pad_x) labels.
    """
    kw, kh = _pair(kernel_sz)
    fw, fh = _pair(feat_sz)
    iw, ih = _pair(image_sz)
    bb = target_bb.reshape(-1, 4)
    dtype = bb.dtype if bb.is_floating_point() else torch.get_default_dtype()
    bb = bb.to(dtype)
    image_t = torch.tensor([iw, ih], dtype=dtype)
    feat_t = torch.tensor([fw, fh], dtype=dtype)
    odd_shift = 0.5 * torch.tensor([(kw + 1) % 2, (kh + 1) % 2], dtype=dtype)
    center_img = bb[:, 0:2] + 0.5 * bb[:, 2:4]
    center = feat_t * (center_img - image_t / 2) / image_t + odd_shift
    sigma = sigma_factor * math.sqrt(fw * fh)
    end_pad = (int(kw % 2 == 0), int(kh % 2 == 0)) if end_pad_if_even else (0, 0)
    label = gauss_2d((fw, fh), sigma, center, end_pad, density=density)
    if density:
        numel = (fw + end_pad[0]) * (fh + end_pad[1])
        return (1.0 - uni_bias) * label + uni_bias / numel
    return label + uni_bias


# ---------------------------------------------------------------------------------------------------------------
# Gaussian-mixture box sampling (PrDiMP / probabilistic IoU-Net)


def gauss_density_centered(x: torch.Tensor, std: torch.Tensor | float) -> torch.Tensor:
    """Zero-mean normal density ``exp(-x^2 / (2 std^2)) / (sqrt(2 pi) std)``, element-wise (broadcasting)."""
    return torch.exp(-0.5 * (x / std) ** 2) / (math.sqrt(2 * math.pi) * std)


def gmm_density_centered(x: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Density of an equal-weight mixture of zero-mean diagonal Gaussians.

    Args:
        x: (..., D) points, or (..., D, 1).
        std: (D, K) standard deviations of the K components (or any shape (..., D, K) broadcasting with x).

    Returns:
        (...) densities ``mean_k prod_d N(x_d; 0, std_dk)``.
    """
    if x.shape[-1] == std.shape[-2]:
        x = x.unsqueeze(-1)
    elif not (x.shape[-1] == 1 and x.dim() >= 2 and x.shape[-2] == std.shape[-2]):
        raise ValueError(
            f"gmm_density_centered: points of shape {tuple(x.shape)} do not match stds of shape {tuple(std.shape)} "
            "(..., D, K)"
        )
    return gauss_density_centered(x, std).prod(-2).mean(-1)


def sample_gmm_centered(std: torch.Tensor, num_samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of an equal-weight zero-mean Gaussian mixture and their densities.

    Args:
        std: (D, K) standard deviations (D dimensions, K components).
        num_samples: N.

    Returns:
        ``(x, density)``: (N, D) samples and (N,) mixture densities.
    """
    num_components = std.shape[-1]
    num_dims = std.numel() // num_components
    std = std.reshape(1, num_dims, num_components)
    k = torch.randint(num_components, (num_samples,), dtype=torch.int64)
    std_samp = std[0, :, k].t()
    x = std_samp * torch.randn(num_samples, num_dims, dtype=std.dtype)
    return x, gmm_density_centered(x, std)


def sample_gmm(mean: torch.Tensor, std: torch.Tensor, num_samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of an equal-weight Gaussian mixture with a common mean, and their densities.

    Args:
        mean: (D,) mean.
        std: (D, K) standard deviations.
        num_samples: N.

    Returns:
        ``(x, density)``: (N, D) samples and (N,) densities.
    """
    num_dims = mean.numel()
    x_centered, density = sample_gmm_centered(std.reshape(num_dims, -1), num_samples)
    return x_centered + mean.reshape(1, num_dims), density


def sample_box_gmm(
    mean_box: torch.Tensor,
    proposal_sigma: Sequence[tuple[float, float]],
    gt_sigma: tuple[float, float] | None = None,
    num_samples: int = 1,
    add_mean_box: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boxes drawn from a Gaussian mixture around ``mean_box`` in the relative parametrisation of IoU-Net.

    A box ``[x, y, w, h]`` is parametrised as ``[cx / w0, cy / h0, log w, log h]`` (``w0, h0``: the mean box's
    size, see :func:`pytracking.utils.box_ops.rect_to_rel`). Component ``k`` has standard deviation
    ``proposal_sigma[k][0]`` on the centre terms and ``proposal_sigma[k][1]`` on the log-size terms.

    Args:
        mean_box: (4,) box.
        proposal_sigma: per component ``(center_std, size_std)``.
        gt_sigma: ``(center_std, size_std)`` of the label density; ``None`` or zeros give zero ``gt_density``.
        num_samples: N.
        add_mean_box: prepend the mean box itself, with proposal density -1 and gt density 1.

    Returns:
        ``(proposals, proposal_density, gt_density)``: (N, 4) boxes and (N,) densities (N + 1 with the mean box).
    """
    center_std = torch.tensor([float(s[0]) for s in proposal_sigma])
    sz_std = torch.tensor([float(s[1]) for s in proposal_sigma])
    std = torch.stack([center_std, center_std, sz_std, sz_std])  # (4, K)

    mean_box = mean_box.reshape(1, 4).float()
    sz_norm = mean_box[:, 2:].clone()
    rel_centered, proposal_density = sample_gmm_centered(std, num_samples)
    mean_rel = rect_to_rel(mean_box, sz_norm)
    rel = rel_centered + mean_rel
    proposals = rel_to_rect(rel, sz_norm)

    if gt_sigma is None or (gt_sigma[0] == 0 and gt_sigma[1] == 0):
        gt_density = torch.zeros_like(proposal_density)
    else:
        std_gt = torch.tensor([gt_sigma[0], gt_sigma[0], gt_sigma[1], gt_sigma[1]], dtype=rel.dtype).view(1, 4)
        gt_density = gauss_density_centered(rel - mean_rel, std_gt).prod(-1)

    if add_mean_box:
        proposals = torch.cat((mean_box, proposals))
        proposal_density = torch.cat((torch.tensor([-1.0]), proposal_density))
        gt_density = torch.cat((torch.tensor([1.0]), gt_density))
    return proposals, proposal_density, gt_density
