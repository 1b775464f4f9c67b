"""pytracking: online visual object tracking, evaluation and analysis.

Importing the package is cheap: the numerical libraries are loaded on first attribute access
(``pytracking.TensorList``, ``pytracking.dcf`` ...), and nothing here needs visdom, vot or tensorboard.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "TensorList": ("pytracking.libs.tensorlist", "TensorList"),
    "TensorDict": ("pytracking.libs.tensordict", "TensorDict"),
    "complex": ("pytracking.libs.complex", None),
    "dcf": ("pytracking.libs.dcf", None),
    "fourier": ("pytracking.libs.fourier", None),
    "operation": ("pytracking.libs.operation", None),
    "optimization": ("pytracking.libs.optimization", None),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'pytracking' has no attribute '{name}'")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
