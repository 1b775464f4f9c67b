"""One-pass-evaluation (OPE) measures as pure numpy functions: per-frame errors, curves and summary scores.

Two protocols are implemented; their names are the values of ``protocol`` throughout :mod:`pytracking.analysis`.

``'pytracking'`` (default) reproduces the original library's ``extract_results`` / ``print_results``:

* The frame-0 prediction is replaced by the ground truth, and frame 0 counts.
* A frame is *valid* when all four ground-truth values are ``> 0`` (a box touching ``x = 0`` or ``y = 0`` is
  invalid, as in the original) and the target is visible (when visibility is known).
* Overlap is the pixel-inclusive IoU (:func:`pytracking.utils.box_ops.iou_xywh`, bit-compatible with the original);
  centres are ``xy + (wh - 1) / 2``; the normalised error divides both centres by the ground-truth size first.
* Invalid frames get overlap ``-1`` (a failure at every threshold), normalised error ``-1`` (a success) and centre
  error ``+inf`` (a failure) or ``-1`` (a success) when ``invalid_center_error=-1`` (the original's UAV choice).
  With ``absent_center_error_inf`` (the original's LaSOT choice) frames with an invisible target get ``+inf``
  in both centre errors.
* Curves divide by the number of ground-truth frames, or by the number of valid frames with
  ``exclude_invalid_frames``; dataset curves average sequences with equal weight; AUC is the mean of the success
  curve over its thresholds.
* Thresholds: overlap ``torch.arange(0, 1 + gap, gap)`` in float64 (computed with torch because its values differ
  from numpy's in the last bit at 0.65 and 0.75, and those bits decide ``IoU > t`` ties); centre 0..50 px;
  normalised centre 0.00..0.50.

``'got10k'`` follows the GOT-10k toolkit's ``ExperimentGOT10k`` (``got10k/experiments/got10k.py`` and
``got10k/utils/metrics.py:rect_iou``):

* Frame 0 is dropped, as are frames whose target is absent (the toolkit's ``cover == 0``) and, an extension for
  benchmarks like UAV123, ground-truth rows holding NaN (the toolkit's UAV123/LaSOT experiments drop those).
* IoU is continuous: ``inter / (union + eps)`` clipped to ``[0, 1]``, with ``eps = np.finfo(float).eps``. With a
  ``bound = (width, height)`` both boxes are first clipped the toolkit's way: ``x`` to ``[0, W]``, then ``w`` to
  ``[0, W - x]`` (this is not the intersection with the image: a box starting left of the image keeps its width).
* AO is the mean IoU over the kept frames of all sequences pooled (and all runs, when runs are merged), so
  longer sequences weigh more; SR_t is the pooled fraction of frames with ``IoU > t``. Here that pooling is done
  by weighting each sequence's mean/curve by its number of kept frames (see :func:`average_curves`).
* Centre errors are not part of the GOT-10k protocol; they are computed on the kept frames with the toolkit's
  LaSOT-experiment conventions (normalised error: per-axis offset divided by ``max(1, gt size)``).
* The toolkit asserts equal lengths; here a longer prediction is truncated and a shorter one is an error. NaN
  predictions are an error (the toolkit would return a NaN AO); negative sizes are accepted as the toolkit does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytracking.utils.box_ops import iou_xywh

__all__ = [
    "PROTOCOLS",
    "THRESHOLD_TOLERANCE",
    "DATASET_OPTIONS",
    "SequenceErrors",
    "overlap_thresholds",
    "center_thresholds",
    "norm_center_thresholds",
    "center_errors",
    "pytracking_sequence_errors",
    "got10k_iou",
    "got10k_sequence_errors",
    "sequence_errors",
    "success_curve",
    "precision_curve",
    "sequence_curves",
    "average_curves",
    "auc",
    "curve_value_at",
]

PROTOCOLS = ("pytracking", "got10k")

# Thresholds are float64 values of an arange: 0.75 is 0.7500000000000001 there, so the original's exact
# comparison found no OP75 entry. Any tolerance far below the bin gap and far above one ulp works.
THRESHOLD_TOLERANCE = 1e-9

# The original's per-dataset special cases (chosen there by the dataset's name), as explicit options of
# pytracking_sequence_errors. Keys are Sequence.dataset tags.
DATASET_OPTIONS: dict[str, dict[str, Any]] = {
    "uav": {"allow_nan_gt": True, "invalid_center_error": -1.0},
    "lasot": {"strict_length": True, "absent_center_error_inf": True},
}


@dataclass
class SequenceErrors:
    """Per-frame errors of one sequence.

    Attributes:
        overlap: (M,) IoU per evaluated frame (``-1`` on invalid frames under the pytracking protocol).
        center: (M,) centre-location error in pixels.
        center_norm: (M,) centre error normalised by the ground-truth size.
        valid: (M,) bool, frames with a usable ground truth (all True under the got10k protocol, which drops the
            others).
        num_frames: the curve denominator when invalid frames are not excluded (M; the GT length for pytracking).
    """

    overlap: np.ndarray
    center: np.ndarray
    center_norm: np.ndarray
    valid: np.ndarray
    num_frames: int


def _where(source: str) -> str:
    return f" in '{source}'" if source else ""


def overlap_thresholds(bin_gap: float = 0.05) -> np.ndarray:
    """Overlap thresholds ``arange(0, 1 + bin_gap, bin_gap)`` in float64, bit-identical to the original's.

    Args:
        bin_gap: spacing of the thresholds (0.05 gives 21 values, 0.01 gives 101).

    Returns:
        (T,) float64 thresholds.
    """
    if not 0 < bin_gap <= 1:
        raise ValueError(f"overlap_thresholds: bin_gap must be in (0, 1], got {bin_gap}")
    import torch  # only for its arange values (see the module docstring); torch is a dependency anyway

    return torch.arange(0.0, 1.0 + bin_gap, bin_gap, dtype=torch.float64).numpy()


def center_thresholds() -> np.ndarray:
    """Centre-error thresholds 0, 1, ..., 50 pixels as a (51,) float64 array."""
    return np.arange(0, 51, dtype=np.float64)


def norm_center_thresholds() -> np.ndarray:
    """Normalised centre-error thresholds 0.00, 0.01, ..., 0.50 as a (51,) float64 array."""
    return np.arange(0, 51, dtype=np.float64) / 100.0


def center_errors(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Euclidean distance between the pixel-inclusive centres ``xy + (wh - 1) / 2`` of two box arrays.

    Args:
        pred: (N, 4) predicted boxes ``[x, y, w, h]``.
        gt: (N, 4) ground-truth boxes.
        normalized: divide both centres by the ground-truth ``(w, h)`` before subtracting (original's order).

    Returns:
        (N,) float64 errors; ``inf``/``nan`` where a normalising size is 0 or NaN.
    """
    # Invalid frames (zero-size GT: inf - inf) give NaN here; callers mask them with their valid-frame rule.
    with np.errstate(divide="ignore", invalid="ignore"):
        pc = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0)
        gc = gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
        if normalized:
            pc = pc / gt[:, 2:]
            gc = gc / gt[:, 2:]
        d = pc - gc
        return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])


def _as_boxes(a: Any, what: str, source: str) -> np.ndarray:
    b = np.array(a, dtype=np.float64, copy=True)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{what} must have shape (N, 4), got {b.shape}{_where(source)}")
    return b


def _visibility(target_visible: Any, n: int, source: str) -> np.ndarray | None:
    if target_visible is None:
        return None
    v = np.asarray(target_visible).astype(bool).reshape(-1)
    if v.shape[0] != n:
        raise ValueError(f"target_visible has {v.shape[0]} entries for {n} ground-truth frames{_where(source)}")
    return v


def pytracking_sequence_errors(
    pred: Any,
    gt: Any,
    target_visible: Any = None,
    *,
    allow_nan_gt: bool = False,
    strict_length: bool = False,
    invalid_center_error: float = float("inf"),
    absent_center_error_inf: bool = False,
    source: str = "",
) -> SequenceErrors:
    """Per-frame errors under the ``'pytracking'`` protocol (the original's ``calc_seq_err_robust``).

    Steps, in the original's order: NaN predictions or negative predicted sizes are an error; NaN ground truth
    is an error unless ``allow_nan_gt``; a prediction with a zero width or height is replaced by the previous
    frame's (already repaired) prediction where that frame's ground truth holds no NaN; a longer prediction is
    truncated, a shorter one is zero-padded (an error with ``strict_length``); frame 0 is set to the ground
    truth. See the module docstring for validity and the values given to invalid frames.

    Args:
        pred: (Np, 4) predicted boxes ``[x, y, w, h]``.
        gt: (N, 4) ground-truth boxes.
        target_visible: (N,) visibility flags, or None when the dataset has none.
        allow_nan_gt: accept NaN rows in the ground truth (they are invalid frames). The original: UAV123.
        strict_length: a prediction shorter than the ground truth is an error. The original: LaSOT.
        invalid_center_error: centre error given to invalid frames (``inf``: failure; ``-1``: success, UAV).
        absent_center_error_inf: frames whose target is not visible get ``inf`` in both centre errors (LaSOT).
        source: file name used in error messages.

    Returns:
        :class:`SequenceErrors` over the N ground-truth frames.

    Raises:
        ValueError: invalid predictions or annotations, or a length mismatch with ``strict_length``.
    """
    pred = _as_boxes(pred, "prediction", source)
    gt = _as_boxes(gt, "ground truth", source)
    n = gt.shape[0]
    if n == 0:
        raise ValueError(f"empty ground truth{_where(source)}")
    visible = _visibility(target_visible, n, source)
    if np.isnan(pred).any() or (pred[:, 2:] < 0.0).any():
        raise ValueError(f"invalid tracking results (NaN values or negative sizes){_where(source)}")
    gt_nan = np.isnan(gt).any(axis=1)
    if gt_nan.any() and not allow_nan_gt:
        raise ValueError(f"NaN values in the ground truth (pass allow_nan_gt=True to accept them){_where(source)}")

    if pred.shape[0] > n:
        pred = pred[:n]
    elif pred.shape[0] < n and strict_length:
        raise ValueError(f"prediction has {pred.shape[0]} frames, ground truth {n}{_where(source)}")

    # Sequential on purpose: a run of empty boxes inherits the last non-empty one.
    empty = (pred[:, 2:] == 0.0).any(axis=1)
    if empty[1:].any():
        for i in np.flatnonzero(empty[1:]) + 1:
            if not gt_nan[i]:
                pred[i] = pred[i - 1]

    if pred.shape[0] < n:
        pred = np.concatenate([pred, np.zeros((n - pred.shape[0], 4))], axis=0)
    pred[0] = gt[0]

    valid = (gt > 0.0).sum(axis=1) == 4
    if visible is not None:
        valid &= visible

    overlap = iou_xywh(pred, gt, inclusive=True)
    center = center_errors(pred, gt)
    center_norm = center_errors(pred, gt, normalized=True)
    overlap[~valid] = -1.0
    center[~valid] = invalid_center_error
    center_norm[~valid] = -1.0
    if absent_center_error_inf and visible is not None:
        center[~visible] = np.inf
        center_norm[~visible] = np.inf
    if np.isnan(overlap).any():
        raise ValueError(f"NaN in the computed overlaps{_where(source)}")
    return SequenceErrors(overlap, center, center_norm, valid, n)


def got10k_iou(pred: np.ndarray, gt: np.ndarray, bound: tuple[float, float] | None = None) -> np.ndarray:
    """The GOT-10k toolkit's ``rect_iou``: continuous IoU ``inter / (union + eps)`` clipped to ``[0, 1]``.

    Args:
        pred: (N, 4) boxes ``[x, y, w, h]``.
        gt: (N, 4) boxes.
        bound: image ``(width, height)``; when given both box arrays are clipped the toolkit's way first.

    Returns:
        (N,) float64 IoU values.
    """
    pred = np.array(pred, dtype=np.float64, copy=True)
    gt = np.array(gt, dtype=np.float64, copy=True)
    if bound is not None:
        bw, bh = float(bound[0]), float(bound[1])
        for r in (pred, gt):
            r[:, 0] = np.clip(r[:, 0], 0.0, bw)
            r[:, 1] = np.clip(r[:, 1], 0.0, bh)
            r[:, 2] = np.clip(r[:, 2], 0.0, bw - r[:, 0])
            r[:, 3] = np.clip(r[:, 3], 0.0, bh - r[:, 1])
    x1 = np.maximum(pred[:, 0], gt[:, 0])
    y1 = np.maximum(pred[:, 1], gt[:, 1])
    x2 = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
    y2 = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
    inter = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def got10k_sequence_errors(
    pred: Any,
    gt: Any,
    target_visible: Any = None,
    *,
    bound: tuple[float, float] | None = None,
    source: str = "",
) -> SequenceErrors:
    """Per-frame errors under the ``'got10k'`` protocol, over the kept frames only (see the module docstring).

    Args:
        pred: (Np, 4) predicted boxes ``[x, y, w, h]``; Np >= N.
        gt: (N, 4) ground-truth boxes; NaN rows are dropped.
        target_visible: (N,) visibility (GOT-10k's ``cover > 0``), or None.
        bound: image ``(width, height)`` to clip the boxes to, as the toolkit does for GOT-10k.
        source: file name used in error messages.

    Returns:
        :class:`SequenceErrors` over the kept frames (frame 0, absent and NaN-GT frames removed).

    Raises:
        ValueError: NaN predictions or a prediction shorter than the ground truth.
    """
    pred = _as_boxes(pred, "prediction", source)
    gt = _as_boxes(gt, "ground truth", source)
    n = gt.shape[0]
    visible = _visibility(target_visible, n, source)
    if np.isnan(pred).any():
        raise ValueError(f"invalid tracking results (NaN values){_where(source)}")
    if pred.shape[0] < n:
        raise ValueError(f"prediction has {pred.shape[0]} frames, ground truth {n}{_where(source)}")
    pred = pred[:n]
    keep = ~np.isnan(gt).any(axis=1)
    if visible is not None:
        keep &= visible
    keep[:1] = False
    pred, gt = pred[keep], gt[keep]

    overlap = got10k_iou(pred, gt, bound)
    center = center_errors(pred, gt)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = ((pred[:, :2] + pred[:, 2:] / 2) - (gt[:, :2] + gt[:, 2:] / 2)) / np.maximum(gt[:, 2:], 1.0)
    center_norm = np.sqrt((d * d).sum(axis=1))
    return SequenceErrors(overlap, center, center_norm, np.ones(len(overlap), dtype=bool), len(overlap))


def sequence_errors(
    pred: Any,
    gt: Any,
    target_visible: Any = None,
    protocol: str = "pytracking",
    options: Mapping[str, Any] | None = None,
    source: str = "",
) -> SequenceErrors:
    """Dispatch to :func:`pytracking_sequence_errors` or :func:`got10k_sequence_errors`.

    Args:
        pred: (Np, 4) predicted boxes.
        gt: (N, 4) ground-truth boxes.
        target_visible: (N,) visibility flags or None.
        protocol: ``'pytracking'`` or ``'got10k'``.
        options: keyword options of the protocol's function (e.g. ``allow_nan_gt`` or ``bound``).
        source: file name used in error messages.

    Returns:
        :class:`SequenceErrors`.
    """
    options = dict(options or {})
    if protocol == "pytracking":
        return pytracking_sequence_errors(pred, gt, target_visible, source=source, **options)
    if protocol == "got10k":
        return got10k_sequence_errors(pred, gt, target_visible, source=source, **options)
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")


def success_curve(overlap: np.ndarray, thresholds: np.ndarray, denominator: float | None = None) -> np.ndarray:
    """Fraction of frames with overlap strictly greater than each threshold.

    Args:
        overlap: (M,) overlaps.
        thresholds: (T,) thresholds.
        denominator: divisor (default M); 0 gives a zero curve.

    Returns:
        (T,) float64 curve.
    """
    counts = (overlap[:, None] > thresholds[None, :]).sum(axis=0)
    return _fraction(counts, len(overlap) if denominator is None else denominator)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray, denominator: float | None = None) -> np.ndarray:
    """Fraction of frames with a centre error less than or equal to each threshold.

    Args:
        errors: (M,) centre errors.
        thresholds: (T,) thresholds.
        denominator: divisor (default M); 0 gives a zero curve.

    Returns:
        (T,) float64 curve.
    """
    counts = (errors[:, None] <= thresholds[None, :]).sum(axis=0)
    return _fraction(counts, len(errors) if denominator is None else denominator)


def _fraction(counts: np.ndarray, denominator: float) -> np.ndarray:
    if denominator <= 0:
        return np.zeros(counts.shape, dtype=np.float64)
    return counts.astype(np.float64) / float(denominator)


def sequence_curves(
    errors: SequenceErrors,
    thr_overlap: np.ndarray,
    thr_center: np.ndarray,
    thr_center_norm: np.ndarray,
    exclude_invalid_frames: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """Success, precision and normalised-precision curves of one sequence, its mean overlap and frame count.

    Args:
        errors: the sequence's per-frame errors.
        thr_overlap: (T,) overlap thresholds.
        thr_center: (C,) centre thresholds.
        thr_center_norm: (C',) normalised-centre thresholds.
        exclude_invalid_frames: divide by the number of valid frames instead of ``errors.num_frames``.

    Returns:
        ``(success (T,), precision (C,), norm_precision (C',), mean overlap over valid frames (NaN if none),
        denominator)``.
    """
    n_valid = int(errors.valid.sum())
    denominator = n_valid if exclude_invalid_frames else errors.num_frames
    mean_overlap = float(errors.overlap[errors.valid].mean()) if n_valid else float("nan")
    return (
        success_curve(errors.overlap, thr_overlap, denominator),
        precision_curve(errors.center, thr_center, denominator),
        precision_curve(errors.center_norm, thr_center_norm, denominator),
        mean_overlap,
        denominator,
    )


def average_curves(values: np.ndarray, valid_sequence: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Average per-sequence values over the valid sequences (axis 0).

    Args:
        values: (S, ...) per-sequence curves or scalars (e.g. (S, K, T) curves for K trackers).
        valid_sequence: (S,) bool.
        weights: None for equal sequence weights (pytracking); or (S, ...) weights broadcastable to ``values``,
            e.g. frame counts (S, K) to pool frames as the GOT-10k toolkit does. NaN values with zero weight are
            ignored.

    Returns:
        The average, of shape ``values.shape[1:]``.
    """
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(valid_sequence, dtype=bool)
    v = values[mask]
    if weights is None:
        return v.mean(axis=0) if len(v) else np.full(values.shape[1:], np.nan)
    w = np.asarray(weights, dtype=np.float64)[mask]
    w = w.reshape(w.shape + (1,) * (v.ndim - w.ndim))
    w = np.broadcast_to(w, v.shape)
    total = w.sum(axis=0)
    num = np.where(w > 0, v * w, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, num / np.where(total > 0, total, 1.0), np.nan)


def auc(curve: np.ndarray) -> np.ndarray:
    """Area under a success curve as the mean over its thresholds (last axis), in ``[0, 1]``."""
    return np.asarray(curve, dtype=np.float64).mean(axis=-1)


def curve_value_at(
    curve: np.ndarray, thresholds: np.ndarray, value: float, tolerance: float = THRESHOLD_TOLERANCE
) -> np.ndarray:
    """The curve's entry (last axis) at the threshold equal to ``value`` within ``tolerance``.

    Args:
        curve: (..., T) curves.
        thresholds: (T,) thresholds.
        value: the threshold wanted, e.g. 0.75 for OP75.
        tolerance: absolute tolerance of the threshold match.

    Returns:
        Array of shape ``curve.shape[:-1]``.

    Raises:
        ValueError: no threshold matches.
    """
    idx = np.flatnonzero(np.abs(np.asarray(thresholds, dtype=np.float64) - value) <= tolerance)
    if len(idx) == 0:
        raise ValueError(f"no threshold equals {value} (tolerance {tolerance}); thresholds: {list(thresholds)}")
    return np.asarray(curve, dtype=np.float64)[..., idx[0]]
