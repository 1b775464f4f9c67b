"""The LWL target model (one convolution layer) together with its few-shot learner."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn as nn

from ltr.models.layers.filter import apply_filter
from pytracking.libs.tensorlist import TensorList

__all__ = ["LinearFilter"]


class LinearFilter(nn.Module):
    """Target model ``T_tau``: a convolution whose filters ``tau`` are predicted per sequence by a few-shot learner.

    Args:
        filter_size: Spatial size of the filters.
        filter_initializer: Module ``(feat, label) -> filter`` giving the initial filters.
        filter_optimizer: Module refining the filters (e.g. ``GNSteepestDescent`` on ``LWTLResidual``), or None.
        feature_extractor: Module mapping backbone features to target-model features, or None (identity). Its
            convolutions are re-initialized with ``N(0, 2 / (k * k * out_channels))`` and zero bias.
        filter_dilation_factors: Optional ``{dilation: count}`` for the filters (see :func:`apply_filter`).
    """

    def __init__(
        self,
        filter_size: int,
        filter_initializer: nn.Module,
        filter_optimizer: nn.Module | None = None,
        feature_extractor: nn.Module | None = None,
        filter_dilation_factors: Mapping[int, int] | None = None,
    ):
        super().__init__()
        self.filter_size = filter_size
        # Registration order fixes the state-dict order: feature_extractor, filter_initializer, filter_optimizer.
        self.feature_extractor = feature_extractor
        self.filter_initializer = filter_initializer
        self.filter_optimizer = filter_optimizer
        self.filter_dilation_factors = filter_dilation_factors

        if feature_extractor is not None:
            for m in feature_extractor.modules():
                if isinstance(m, nn.Conv2d):
                    n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                    m.weight.data.normal_(0, math.sqrt(2.0 / n))
                    if m.bias is not None:
                        m.bias.data.zero_()
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.data.fill_(1)
                    m.bias.data.zero_()

    def forward(
        self, train_feat: torch.Tensor, test_feat: torch.Tensor, train_label: torch.Tensor, *args, **kwargs
    ) -> list[torch.Tensor]:
        """Fit the target model on the training frames and apply every filter iterate to the test frames.

        Args:
            train_feat: Backbone features of the training frames (n_train, n_sequences, C, H, W) or flattened.
            test_feat: Backbone features of the test frames (n_test, n_sequences, C, H, W) or flattened.
            train_label: Label encodings (n_train, n_sequences, n_filters, H', W').
            *args: Further arguments of :meth:`get_filter` (the sample weights).
            **kwargs: Further keyword arguments of :meth:`get_filter`.

        Returns:
            One mask encoding (n_test, n_sequences, n_filters, H', W') per filter iterate.
        """
        if train_label.dim() != 5:
            raise ValueError(f"train_label must be 5-D, got shape {tuple(train_label.shape)}")
        num_sequences = train_label.shape[1]
        train_feat = self.extract_target_model_features(train_feat.reshape(-1, *train_feat.shape[-3:]), num_sequences)
        test_feat = self.extract_target_model_features(test_feat.reshape(-1, *test_feat.shape[-3:]), num_sequences)
        _, filter_iter, _ = self.get_filter(train_feat, train_label, *args, **kwargs)
        return [self.apply_target_model(f, test_feat) for f in filter_iter]

    def extract_target_model_features(self, feat: torch.Tensor, num_sequences: int | None = None) -> torch.Tensor:
        """Target-model features.

        Args:
            feat: Backbone features (B, C, H, W).
            num_sequences: If given, the output is reshaped to (B / num_sequences, num_sequences, C', H, W).

        Returns:
            Features (B, C', H, W), or 5-D as above.
        """
        if self.feature_extractor is None:
            return feat
        output = self.feature_extractor(feat)
        if num_sequences is None:
            return output
        return output.reshape(-1, num_sequences, *output.shape[-3:])

    def apply_target_model(self, weights: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """Mask encodings ``T_tau(x)``.

        Args:
            weights: Filters (n_sequences, n_filters, C, fs, fs).
            feat: Target-model features (n_images, n_sequences, C, H, W).

        Returns:
            Tensor (n_images, n_sequences, n_filters, H, W).
        """
        return apply_filter(feat, weights, dilation_factors=self.filter_dilation_factors)

    def get_filter(
        self,
        feat: torch.Tensor,
        train_label: torch.Tensor,
        train_sw: torch.Tensor | None = None,
        num_objects: int | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list | None]:
        """Few-shot learner: initial filters refined by the optimizer.

        Args:
            feat: Target-model features of the training frames (n_train, n_sequences, C, H, W).
            train_label: Label encodings (n_train, n_sequences, n_filters, H, W).
            train_sw: Spatial sample weights shaped like ``train_label``, or None.
            num_objects: If given, the initial filters are repeated ``num_objects`` times along the filter axis.
            **kwargs: Passed to the optimizer (e.g. ``num_iter``).

        Returns:
            ``(filter, filter_iterates, losses)``: final filters (n_sequences, n_filters, C, fs, fs), all iterates
            (the initial one first) and the optimizer losses (None without optimizer).
        """
        weights = self.filter_initializer(feat, train_label)
        if num_objects is not None:
            weights = weights.repeat(1, num_objects, 1, 1, 1)
        if self.filter_optimizer is None:
            return weights, [weights], None
        weights, weights_iter, losses = self.filter_optimizer(
            TensorList([weights]), feat=feat, label=train_label, sample_weight=train_sw, **kwargs
        )
        return weights[0], [w[0] for w in weights_iter], losses
