"""Initial target-model parameters for LWL."""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["FilterInitializerZero"]


class FilterInitializerZero(nn.Module):
    """All-zero initial filters; the few-shot learner then fits them from scratch. Holds no parameters.

    Args:
        filter_size: Spatial size ``fs`` of the (square) filters.
        num_filters: Number of filters (output channels of the target model).
        feature_dim: Channels of the target-model features.
        filter_groups: Channel groups; each filter spans ``feature_dim // filter_groups`` channels.
    """

    def __init__(self, filter_size: int = 1, num_filters: int = 1, feature_dim: int = 256, filter_groups: int = 1):
        super().__init__()
        self.filter_size = (num_filters, feature_dim // filter_groups, filter_size, filter_size)

    def forward(self, feat: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Zero filters for every sequence.

        Args:
            feat: Training features (n_images, n_sequences, C, H, W).
            mask: Training labels; unused.

        Returns:
            Tensor (n_sequences, num_filters, C // filter_groups, fs, fs) of zeros, dtype/device of ``feat``.
        """
        if feat.dim() != 5:
            raise ValueError(f"feat must be (n_images, n_sequences, C, H, W), got shape {tuple(feat.shape)}")
        return feat.new_zeros(feat.shape[1], *self.filter_size)
