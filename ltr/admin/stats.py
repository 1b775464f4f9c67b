"""Training statistics kept by the trainer and pickled into every checkpoint.

Checkpoints store ``stats`` as ``OrderedDict(loader name -> OrderedDict(stat name -> AverageMeter | StatValue))``,
so the module path ``ltr.admin.stats`` and the class names are a public API (see ``ltr.admin.loading``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["AverageMeter", "StatValue", "topk_accuracy"]


class StatValue:
    """A value recorded once per update, e.g. the learning rate at the end of each epoch.

    Attributes:
        val: the latest value.
        history: every value passed to :meth:`update`, in order.
    """

    def __init__(self) -> None:
        self.clear()

    def reset(self) -> None:
        """Forget the latest value (the history is kept)."""
        self.val = 0

    def clear(self) -> None:
        """Forget the latest value and the history."""
        self.reset()
        self.history = []

    def update(self, val) -> None:
        """Record ``val`` as the latest value and append it to the history."""
        self.val = val
        self.history.append(val)

    def new_epoch(self) -> None:
        """Nothing to roll over: every update is already in the history."""


class AverageMeter:
    """Running weighted mean of a quantity within an epoch, plus the mean of every finished epoch.

    Attributes:
        val: the latest value.
        sum: sum of ``val * n`` over the epoch's updates.
        count: sum of the weights ``n`` over the epoch's updates.
        avg: ``sum / count`` (0 before the first update).
        history: the ``avg`` of each finished epoch that had at least one update.
        has_new_data: whether the last :meth:`new_epoch` appended to the history.
    """

    def __init__(self) -> None:
        self.clear()
        self.has_new_data = False

    def reset(self) -> None:
        """Start a new accumulation (the history is kept)."""
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def clear(self) -> None:
        """Start a new accumulation and forget the history."""
        self.reset()
        self.history = []

    def update(self, val, n: int = 1) -> None:
        """Add ``val`` with weight ``n`` (typically the batch size, ``val`` being the batch mean)."""
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def new_epoch(self) -> None:
        """Append the epoch mean to the history and restart, unless nothing was recorded this epoch."""
        if self.count > 0:
            self.history.append(self.avg)
            self.reset()
            self.has_new_data = True
        else:
            self.has_new_data = False


def topk_accuracy(output: torch.Tensor, target: torch.Tensor, topk: int | Sequence[int] = (1,)):
    """Percentage of samples whose target class is among the ``k`` highest scores.

    Args:
        output: (N, C) class scores.
        target: (N,) integer class indices.
        topk: one ``k`` or a sequence of them.

    Returns:
        A 0-dim float tensor in [0, 100] per ``k`` (a list), or a single one when ``topk`` is an int.
    """
    single = isinstance(topk, int)
    ks = (topk,) if single else tuple(topk)
    _, pred = output.topk(max(ks), dim=1, largest=True, sorted=True)  # (N, maxk)
    hit = pred.eq(target.reshape(-1, 1))  # (N, maxk); at most one True per row
    n = target.numel()
    res = [hit[:, :k].any(dim=1).float().sum() * (100.0 / n) for k in ks]
    return res[0] if single else res
