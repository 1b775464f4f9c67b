"""Box regression losses on dense ``ltrb`` predictions (ToMP)."""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["GIoULoss"]

_EPS = 1e-7


class GIoULoss(nn.Module):
    """Generalized IoU loss ``1 - GIoU`` for boxes given as distances to the four sides.

    Rezatofighi et al., "Generalized Intersection over Union", CVPR 2019. Each cell predicts ``(l, t, r, b)``, the
    (non-negative) distances from the cell to the left, top, right and bottom box sides, so the predicted and target
    boxes share a reference point and intersection and enclosing box follow from elementwise min/max.
    """

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the loss.

        Args:
            pred: (n_images, n_seq, 4, H, W) or (n_seq, 4, H, W) ``ltrb`` distances.
            target: target distances, same layout as ``pred`` after adding the image dimension.
            weights: optional (n_images, n_seq, 1, H, W); when given with a positive sum, only cells with positive
                weight count (the weight values themselves are not used).

        Returns:
            Mean loss (scalar) and the IoUs of the counted cells (flattened).
        """
        if pred.dim() == 4:
            pred = pred.unsqueeze(0)
        if target.dim() == 4:
            target = target.unsqueeze(0)
        pred = pred.permute(0, 1, 3, 4, 2).reshape(-1, 4)
        target = target.permute(0, 1, 3, 4, 2).reshape(-1, 4)
        pl, pt, pr, pb = pred.unbind(1)
        tl, tt, tr, tb = target.unbind(1)

        pred_area = (pl + pr) * (pt + pb)
        target_area = (tl + tr) * (tt + tb)
        inter = (torch.min(pl, tl) + torch.min(pr, tr)) * (torch.min(pt, tt) + torch.min(pb, tb))
        enclosing = (torch.max(pl, tl) + torch.max(pr, tr)) * (torch.max(pt, tt) + torch.max(pb, tb)) + _EPS
        union = pred_area + target_area - inter + _EPS

        ious = inter / union
        losses = 1 - (ious - (enclosing - union) / enclosing)

        if weights is not None and weights.sum() > 0:
            keep = weights.permute(0, 1, 3, 4, 2).reshape(-1) > 0
            return losses[keep].mean(), ious[keep]
        return losses.mean(), ious
