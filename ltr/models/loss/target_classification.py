"""Losses and accuracy for target classification score maps (DiMP, KYS, ...)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["LBHinge", "LBHingev2", "TrackingClassificationAccuracy"]

# Threshold used when none is given: below any label value, so no element is treated as background.
_NO_THRESHOLD = -100.0


def _hinge_prediction(prediction: torch.Tensor, label: torch.Tensor, threshold: float) -> tuple[torch.Tensor, ...]:
    """Apply the lower-bound hinge: returns (hinged prediction, positive mask)."""
    negative_mask = (label < threshold).to(prediction.dtype)
    positive_mask = 1.0 - negative_mask
    # Background elements only pay for positive scores: relu(p) against target 0.
    hinged = negative_mask * F.relu(prediction) + positive_mask * prediction
    return hinged, positive_mask


class LBHinge(nn.Module):
    """Regression loss with a hinge on the lower bound (DiMP's classification loss).

    Elements whose label is below ``threshold`` are background: their prediction ``p`` is replaced by ``relu(p)``
    and their target by 0, so only positive background scores are penalised. Other elements use ``p`` and the
    label as is. The loss is ``error_metric(p', positive_mask * label)``.

    Args:
        error_metric: base loss (default ``nn.MSELoss()``, mean reduction).
        threshold: label value below which an element is background; None disables the hinge.
        clip: if given, the loss is ``min(loss, clip)``.
    """

    def __init__(
        self, error_metric: nn.Module | None = None, threshold: float | None = None, clip: float | None = None
    ):
        super().__init__()
        self.error_metric = nn.MSELoss() if error_metric is None else error_metric
        self.threshold = threshold if threshold is not None else _NO_THRESHOLD
        self.clip = clip

    def forward(
        self, prediction: torch.Tensor, label: torch.Tensor, target_bb: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            prediction: predicted scores, any shape.
            label: target scores, same shape.
            target_bb: unused (kept for a uniform loss signature).

        Returns:
            The loss as returned by ``error_metric`` (a scalar for mean reduction).
        """
        hinged, positive_mask = _hinge_prediction(prediction, label, self.threshold)
        loss = self.error_metric(hinged, positive_mask * label)
        if self.clip is not None:
            loss = loss.clamp(max=self.clip)
        return loss


class LBHingev2(nn.Module):
    """:class:`LBHinge` with optional per-sample validity masks and per-sequence output.

    Args:
        error_metric: base loss; default ``nn.MSELoss`` with reduction ``'none'`` when ``return_per_sequence``,
            else ``'mean'``.
        threshold: label value below which an element is background; None disables the hinge.
        return_per_sequence: return the loss averaged over the two spatial dimensions only (needs an elementwise
            ``error_metric``).
    """

    def __init__(
        self, error_metric: nn.Module | None = None, threshold: float | None = None, return_per_sequence: bool = False
    ):
        super().__init__()
        if error_metric is None:
            error_metric = nn.MSELoss(reduction="none" if return_per_sequence else "mean")
        self.error_metric = error_metric
        self.threshold = threshold if threshold is not None else _NO_THRESHOLD
        self.return_per_sequence = return_per_sequence

    def forward(
        self,
        prediction: torch.Tensor,
        label: torch.Tensor,
        target_bb: torch.Tensor | None = None,
        valid_samples: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            prediction: scores (n_images, n_seq, H, W).
            label: target scores, same shape.
            target_bb: unused.
            valid_samples: optional (n_images, n_seq, 1, 1) mask (broadcastable to the scores); invalid samples
                contribute 0, and with mean reduction the mean is renormalised to the valid ones.

        Returns:
            Scalar loss, or (n_images, n_seq) with ``return_per_sequence``.
        """
        if prediction.dim() != 4 or label.dim() != 4:
            raise ValueError(f"expected 4-D scores and labels, got {tuple(prediction.shape)}, {tuple(label.shape)}")
        hinged, positive_mask = _hinge_prediction(prediction, label, self.threshold)
        if valid_samples is not None:
            valid = valid_samples.to(prediction.dtype)
            hinged = hinged * valid
            label = label * valid
        loss = self.error_metric(hinged, positive_mask * label)
        if self.return_per_sequence:
            return loss.mean((-2, -1))
        if valid_samples is not None:
            # The mean ran over all samples; rescale it to a mean over the valid ones.
            loss = loss * valid.numel() / (valid.sum() + 1e-12)
        return loss


class TrackingClassificationAccuracy(nn.Module):
    """Fraction of score maps whose peak lands on the target.

    For each map, take the label value at the prediction's argmax (clamped at 0). A map with a target (label
    maximum > 0.25) is correct when that value is ``>= threshold``; a map without one (label maximum < 0.25) is
    correct when it is ``< neg_threshold``.

    Args:
        threshold: minimum label value at the peak for a hit.
        neg_threshold: label value the peak must stay below on target-free maps (default ``threshold``).
    """

    def __init__(self, threshold: float, neg_threshold: float | None = None):
        super().__init__()
        self.threshold = threshold
        self.neg_threshold = threshold if neg_threshold is None else neg_threshold

    def forward(
        self, prediction: torch.Tensor, label: torch.Tensor, valid_samples: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the accuracy.

        Args:
            prediction: score maps (..., H, W).
            label: label maps, same shape.
            valid_samples: optional mask with one entry per map (any shape with that many elements).

        Returns:
            The accuracy (scalar; 1 when no sample is valid) and the per-map correctness (N,) as floats, where N
            is the number of maps.
        """
        num_cells = prediction.shape[-2] * prediction.shape[-1]
        pred_flat = prediction.reshape(-1, num_cells)
        label_flat = label.reshape(-1, num_cells)

        peak = pred_flat.argmax(dim=1)
        label_max = label_flat.max(dim=1).values
        label_at_peak = label_flat.gather(1, peak[:, None]).squeeze(1).clamp_min(0)

        correct = ((label_at_peak >= self.threshold) & (label_max > 0.25)) | (
            (label_at_peak < self.neg_threshold) & (label_max < 0.25)
        )
        correct = correct.to(prediction.dtype)

        if valid_samples is None:
            return correct.mean(), correct
        valid = valid_samples.to(prediction.dtype).reshape(-1)
        num_valid = valid.sum()
        if num_valid > 0:
            return (valid * correct).sum() / num_valid, correct
        return prediction.new_tensor(1.0), correct
