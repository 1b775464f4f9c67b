"""Network factories that remember how they were called.

Official checkpoints pickle a :class:`NetConstructor` (this module path and class name are a public API), so
that a network can be rebuilt from a checkpoint alone: ``checkpoint['constructor'].get()`` imports
``fun_module``, calls ``fun_name(*args, **kwds)`` and returns a fresh network whose ``load_state_dict`` accepts
``checkpoint['net']``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["NetConstructor", "model_constructor"]


class NetConstructor:
    """Records a network factory call: module path, function name, positional and keyword arguments."""

    def __init__(self, fun_name: str, fun_module: str, args: tuple = (), kwds: dict | None = None):
        self.fun_name = fun_name
        self.fun_module = fun_module
        self.args = tuple(args)
        self.kwds = dict(kwds or {})

    def get(self) -> Any:
        """Rebuild the network by calling the recorded factory again."""
        try:
            module = importlib.import_module(self.fun_module)
        except ImportError as e:
            raise ImportError(
                f"Cannot rebuild network {self.fun_module}.{self.fun_name}: module {self.fun_module!r} is not "
                f"importable ({e})."
            ) from e
        fun = getattr(module, self.fun_name, None)
        if fun is None:
            raise AttributeError(f"Cannot rebuild network: {self.fun_module} has no factory {self.fun_name!r}.")
        return fun(*self.args, **self.kwds)

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwds.items()]
        return f"NetConstructor({self.fun_module}.{self.fun_name}({', '.join(parts)}))"


def model_constructor(f: Callable) -> Callable:
    """Decorate a network factory so that the network it returns carries ``net.constructor``.

    When the factory returns a tuple, the first element is taken as the network.
    """

    @functools.wraps(f)
    def build(*args, **kwds):
        constructor = NetConstructor(f.__name__, f.__module__, args, kwds)
        output = f(*args, **kwds)
        net = output[0] if isinstance(output, (tuple, list)) else output
        net.constructor = constructor
        return output

    return build
