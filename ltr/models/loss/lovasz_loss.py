"""Lovasz losses: convex surrogates of the Jaccard (intersection-over-union) loss.

Berman, Rannen Triki, Blaschko, "The Lovasz-Softmax loss: A tractable surrogate for the optimization of the
intersection-over-union measure in neural networks", CVPR 2018.

The Jaccard loss of a set ``M`` of mispredicted pixels, for a class with ground-truth set ``G``, is
``Delta(M) = |M| / |G u M|``. It is submodular, so its Lovasz extension is a convex, piecewise-linear function of
a vector of pixel errors ``m >= 0`` that coincides with ``Delta`` on 0/1 vectors:

    f(m) = sum_i m_(i) * (Delta({(1)..(i)}) - Delta({(1)..(i-1)}))

with ``m_(1) >= m_(2) >= ...`` the errors sorted in decreasing order (equivalently
``f(m) = integral_0^inf Delta({j : m_j >= t}) dt``). :func:`lovasz_grad` gives the increments of ``Delta``
(the gradient of ``f``, constant on each sorting cone). The pixel errors are ``|fg - p_c|`` for probabilities
(Lovasz-Softmax) or the hinge errors ``max(0, 1 - s * y)`` with labels ``y`` in {-1, 1} for scores ``s``
(Lovasz hinge, binary).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "lovasz_grad",
    "lovasz_hinge",
    "lovasz_hinge_flat",
    "flatten_binary_scores",
    "lovasz_softmax",
    "lovasz_softmax_flat",
    "flatten_probas",
]


def lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Increments of the Jaccard loss along a sorted pixel order.

    Args:
        gt_sorted: Ground truth (P,) in {0, 1}, ordered by decreasing error.

    Returns:
        Tensor (P,) float: ``Delta(first i pixels) - Delta(first i - 1 pixels)`` for ``i = 1..P``.
    """
    gt = gt_sorted if gt_sorted.is_floating_point() else gt_sorted.float()
    num_pixels = gt.numel()
    if num_pixels == 0:
        return gt
    # With the first i pixels mispredicted: |M| = i and |G u M| = |G| + (non-target pixels among them).
    count = torch.arange(1, num_pixels + 1, dtype=gt.dtype, device=gt.device)
    jaccard = count / (gt.sum() + torch.cumsum(1.0 - gt, dim=0))
    return torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])


def _mean(values: Iterable[torch.Tensor]) -> torch.Tensor:
    values = list(values)
    if not values:
        raise ValueError("mean of an empty sequence")
    return torch.stack(values).mean()


# --------------------------------------------------------------------------------------------------- binary (hinge)


def flatten_binary_scores(
    scores: torch.Tensor, labels: torch.Tensor, ignore: int | float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flatten scores and labels of a batch to 1-D, dropping pixels labelled ``ignore``."""
    scores = scores.reshape(-1)
    labels = labels.reshape(-1)
    if ignore is None:
        return scores, labels
    valid = labels != ignore
    return scores[valid], labels[valid]


def lovasz_hinge_flat(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary Lovasz hinge loss of one set of pixels.

    Args:
        logits: Scores (P,) (any real value; the decision threshold is 0).
        labels: Binary ground truth (P,) in {0, 1}.

    Returns:
        Scalar loss (0 for an empty input, keeping the graph).
    """
    if logits.numel() == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels.float() - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
    grad = lovasz_grad(labels[perm].to(errors_sorted.dtype))
    return torch.dot(F.relu(errors_sorted), grad)


def lovasz_hinge(
    logits: torch.Tensor, labels: torch.Tensor, per_image: bool = True, ignore: int | float | None = None
) -> torch.Tensor:
    """Binary Lovasz hinge loss.

    Args:
        logits: Scores (B, H, W).
        labels: Binary ground truth (B, H, W) in {0, 1} (``ignore`` marks pixels to skip).
        per_image: Average the per-image losses instead of computing one loss over the batch.
        ignore: Label value of pixels to ignore.

    Returns:
        Scalar loss.
    """
    if per_image:
        return _mean(
            lovasz_hinge_flat(*flatten_binary_scores(lg.unsqueeze(0), lb.unsqueeze(0), ignore))
            for lg, lb in zip(logits, labels)
        )
    return lovasz_hinge_flat(*flatten_binary_scores(logits, labels, ignore))


# -------------------------------------------------------------------------------------------- multi-class (softmax)


def flatten_probas(
    probas: torch.Tensor, labels: torch.Tensor, ignore: int | float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flatten class probabilities (B, C, H, W) to (P, C) and labels to (P,), dropping ``ignore`` pixels.

    A 3-D (B, H, W) input is read as the probabilities of a single (foreground) class, e.g. a sigmoid output.
    """
    if probas.dim() == 3:
        probas = probas.unsqueeze(1)
    num_classes = probas.shape[1]
    probas = probas.movedim(1, -1).reshape(-1, num_classes)
    labels = labels.reshape(-1)
    if ignore is None:
        return probas, labels
    valid = labels != ignore
    return probas[valid], labels[valid]


def lovasz_softmax_flat(
    probas: torch.Tensor, labels: torch.Tensor, classes: str | Sequence[int] = "present"
) -> torch.Tensor:
    """Multi-class Lovasz-Softmax loss of one set of pixels.

    Args:
        probas: Class probabilities (P, C). With ``C == 1`` the single column is the probability of the (only)
            class in ``classes``.
        labels: Ground-truth class of each pixel (P,).
        classes: ``'all'``, ``'present'`` (classes occurring in ``labels``) or a list of class ids to average.

    Returns:
        Scalar loss, the mean over the selected classes (0 if none is selected, keeping the graph).
    """
    if probas.numel() == 0:
        return probas.sum() * 0.0
    num_classes = probas.shape[1]
    class_ids = list(range(num_classes)) if classes in ("all", "present") else list(classes)
    if num_classes == 1 and len(class_ids) > 1:
        raise ValueError("a single probability column can only be used with one class")
    losses = []
    for c in class_ids:
        fg = (labels == c).to(probas.dtype)
        if classes == "present" and fg.sum() == 0:
            continue
        class_pred = probas[:, 0] if num_classes == 1 else probas[:, c]
        errors = (fg - class_pred).abs()
        errors_sorted, perm = torch.sort(errors, dim=0, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
    if not losses:
        return probas.sum() * 0.0
    return _mean(losses)


def lovasz_softmax(
    probas: torch.Tensor,
    labels: torch.Tensor,
    classes: str | Sequence[int] = "present",
    per_image: bool = False,
    ignore: int | float | None = None,
) -> torch.Tensor:
    """Multi-class Lovasz-Softmax loss.

    Args:
        probas: Class probabilities (B, C, H, W), or (B, H, W) foreground probabilities (binary case).
        labels: Ground-truth class ids (B, H, W) (a (B, 1, H, W) tensor is accepted); ``1`` is the foreground in
            the binary case.
        classes: ``'all'``, ``'present'`` or a list of class ids to average over.
        per_image: Average the per-image losses instead of computing one loss over the batch.
        ignore: Label value of pixels to ignore.

    Returns:
        Scalar loss.
    """
    if per_image:
        return _mean(
            lovasz_softmax_flat(*flatten_probas(p.unsqueeze(0), lb.unsqueeze(0), ignore), classes=classes)
            for p, lb in zip(probas, labels)
        )
    return lovasz_softmax_flat(*flatten_probas(probas, labels, ignore), classes=classes)
