"""An ordered dict of tensors that broadcasts tensor methods over its values.

``TensorDict`` is the batch container of the training pipeline (sampler -> processing -> collate ->
actor): ``data.to(device)`` or ``data.float()`` apply to every tensor value and return a new
``TensorDict``; values that are not tensors (names, settings) are passed through unchanged.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Mapping

import torch

__all__ = ["TensorDict"]


class TensorDict(OrderedDict):
    """Ordered dict whose tensor methods (``to``, ``float``, ``view`` ...) act on every value."""

    def concat(self, other: Mapping) -> TensorDict:
        """Return a new dict with ``other``'s items added (``other`` wins on equal keys)."""
        return TensorDict(self, **other)

    def copy(self) -> TensorDict:
        """Shallow copy (the tensors are shared)."""
        return TensorDict(super().copy())

    def __deepcopy__(self, memodict: dict | None = None) -> TensorDict:
        return TensorDict((k, copy.deepcopy(v, memodict)) for k, v in self.items())

    def __getattr__(self, name: str):
        if name.startswith("__") or not hasattr(torch.Tensor, name):
            raise AttributeError(f"'TensorDict' object has no attribute '{name}'")

        def apply_attr(*args, **kwargs):
            return TensorDict(
                (n, getattr(e, name)(*args, **kwargs) if hasattr(e, name) else e) for n, e in self.items()
            )

        return apply_attr

    def attribute(self, attr: str, *args) -> TensorDict:
        """Value-wise ``getattr(v, attr[, default])``."""
        return TensorDict((n, getattr(e, attr, *args)) for n, e in self.items())

    def apply(self, fn: Callable, *args, **kwargs) -> TensorDict:
        """Value-wise ``fn(v, *args, **kwargs)``."""
        return TensorDict((n, fn(e, *args, **kwargs)) for n, e in self.items())
