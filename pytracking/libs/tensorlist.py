"""A list of tensors that broadcasts tensor arithmetic and methods over its elements.

``TensorList`` is the container of the DCF toolbox: a filter made of several feature blocks, the
residuals of several terms of a loss, or the per-layer features of a backbone are all lists of tensors
that are added, multiplied and reduced together. Operations follow two rules:

* with another ``TensorList`` they act element by element (lengths must match);
* with anything else (a tensor, a number) that operand is broadcast to every element.

Comparison semantics are deliberately mixed, as in the original library: ``<=`` and ``>=`` compare element
by element, while ``==``, ``!=``, ``<`` and ``>`` keep ``list``'s own (lexicographic) meaning, so a
``TensorList`` can still be used where plain lists are compared.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["TensorList", "tensor_operation"]


def _is_list(x: Any) -> bool:
    return isinstance(x, TensorList)


def _operands(self: TensorList, other: Any) -> Iterable:
    """The right-hand operand for each element of ``self`` (``other``'s elements, or ``other`` itself)."""
    if _is_list(other):
        if len(other) != len(self):
            raise ValueError(f"TensorList lengths differ: {len(self)} and {len(other)}")
        return other
    return [other] * len(self)


class TensorList(list):
    """List of tensors (or of anything) with element-wise operators and method broadcasting."""

    def __init__(self, list_of_tensors: Iterable | None = None):
        super().__init__(() if list_of_tensors is None else list_of_tensors)

    def __deepcopy__(self, memodict: dict | None = None) -> TensorList:
        return TensorList(copy.deepcopy(e, memodict) for e in self)

    # ----------------------------------------------------------------------------------------- list shape
    def __getitem__(self, item):
        if isinstance(item, int):
            return super().__getitem__(item)
        if isinstance(item, (tuple, list)):
            return TensorList(super(TensorList, self).__getitem__(i) for i in item)
        return TensorList(super().__getitem__(item))

    def __add__(self, other):
        if _is_list(other):
            return TensorList(e1 + e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e + other for e in self)

    def __radd__(self, other):
        if _is_list(other):
            return TensorList(e2 + e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other + e for e in self)

    def __iadd__(self, other):
        for i, o in enumerate(_operands(self, other)):
            self[i] += o
        return self

    def __sub__(self, other):
        if _is_list(other):
            return TensorList(e1 - e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e - other for e in self)

    def __rsub__(self, other):
        if _is_list(other):
            return TensorList(e2 - e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other - e for e in self)

    def __isub__(self, other):
        for i, o in enumerate(_operands(self, other)):
            self[i] -= o
        return self

    def __mul__(self, other):
        if _is_list(other):
            return TensorList(e1 * e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e * other for e in self)

    def __rmul__(self, other):
        if _is_list(other):
            return TensorList(e2 * e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other * e for e in self)

    def __imul__(self, other):
        for i, o in enumerate(_operands(self, other)):
            self[i] *= o
        return self

    def __truediv__(self, other):
        if _is_list(other):
            return TensorList(e1 / e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e / other for e in self)

    def __rtruediv__(self, other):
        if _is_list(other):
            return TensorList(e2 / e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other / e for e in self)

    def __itruediv__(self, other):
        for i, o in enumerate(_operands(self, other)):
            self[i] /= o
        return self

    def __matmul__(self, other):
        if _is_list(other):
            return TensorList(e1 @ e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e @ other for e in self)

    def __rmatmul__(self, other):
        if _is_list(other):
            return TensorList(e2 @ e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other @ e for e in self)

    def __mod__(self, other):
        if _is_list(other):
            return TensorList(e1 % e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e % other for e in self)

    def __rmod__(self, other):
        if _is_list(other):
            return TensorList(e2 % e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other % e for e in self)

    def __pow__(self, other):
        if _is_list(other):
            return TensorList(e1**e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e**other for e in self)

    def __rpow__(self, other):
        if _is_list(other):
            return TensorList(e2**e1 for e1, e2 in zip(self, other, strict=True))
        return TensorList(other**e for e in self)

    def __pos__(self):
        return TensorList(+e for e in self)

    def __neg__(self):
        return TensorList(-e for e in self)

    def __abs__(self):
        return TensorList(abs(e) for e in self)

    # Element-wise only for <= and >=; ==, <, > keep list semantics (see module docstring).
    def __le__(self, other):
        if _is_list(other):
            return TensorList(e1 <= e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e <= other for e in self)

    def __ge__(self, other):
        if _is_list(other):
            return TensorList(e1 >= e2 for e1, e2 in zip(self, other, strict=True))
        return TensorList(e >= other for e in self)

    # ------------------------------------------------------------------------------------- list helpers
    def concat(self, other: Iterable) -> TensorList:
        """Return a new list holding this list's elements followed by ``other``'s."""
        return TensorList(list(self) + list(other))

    def copy(self) -> TensorList:
        """Shallow copy (the tensors are shared)."""
        return TensorList(self)

    def unroll(self) -> TensorList:
        """Flatten nested ``TensorList`` elements into one level."""
        if not any(_is_list(t) for t in self):
            return self
        out = TensorList()
        for t in self:
            out.extend(t.unroll() if _is_list(t) else [t])
        return out

    def list(self) -> list:
        """Return a plain ``list`` (nested ``TensorList`` elements converted too)."""
        return [e.list() if _is_list(e) else e for e in self]

    def attribute(self, attr: str, *args) -> TensorList:
        """Element-wise ``getattr(e, attr[, default])``."""
        return TensorList(getattr(e, attr, *args) for e in self)

    def apply(self, fn: Callable) -> TensorList:
        """Element-wise ``fn(e)``."""
        return TensorList(fn(e) for e in self)

    def __getattr__(self, name: str):
        # Only tensor methods are broadcast; anything else is a genuine missing attribute.
        if name.startswith("__") or not hasattr(torch.Tensor, name):
            raise AttributeError(f"'TensorList' object has no attribute '{name}'")

        def apply_attr(*args, **kwargs):
            return TensorList(getattr(e, name)(*args, **kwargs) for e in self)

        return apply_attr


def tensor_operation(op: Callable) -> Callable:
    """Lift ``op`` to ``TensorList`` arguments.

    If the first positional argument is a ``TensorList``, ``op`` is applied element by element; any other
    positional argument that is a ``TensorList`` is zipped along with it, keyword arguments that are
    ``TensorList`` are zipped too, and everything else is passed unchanged to every call. Nested
    ``TensorList`` arguments recurse.
    """

    @functools.wraps(op)
    def islist(*args, **kwargs):
        if not args or not _is_list(args[0]):
            return op(*args, **kwargs)

        def element(i):
            a = tuple(x[i] if _is_list(x) else x for x in args)
            kw = {k: (v[i] if _is_list(v) else v) for k, v in kwargs.items()}
            return islist(*a, **kw)

        return TensorList(element(i) for i in range(len(args[0])))

    return islist
