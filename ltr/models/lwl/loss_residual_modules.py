"""Residuals of the LWL few-shot learner objective.

The target model ``T_tau`` (a convolution with filters ``tau``) is fitted on the training frames by minimizing

    L(tau) = sum_t || W(y_t) * (T_tau(x_t) - E(y_t)) ||^2 + lambda^2 ||tau||^2

(LWL paper, eq. 3), where ``E(y_t)`` is the label encoding and ``W(y_t)`` the spatial importance weights produced
by the label encoder from the mask ``y_t``. :class:`LWTLResidual` returns the two residual vectors whose squared
norm is ``L``; :class:`~ltr.models.meta.steepestdescent.GNSteepestDescent` minimizes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn as nn

from ltr.models.layers.filter import apply_filter
from pytracking.libs.tensorlist import TensorList

__all__ = ["LWTLResidual"]


class LWTLResidual(nn.Module):
    """Data and regularization residuals of the few-shot learner; the regularization weight is learned.

    Args:
        init_filter_reg: Initial value of the learned ``filter_reg`` (``lambda``), a (1,) Parameter.
        filter_dilation_factors: Optional ``{dilation: count}`` for the filters (see :func:`apply_filter`).
    """

    def __init__(self, init_filter_reg: float = 1e-2, filter_dilation_factors: Mapping[int, int] | None = None):
        super().__init__()
        self.filter_reg = nn.Parameter(init_filter_reg * torch.ones(1))
        self.filter_dilation_factors = filter_dilation_factors

    def forward(
        self,
        meta_parameter: TensorList,
        feat: torch.Tensor,
        label: torch.Tensor,
        sample_weight: torch.Tensor | float | None = None,
        filter_dilation_factors: Mapping[int, int] | None = None,
    ) -> TensorList:
        """Compute the residuals.

        Args:
            meta_parameter: ``TensorList([filter])`` with filter (n_sequences, n_filters, C, fs, fs).
            feat: Training features (n_images, n_sequences, C, H, W).
            label: Label encodings with ``n_images * n_sequences * n_filters * H * W`` elements.
            sample_weight: Weights multiplying the data residual: None (uniform ``sqrt(1 / n_images)``), a float,
                a tensor with as many elements as the scores (spatial weights), or a (n_images,) tensor.
            filter_dilation_factors: Overrides the constructor's dilation factors when given.

        Returns:
            ``TensorList([data_residual, reg_residual])``: (n_images, n_sequences, n_filters, H, W) and
            (1, n_sequences, n_filters * C * fs * fs); the sequence dimension is 1 in both.
        """
        filter = meta_parameter[0]
        num_images = feat.shape[0]
        num_sequences = feat.shape[1] if feat.dim() == 5 else 1
        dilation = self.filter_dilation_factors if filter_dilation_factors is None else filter_dilation_factors

        scores = apply_filter(feat, filter, dilation_factors=dilation)

        if sample_weight is None:
            sample_weight = math.sqrt(1.0 / num_images)
        elif torch.is_tensor(sample_weight):
            if sample_weight.numel() == scores.numel():
                sample_weight = sample_weight.reshape(scores.shape)
            elif sample_weight.dim() == 1:
                sample_weight = sample_weight.reshape(-1, *([1] * (scores.dim() - 1)))

        data_residual = sample_weight * (scores - label.reshape(scores.shape))
        reg_residual = self.filter_reg * filter.reshape(1, num_sequences, -1)
        return TensorList([data_residual, reg_residual])
