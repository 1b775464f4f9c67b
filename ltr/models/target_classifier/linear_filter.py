"""The DiMP target model: a linear (correlation) filter predicted from training frames.

``LinearFilter`` chains a classification feature block, a filter initializer and a filter optimizer. Its children
are registered in the order ``filter_initializer``, ``filter_optimizer``, ``feature_extractor``, which is the key
order of the official checkpoints (``classifier.filter_initializer.*`` first).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ltr.models.layers.filter import apply_filter

__all__ = ["LinearFilter"]


class LinearFilter(nn.Module):
    """Target classification by a per-sequence linear filter learned on the training frames.

    ``__init__`` re-initialises the feature block: convolutions ``N(0, sqrt(2 / (k_h * k_w * out_channels)))`` with
    zero bias, batch norms weight 1 and bias 0. The initializer and optimizer keep their own initialisation (a
    zero-initialised ``filter_conv`` must stay zero).

    Args:
        filter_size: Side of the filter.
        filter_initializer: Module ``(feat, bb) -> filter`` (see ``initializer.py``).
        filter_optimizer: Module ``(weights, feat, bb, ...) -> (weights, iterates, losses)`` or ``None`` (the
            initial filter is used as is).
        feature_extractor: Classification feature block applied to backbone features, or ``None`` (identity).
    """

    def __init__(
        self,
        filter_size: int,
        filter_initializer: nn.Module,
        filter_optimizer: nn.Module | None = None,
        feature_extractor: nn.Module | None = None,
    ):
        super().__init__()
        self.filter_size = filter_size
        self.filter_initializer = filter_initializer
        self.filter_optimizer = filter_optimizer
        self.feature_extractor = feature_extractor

        if self.feature_extractor is not None:
            for m in self.feature_extractor.modules():
                if isinstance(m, nn.Conv2d):
                    n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                    m.weight.data.normal_(0.0, math.sqrt(2.0 / n))
                    if m.bias is not None:
                        m.bias.data.zero_()
                elif isinstance(m, nn.BatchNorm2d):
                    m.weight.data.fill_(1.0)
                    m.bias.data.zero_()

    def forward(
        self, train_feat: torch.Tensor, test_feat: torch.Tensor, train_bb: torch.Tensor, *args, **kwargs
    ) -> list[torch.Tensor]:
        """Learn the filter on the training frames and classify the test frames with every iterate.

        Args:
            train_feat: Backbone features of the training frames, (n_train * n_sequences, C, H, W) in
                (image-major, sequence-minor) order, or (n_train, n_sequences, C, H, W).
            test_feat: Backbone features of the test frames, same layout with n_test images.
            train_bb: Target boxes (n_train, n_sequences, 4), ``[x, y, w, h]`` in image pixels.
            *args: Passed to the optimizer (e.g. ``sample_weight``, ``num_iter``).
            **kwargs: Passed to the optimizer.

        Returns:
            Test scores (n_test, n_sequences, H', W') for each filter iterate (initial filter first).
        """
        if train_bb.dim() != 3:
            raise ValueError(f"train_bb must be (n_train, n_sequences, 4), got shape {tuple(train_bb.shape)}")
        num_sequences = train_bb.shape[1]
        if train_feat.dim() == 5:
            train_feat = train_feat.reshape(-1, *train_feat.shape[-3:])
        if test_feat.dim() == 5:
            test_feat = test_feat.reshape(-1, *test_feat.shape[-3:])

        train_feat = self.extract_classification_feat(train_feat, num_sequences)
        test_feat = self.extract_classification_feat(test_feat, num_sequences)

        _, filter_iter, _ = self.get_filter(train_feat, train_bb, *args, **kwargs)
        return [self.classify(f, test_feat) for f in filter_iter]

    def extract_classification_feat(self, feat: torch.Tensor, num_sequences: int | None = None) -> torch.Tensor:
        """Apply the classification feature block.

        Args:
            feat: Backbone features (B, C, H, W).
            num_sequences: If given, the output is reshaped to (B / num_sequences, num_sequences, C', H', W').

        Returns:
            Classification features (B, C', H', W') or the reshaped 5-D tensor.
        """
        output = feat if self.feature_extractor is None else self.feature_extractor(feat)
        if num_sequences is None:
            return output
        return output.reshape(-1, num_sequences, *output.shape[-3:])

    def classify(self, weights: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        """Apply the filters.

        Args:
            weights: Filters (n_sequences, C, fs, fs).
            feat: Classification features (n_images, n_sequences, C, H, W).

        Returns:
            Scores (n_images, n_sequences, H', W').
        """
        return apply_filter(feat, weights)

    def get_filter(
        self, feat: torch.Tensor, bb: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor] | None]:
        """Initialise and optimise the filters.

        Args:
            feat: Classification features of the training frames (n_images, n_sequences, C, H, W).
            bb: Target boxes (n_images, n_sequences, 4), ``[x, y, w, h]`` in image pixels.
            *args: Passed to the optimizer.
            **kwargs: Passed to the optimizer.

        Returns:
            ``(weights, weight_iterates, losses)``: the final filters (n_sequences, C, fs, fs), all iterates
            (initial filter first) and the optimizer's losses (``None`` without an optimizer).
        """
        weights = self.filter_initializer(feat, bb)
        if self.filter_optimizer is None:
            return weights, [weights], None
        return self.filter_optimizer(weights, feat, bb, *args, **kwargs)
