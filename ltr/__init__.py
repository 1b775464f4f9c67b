"""ltr: Learning Tracking Representations, the training framework (datasets, models, actors, trainers).

As in the original, ``ltr.load_network``, ``ltr.model_constructor`` and ``ltr.MultiGPU`` are available at the top
level; they are loaded on first access so that ``import ltr`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_network": ("ltr.admin.loading", "load_network"),
    "model_constructor": ("ltr.admin.model_constructor", "model_constructor"),
    "MultiGPU": ("ltr.admin.multigpu", "MultiGPU"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'ltr' has no attribute '{name}'")
    module_name, attr = _LAZY[name]
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
