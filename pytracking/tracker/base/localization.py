"""Target localisation in correlation score maps, shared by the ATOM, DiMP and KYS trackers.

Score maps are ``(S, 1, H, W)`` (or ``(S, H, W)``), one per search scale; cell ``(i, j)`` lies
``(i - (H - 1) / 2, j - (W - 1) / 2)`` cells from the centre of the sampled patch, and one cell spans ``cell``
image pixels at sample scale 1 (``img_support_sz / score_sz``). Positions are ``[y, x]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from pytracking.libs import dcf

__all__ = ["FLAGS", "LocalizationThresholds", "localize_advanced", "localize_simple"]

FLAGS = ("normal", "not_found", "uncertain", "hard_negative")
"""Localisation outcomes: trackers skip the model update on ``not_found``/``uncertain`` and learn faster on
``hard_negative`` (a distractor was seen)."""


@dataclass(frozen=True)
class LocalizationThresholds:
    """Thresholds of :func:`localize_advanced` (the trackers' parameter names; relative ones are to the main peak).

    ``target_not_found_threshold``: below it the target is lost. ``uncertain_threshold`` and
    ``hard_sample_threshold``: optional absolute bounds flagging the peak as uncertain / hard (off by default).
    ``distractor_threshold``: a second peak above this fraction of the first one is a distractor.
    ``hard_negative_threshold``: a second peak above this fraction (and above not-found) is a hard negative.
    ``target_neighborhood_scale``: size, in target sizes, of the region around the main peak that is masked before
    looking for the second one. ``dispalcement_scale`` (sic, the original name): a peak further than this times half
    the map's diagonal-free extent ``sqrt(H * W) / 2`` cells from the previous position is considered a jump.
    """

    target_not_found_threshold: float = 0.25
    uncertain_threshold: float = -math.inf
    hard_sample_threshold: float = -math.inf
    distractor_threshold: float = 0.8
    hard_negative_threshold: float = 0.5
    target_neighborhood_scale: float = 2.2
    dispalcement_scale: float = 0.8

    @classmethod
    def param_defaults(cls) -> dict[str, float]:
        """The defaults as tracker parameters (same names), for a tracker's ``DEFAULTS``."""
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def from_params(cls, params) -> LocalizationThresholds:
        """Read the thresholds from a tracker's parameters (missing optional ones keep their defaults)."""
        values = {}
        for name in cls.__dataclass_fields__:
            value = params.get(name, None) if hasattr(params, "get") else getattr(params, name, None)
            if value is not None:
                values[name] = float(value)
        return cls(**values)


def localize_simple(
    scores: torch.Tensor, sample_scales: torch.Tensor, cell: torch.Tensor
) -> tuple[torch.Tensor, int, str]:
    """The highest peak over all scales.

    Args:
        scores: score maps (S, 1, H, W) or (S, H, W).
        sample_scales: (S,) scale of each sampled patch.
        cell: (2,) image pixels per score cell at scale 1, ``[y, x]``.

    Returns:
        ``(translation (2,) [dy, dx] in image pixels from the patch centre, scale index, 'normal')``.
    """
    sz = scores.shape[-2:]
    maps = scores.reshape(-1, *sz)
    max_score, max_disp = dcf.max2d(maps)
    scale_ind = int(torch.argmax(max_score))
    centre = (torch.tensor(sz, dtype=torch.float32) - 1) / 2
    disp = max_disp[scale_ind].float().cpu() - centre
    return disp * cell * sample_scales[scale_ind].cpu(), scale_ind, "normal"


def localize_advanced(
    scores: torch.Tensor,
    sample_pos: torch.Tensor,
    sample_scales: torch.Tensor,
    pos: torch.Tensor,
    target_sz: torch.Tensor,
    cell: torch.Tensor,
    thresholds: LocalizationThresholds,
    hn_scores: torch.Tensor | None = None,
) -> tuple[torch.Tensor, int, str]:
    """Peak localisation with not-found, distractor and hard-negative detection.

    The main peak gives the translation. Its neighbourhood (``target_neighborhood_scale`` target sizes) is masked
    and the strongest remaining peak compared with it: a strong second peak is a distractor; when exactly one of
    the two peaks is near the previous position, that one is taken and the frame is a hard negative, otherwise the
    frame is uncertain.

    Args:
        scores: score maps (S, 1, H, W) or (S, H, W) used to find the main peak.
        sample_pos: (S, 2) centres ``[y, x]`` of the sampled patches in image pixels.
        sample_scales: (S,) their scales.
        pos: (2,) previous target position ``[y, x]``.
        target_sz: (2,) target size ``[h, w]`` in image pixels.
        cell: (2,) image pixels per score cell at scale 1.
        thresholds: see :class:`LocalizationThresholds`.
        hn_scores: maps searched for the second peak (default ``scores``); trackers pass the un-windowed maps
            when the window must not hide distractors.

    Returns:
        ``(translation (2,) [dy, dx] in image pixels from the chosen patch's centre, scale index, flag)`` with the
        flag one of :data:`FLAGS`.
    """
    t = thresholds
    sz = scores.shape[-2:]
    centre = (torch.tensor(sz, dtype=torch.float32) - 1) / 2
    maps = scores.reshape(-1, *sz)
    max_score1, max_disp1 = dcf.max2d(maps)
    scale_ind = int(torch.argmax(max_score1))
    sample_scale = float(sample_scales[scale_ind])
    max_score1 = float(max_score1[scale_ind])
    max_disp1 = max_disp1[scale_ind].float().cpu()
    target_disp1 = max_disp1 - centre
    translation1 = target_disp1 * cell * sample_scale

    if max_score1 < t.target_not_found_threshold:
        return translation1, scale_ind, "not_found"
    if max_score1 < t.uncertain_threshold:
        return translation1, scale_ind, "uncertain"
    if max_score1 < t.hard_sample_threshold:
        return translation1, scale_ind, "hard_negative"

    neigh = t.target_neighborhood_scale * (target_sz.float().cpu() / sample_scale) / cell
    top = max(round(float(max_disp1[0] - neigh[0] / 2)), 0)
    bottom = min(round(float(max_disp1[0] + neigh[0] / 2 + 1)), sz[0])
    left = max(round(float(max_disp1[1] - neigh[1] / 2)), 0)
    right = min(round(float(max_disp1[1] + neigh[1] / 2 + 1)), sz[1])
    masked = (scores if hn_scores is None else hn_scores).reshape(-1, *sz)[scale_ind].clone()
    masked[top:bottom, left:right] = 0
    max_score2, max_disp2 = dcf.max2d(masked)
    max_score2 = float(max_score2)
    target_disp2 = max_disp2.float().cpu() - centre
    translation2 = target_disp2 * cell * sample_scale

    if max_score2 > t.distractor_threshold * max_score1:
        prev_disp = (pos.float().cpu() - sample_pos[scale_ind].float().cpu()) / (cell * sample_scale)
        norm1 = float(torch.linalg.norm(target_disp1 - prev_disp))
        norm2 = float(torch.linalg.norm(target_disp2 - prev_disp))
        threshold = t.dispalcement_scale * math.sqrt(sz[0] * sz[1]) / 2
        if norm2 > threshold and norm1 < threshold:
            return translation1, scale_ind, "hard_negative"
        if norm2 < threshold and norm1 > threshold:
            return translation2, scale_ind, "hard_negative"
        return translation1, scale_ind, "uncertain"

    if max_score2 > t.hard_negative_threshold * max_score1 and max_score2 > t.target_not_found_threshold:
        return translation1, scale_ind, "hard_negative"
    return translation1, scale_ind, "normal"
