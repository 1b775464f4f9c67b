"""Segmentation losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from .lovasz_loss import lovasz_softmax

__all__ = ["LovaszSegLoss"]


class LovaszSegLoss(nn.Module):
    """Lovasz-Softmax loss on the sigmoid of segmentation scores (the LWL training loss).

    Args:
        classes: Class ids averaged over (``[1]``: the foreground), or ``'all'`` / ``'present'``.
        per_image: Average per-image losses (over the batch dimension).
    """

    def __init__(self, classes: Sequence[int] | str = (1,), per_image: bool = True):
        super().__init__()
        self.classes = list(classes) if not isinstance(classes, str) else classes
        self.per_image = per_image

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: Scores (logits) (B, 1, H, W) (LWL reshapes its (n_test, n_seq, H, W) output to this).
            target: Binary masks of the same shape, 1 = target.

        Returns:
            Scalar loss.
        """
        return lovasz_softmax(torch.sigmoid(input), target, classes=self.classes, per_image=self.per_image)
