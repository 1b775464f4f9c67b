"""Actors of the DiMP family: target classifier learned per sequence plus IoU-Net box regression."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ltr.actors.base_actor import BaseActor
from pytracking.libs.tensordict import TensorDict

__all__ = ["DiMPActor", "KLDiMPActor"]


def _item(value: torch.Tensor | float) -> float:
    return value.item() if isinstance(value, torch.Tensor) else float(value)


def _iterate_terms(
    losses: Sequence[torch.Tensor], weights: Mapping[str, float | Sequence[float]], final: str, init: str, inter: str
) -> tuple[torch.Tensor, torch.Tensor | float, torch.Tensor | float]:
    """Weighted losses of the filter iterates: the final one, the initial one and the intermediate ones.

    ``weights[final]`` multiplies the loss of the last iterate. The optional ``weights[init]`` multiplies the
    loss of the initial filter (iterate 0). The optional ``weights[inter]`` is either a list with one weight per
    intermediate iterate, or a scalar spread evenly over them (each gets ``weight / n_intermediate``). Terms
    whose weight is absent (or that have no iterates) are 0.
    """
    final_term = weights[final] * losses[-1]
    init_term: torch.Tensor | float = weights[init] * losses[0] if init in weights else 0.0
    inter_term: torch.Tensor | float = 0.0
    intermediate = list(losses[1:-1])
    if inter in weights and intermediate:
        w = weights[inter]
        if isinstance(w, (list, tuple)):
            inter_term = sum(a * b for a, b in zip(w, intermediate))
        else:
            inter_term = (w / len(intermediate)) * sum(intermediate)
    return final_term, init_term, inter_term


def _iterate_stats(losses: Sequence[torch.Tensor], final: str, init: str, inter: str) -> dict[str, float]:
    """Unweighted losses of the last, the initial and (mean of) the intermediate iterates."""
    stats = {final: losses[-1].item(), init: losses[0].item()}
    if len(losses) > 2:
        stats[inter] = sum(losses[1:-1]).item() / (len(losses) - 2)
    return stats


def _check_finite(loss: torch.Tensor) -> None:
    if not torch.isfinite(loss).all():
        raise FloatingPointError(f"The training loss is not finite ({loss.item()}).")


class DiMPActor(BaseActor):
    """DiMP training: classification loss of every filter iterate on the test frames plus the IoU-Net loss.

    ``objective`` is a dict with ``'test_clf'`` (called as ``(scores, test_label, test_anno)``, e.g.
    ``LBHinge(threshold=0.05)``) and ``'iou'`` (``(iou_pred, proposal_iou)``, e.g. ``nn.MSELoss()``).

    The loss is ``w['iou'] * iou + w['test_clf'] * clf[-1] + w['test_init_clf'] * clf[0] + iter``, where
    ``clf[k]`` is the classification loss of filter iterate ``k`` (0 = initial filter) and ``iter`` weights the
    intermediate iterates by ``w['test_iter_clf']`` (a list, one weight each, or a scalar spread evenly); the
    last two terms only when their weights are given.

    Stats: ``Loss/total``, ``Loss/iou``, ``Loss/target_clf``, ``Loss/test_init_clf`` and ``Loss/test_iter_clf``
    (when weighted), ``ClfTrain/test_loss``, ``ClfTrain/test_init_loss``, ``ClfTrain/test_iter_loss`` (mean of
    the intermediate iterates, when there are any); ``Loss/*`` are weighted, ``ClfTrain/*`` are not.

    Args:
        net: a ``DiMPnet`` (or anything with its training-forward signature).
        objective: see above.
        loss_weight: default ``{'iou': 1.0, 'test_clf': 1.0}``.
    """

    def __init__(self, net, objective, loss_weight: Mapping[str, float | Sequence[float]] | None = None):
        super().__init__(net, objective)
        self.loss_weight = dict(loss_weight) if loss_weight is not None else {"iou": 1.0, "test_clf": 1.0}

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        """Compute the loss.

        Args:
            data: ``train_images`` (n_train, B, 3, H, W), ``train_anno`` (n_train, B, 4), ``test_images``,
                ``test_anno``, ``test_proposals`` (n_test, B, P, 4), ``proposal_iou`` (n_test, B, P),
                ``test_label`` (n_test, B, h, w) matching the score maps.

        Returns:
            ``(loss, stats)``.
        """
        target_scores, iou_pred = self.net(
            train_imgs=data["train_images"],
            test_imgs=data["test_images"],
            train_bb=data["train_anno"],
            test_proposals=data["test_proposals"],
        )
        w = self.loss_weight
        clf_losses = [self.objective["test_clf"](s, data["test_label"], data["test_anno"]) for s in target_scores]
        loss_target_clf, loss_init_clf, loss_iter_clf = _iterate_terms(
            clf_losses, w, "test_clf", "test_init_clf", "test_iter_clf"
        )
        loss_iou = w["iou"] * self.objective["iou"](iou_pred, data["proposal_iou"])
        loss = loss_iou + loss_target_clf + loss_init_clf + loss_iter_clf

        stats = {"Loss/total": loss.item(), "Loss/iou": loss_iou.item(), "Loss/target_clf": loss_target_clf.item()}
        if "test_init_clf" in w:
            stats["Loss/test_init_clf"] = _item(loss_init_clf)
        if "test_iter_clf" in w:
            stats["Loss/test_iter_clf"] = _item(loss_iter_clf)
        stats.update(
            _iterate_stats(clf_losses, "ClfTrain/test_loss", "ClfTrain/test_init_loss", "ClfTrain/test_iter_loss")
        )
        return loss, stats


class KLDiMPActor(BaseActor):
    """PrDiMP / SuperDiMP training: KL box regression plus a probabilistic or hinge classification loss.

    ``objective`` is a dict with ``'bb_ce'`` (``(scores, sample_density=, gt_density=, mc_dim=1)``, e.g.
    ``KLRegression()``) and, depending on ``loss_weight``, ``'clf_ce'`` (PrDiMP: ``(scores, test_label_density,
    grid_dim=(-2, -1))``, e.g. ``KLRegressionGrid()``) and/or ``'test_clf'`` (SuperDiMP: as in
    :class:`DiMPActor`). The box loss uses only test frames with a valid target (``test_anno[..., 0] < 99999``).

    Loss: ``w['bb_ce'] * bb_ce`` plus, when ``'clf_ce'`` is weighted, ``w['clf_ce'] * ce[-1]`` +
    ``w['clf_ce_init'] * ce[0]`` + intermediate iterates by ``w['clf_ce_iter']``, and, when ``'test_clf'`` is
    weighted, the hinge terms of :class:`DiMPActor` (``test_clf``, ``test_init_clf``, ``test_iter_clf``).

    Stats: ``Loss/total``, ``Loss/bb_ce`` (unweighted), ``Loss/loss_bb_ce`` (weighted); with ``test_clf``:
    ``Loss/target_clf``, ``Loss/test_init_clf``, ``Loss/test_iter_clf`` (when weighted), ``ClfTrain/test_loss``,
    ``ClfTrain/test_init_loss``, ``ClfTrain/test_iter_loss``; with ``clf_ce``: ``Loss/clf_ce``,
    ``Loss/clf_ce_init``, ``Loss/clf_ce_iter`` (when weighted and present), ``ClfTrain/clf_ce``,
    ``ClfTrain/clf_ce_init``, ``ClfTrain/clf_ce_iter``.

    Args:
        net: a ``DiMPnet`` built by ``klcedimpnet18/50`` (PrDiMP) or ``dimpnet50`` (SuperDiMP).
        objective: see above.
        loss_weight: default ``{'bb_ce': 1.0}``.

    Raises:
        FloatingPointError: from :meth:`__call__` when the loss is NaN or infinite.
    """

    def __init__(self, net, objective, loss_weight: Mapping[str, float | Sequence[float]] | None = None):
        super().__init__(net, objective)
        self.loss_weight = dict(loss_weight) if loss_weight is not None else {"bb_ce": 1.0}

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        """Compute the loss.

        Args:
            data: as for :class:`DiMPActor` (``proposal_iou`` not needed), plus ``proposal_density`` and
                ``gt_density`` (n_test, B, P); ``test_label_density`` (n_test, B, h, w) for ``clf_ce``;
                ``test_label`` for ``test_clf``.

        Returns:
            ``(loss, stats)``.
        """
        target_scores, bb_scores = self.net(
            train_imgs=data["train_images"],
            test_imgs=data["test_images"],
            train_bb=data["train_anno"],
            test_proposals=data["test_proposals"],
        )
        w = self.loss_weight
        valid = data["test_anno"][:, :, 0] < 99999.0
        bb_ce = self.objective["bb_ce"](
            bb_scores[valid, :],
            sample_density=data["proposal_density"][valid, :],
            gt_density=data["gt_density"][valid, :],
            mc_dim=1,
        )
        loss_bb_ce = w["bb_ce"] * bb_ce
        loss = loss_bb_ce
        stats = {}

        if "test_clf" in w:
            clf_losses = [self.objective["test_clf"](s, data["test_label"], data["test_anno"]) for s in target_scores]
            target_clf, init_clf, iter_clf = _iterate_terms(clf_losses, w, "test_clf", "test_init_clf", "test_iter_clf")
            loss = loss + target_clf + init_clf + iter_clf
            stats["Loss/target_clf"] = target_clf.item()
            if "test_init_clf" in w:
                stats["Loss/test_init_clf"] = _item(init_clf)
            if "test_iter_clf" in w:
                stats["Loss/test_iter_clf"] = _item(iter_clf)
        if "clf_ce" in w:
            ce_losses = [
                self.objective["clf_ce"](s, data["test_label_density"], grid_dim=(-2, -1)) for s in target_scores
            ]
            clf_ce, ce_init, ce_iter = _iterate_terms(ce_losses, w, "clf_ce", "clf_ce_init", "clf_ce_iter")
            loss = loss + clf_ce + ce_init + ce_iter
            stats["Loss/clf_ce"] = clf_ce.item()
            if "clf_ce_init" in w:
                stats["Loss/clf_ce_init"] = _item(ce_init)
            if "clf_ce_iter" in w and len(ce_losses) > 2:
                stats["Loss/clf_ce_iter"] = _item(ce_iter)
        _check_finite(loss)

        stats = {"Loss/total": loss.item(), "Loss/bb_ce": bb_ce.item(), "Loss/loss_bb_ce": loss_bb_ce.item(), **stats}
        if "test_clf" in w:
            stats.update(
                _iterate_stats(clf_losses, "ClfTrain/test_loss", "ClfTrain/test_init_loss", "ClfTrain/test_iter_loss")
            )
        if "clf_ce" in w:
            stats.update(_iterate_stats(ce_losses, "ClfTrain/clf_ce", "ClfTrain/clf_ce_init", "ClfTrain/clf_ce_iter"))
        return loss, stats
