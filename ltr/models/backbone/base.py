"""Common base class for the backbones: freezing of selected top-level layers."""

from __future__ import annotations

from collections.abc import Iterable

import torch.nn as nn


class Backbone(nn.Module):
    """Base class of the feature backbones, adding support for frozen layers.

    A frozen layer is a direct child module (by attribute name, e.g. ``'conv1'``, ``'bn1'``, ``'layer1'``) whose
    parameters have ``requires_grad=False`` and which stays in eval mode (batch-norm statistics are neither used
    from the batch nor updated), also after ``model.train()``.

    Subclasses build their layers and then call :meth:`_freeze_layers` at the end of their ``__init__``.

    Args:
        frozen_layers: ``'none'`` (nothing frozen), ``'all'`` (every child module) or an iterable of child names.
    """

    def __init__(self, frozen_layers: str | Iterable[str] = ()) -> None:
        super().__init__()
        self.frozen_layers: str | tuple[str, ...] = self._normalize_frozen_layers(frozen_layers)

    @staticmethod
    def _normalize_frozen_layers(frozen_layers: str | Iterable[str]) -> str | tuple[str, ...]:
        """``'all'`` or a tuple of layer names (empty for ``'none'``)."""
        if isinstance(frozen_layers, str):
            key = frozen_layers.lower()
            if key == "none":
                return ()
            if key == "all":
                return "all"
            raise ValueError(f"frozen_layers must be 'none', 'all' or a list of layer names, got {frozen_layers!r}")
        return tuple(frozen_layers)

    def _frozen_modules(self) -> list[nn.Module]:
        """The child modules selected by ``frozen_layers``."""
        if self.frozen_layers == "all":
            return list(self.children())
        children = dict(self.named_children())
        unknown = [name for name in self.frozen_layers if name not in children]
        if unknown:
            raise ValueError(f"unknown frozen layer(s) {unknown}; valid names: {sorted(children)}")
        return [children[name] for name in self.frozen_layers]

    def _freeze_layers(self) -> None:
        """Disable gradients of the frozen layers and put them in eval mode (call after building the layers)."""
        for module in self._frozen_modules():
            for param in module.parameters():
                param.requires_grad_(False)
        self._set_frozen_to_eval()

    def _set_frozen_to_eval(self) -> None:
        for module in self._frozen_modules():
            module.eval()

    def train(self, mode: bool = True) -> Backbone:
        """Set the training mode; frozen layers always remain in eval mode.

        Args:
            mode: training (True) or evaluation (False) mode for the non-frozen layers.

        Returns:
            self
        """
        super().train(mode)
        if mode:
            self._set_frozen_to_eval()
        return self
