"""Helpers of the KYS tracker and its training: feature-map translation and DiMP score jittering."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["shift_features", "CenterShiftFeatures", "DiMPScoreJittering"]


def shift_features(feat: torch.Tensor, relative_translation_vector: torch.Tensor) -> torch.Tensor:
    """Translate feature maps by bilinear resampling.

    The output at normalised position ``(x, y)`` samples the input at ``(x + t_x, y + t_y)``, in the
    ``align_corners=False`` convention (the map spans [-1, 1], so one cell is ``2 / W`` wide); samples outside the
    map are zero.

    Args:
        feat: Feature maps (N, C, H, W).
        relative_translation_vector: Translations ``(t_x, t_y)`` in normalised coordinates, N*2 elements.

    Returns:
        The shifted maps (N, C, H, W).
    """
    num = feat.shape[0]
    theta = torch.eye(2, 3, dtype=feat.dtype, device=feat.device).repeat(num, 1, 1)
    theta[:, :, 2] = relative_translation_vector.reshape(num, 2).to(feat.dtype)
    grid = F.affine_grid(theta, list(feat.shape), align_corners=False)
    return F.grid_sample(feat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class CenterShiftFeatures(nn.Module):
    """Translate feature maps so that the target centre moves to the map centre.

    Args:
        feature_stride: Image pixels per feature cell.
    """

    def __init__(self, feature_stride: int | float):
        super().__init__()
        self.feature_stride = feature_stride

    def forward(self, feat: torch.Tensor, anno: torch.Tensor) -> torch.Tensor:
        """Centre the target.

        Args:
            feat: Feature maps (N, C, H, W).
            anno: Target boxes ``[x, y, w, h]`` in image pixels, N*4 elements.

        Returns:
            The shifted maps (N, C, H, W).
        """
        anno = anno.reshape(-1, 4)
        center_x = (anno[:, 0] + 0.5 * anno[:, 2]) / self.feature_stride
        center_y = (anno[:, 1] + 0.5 * anno[:, 3]) / self.feature_stride
        width, height = feat.shape[-1], feat.shape[-2]
        shift = torch.stack((2.0 * center_x / width - 1.0, 2.0 * center_y / height - 1.0), dim=1)
        return shift_features(feat, shift)


class DiMPScoreJittering:
    """Randomly corrupt DiMP score maps during training: enhance the strongest distractor peak or zero the map.

    For each map, with probability ``p_distractor`` and if the strongest score in the background (label < 1e-4)
    exceeds ``distractor_ratio`` times the strongest score on the target (label > 0.2), the background peak is set
    to ``U(min_distractor_enhance_factor, max_distractor_enhance_factor)`` times the target peak. Otherwise, with
    probability ``p_zero``, the whole map is set to zero. Corrupted maps carry no gradient.

    Args:
        p_zero: Probability of zeroing a map.
        distractor_ratio: Minimum background-to-target peak ratio for enhancing the distractor.
        p_distractor: Probability of enhancing the distractor.
        max_distractor_enhance_factor: Upper factor of the new distractor peak (relative to the target peak).
        min_distractor_enhance_factor: Lower factor of the new distractor peak.
    """

    def __init__(
        self,
        p_zero: float = 0.0,
        distractor_ratio: float = 1.0,
        p_distractor: float = 0.0,
        max_distractor_enhance_factor: float = 1.0,
        min_distractor_enhance_factor: float = 0.75,
    ):
        self.p_zero = p_zero
        self.distractor_ratio = distractor_ratio
        self.p_distractor = p_distractor
        self.max_distractor_enhance_factor = max_distractor_enhance_factor
        self.min_distractor_enhance_factor = min_distractor_enhance_factor

    def __call__(self, score: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Jitter score maps.

        Args:
            score: Score maps (..., H, W).
            label: Target labels with the same number of elements (Gaussian-like, 1 at the target centre).

        Returns:
            The jittered maps, shaped like ``score``.
        """
        shape = score.shape
        flat = score.reshape(-1, shape[-2] * shape[-1])
        num_maps = flat.shape[0]
        label = label.reshape(flat.shape)

        detached = flat.detach()
        target_max = (detached * (label > 0.2).to(flat.dtype)).max(dim=1)[0]
        distractor_max, distractor_idx = (detached * (label < 1e-4).to(flat.dtype)).max(dim=1)

        jitter = (torch.rand(num_maps, device=flat.device) < self.p_distractor) & (
            distractor_max / target_max > self.distractor_ratio
        )
        low = target_max * self.min_distractor_enhance_factor
        high = target_max * self.max_distractor_enhance_factor
        new_peak = low + torch.rand(num_maps, device=flat.device, dtype=flat.dtype) * (high - low)
        corrupted = detached.clone()
        corrupted[torch.arange(num_maps, device=flat.device), distractor_idx] = new_peak

        zero = (torch.rand(num_maps, device=flat.device) < self.p_zero) & ~jitter
        corrupted[zero] = 0

        replace = (jitter | zero).view(num_maps, 1)
        return torch.where(replace, corrupted, flat).reshape(shape)
