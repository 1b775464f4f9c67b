"""The actor: runs the network on a training batch and turns its output into a loss and statistics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn

from pytracking.libs.tensordict import TensorDict

__all__ = ["BaseActor"]


class BaseActor:
    """Couples a network with its training objective.

    Subclasses implement :meth:`__call__`. The trainer moves the actor to its device, switches it between
    training and evaluation mode per loader, and backpropagates the returned loss.

    Args:
        net: the network (possibly wrapped in ``MultiGPU`` / ``DistributedDataParallel``).
        objective: the loss module, or a dict name -> loss module for actors with several losses.
    """

    def __init__(self, net: nn.Module, objective: Any):
        self.net = net
        self.objective = objective

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        """Compute the loss on one batch.

        Args:
            data: the batch; tensors are laid out ``(frames, batch, ...)``.

        Returns:
            ``(loss, stats)``: the scalar loss to backpropagate and a dict of named floats to log.
        """
        raise NotImplementedError

    def _objectives(self) -> list[nn.Module]:
        values = self.objective.values() if isinstance(self.objective, Mapping) else [self.objective]
        return [o for o in values if isinstance(o, nn.Module)]

    def to(self, device: torch.device | str) -> BaseActor:
        """Move the network (and loss modules, which may hold buffers) to ``device``."""
        self.net.to(device)
        for objective in self._objectives():
            objective.to(device)
        return self

    def train(self, mode: bool = True) -> BaseActor:
        """Set training (True) or evaluation (False) mode."""
        self.net.train(mode)
        for objective in self._objectives():
            objective.train(mode)
        return self

    def eval(self) -> BaseActor:
        """Set evaluation mode."""
        return self.train(False)
