"""Actors of the bounding-box regressors (ATOM's IoU-Net)."""

from __future__ import annotations

import torch

from ltr.actors.base_actor import BaseActor
from pytracking.libs.tensordict import TensorDict

__all__ = ["AtomActor", "AtomBBKLActor"]


def _valid_test_frames(data: TensorDict) -> torch.Tensor:
    # The data pipeline marks test frames without a usable target by a huge x coordinate.
    return data["test_anno"][:, :, 0] < 99999.0


class AtomActor(BaseActor):
    """IoU-Net training: regress the IoU of box proposals with the target.

    ``objective`` compares the predicted IoUs with ``data['proposal_iou']`` (``2 * IoU - 1`` in the original
    pipeline), typically ``nn.MSELoss()``. Stats: ``Loss/total``, ``Loss/iou`` (equal).
    """

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        """Compute the loss.

        Args:
            data: ``train_images`` (n_train, B, 3, H, W), ``train_anno`` (n_train, B, 4), ``test_images``
                (n_test, B, 3, H, W), ``test_proposals`` (n_test, B, P, 4), ``proposal_iou`` (n_test, B, P).

        Returns:
            ``(loss, stats)``.
        """
        iou_pred = self.net(data["train_images"], data["test_images"], data["train_anno"], data["test_proposals"])
        num_proposals = iou_pred.shape[-1]
        iou_pred = iou_pred.reshape(-1, num_proposals)
        iou_gt = data["proposal_iou"].reshape(-1, num_proposals)
        loss = self.objective(iou_pred, iou_gt)
        stats = {"Loss/total": loss.item(), "Loss/iou": loss.item()}
        return loss, stats


class AtomBBKLActor(BaseActor):
    """Probabilistic IoU-Net training (ATOM with KL / ML regression, ``bbreg/atom_prob_ml``).

    ``objective(scores, sample_density=..., gt_density=..., mc_dim=1)`` is e.g. ``KLRegression`` or
    ``MLRegression``; only test frames with a valid target box are used. Stats: ``Loss/total``, ``Loss/bb_ce``.
    """

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        """Compute the loss.

        Args:
            data: as for :class:`AtomActor`, plus ``proposal_density`` and ``gt_density`` (n_test, B, P) and
                ``test_anno`` (n_test, B, 4).

        Returns:
            ``(loss, stats)``.
        """
        bb_scores = self.net(data["train_images"], data["test_images"], data["train_anno"], data["test_proposals"])
        valid = _valid_test_frames(data)
        loss = self.objective(
            bb_scores[valid, :],
            sample_density=data["proposal_density"][valid, :],
            gt_density=data["gt_density"][valid, :],
            mc_dim=1,
        )
        stats = {"Loss/total": loss.item(), "Loss/bb_ce": loss.item()}
        return loss, stats
