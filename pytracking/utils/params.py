"""Parameter containers for trackers: an attribute bag that can reject misspelled names.

A tracker declares its parameters once, as a ``DEFAULTS`` dict (name -> default value) on its class. A parameter
file builds ``TrackerParams.strict(Tracker.DEFAULTS)`` and overrides what it needs; assigning a name the tracker
does not declare (``params.dispalcement_scale = 0.8``) then fails on the spot, naming the closest declared
name and the file and line of the assignment, instead of being silently ignored by the tracker.
"""

from __future__ import annotations

import difflib
import random
import sys
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["HARNESS_PARAMETERS", "Choice", "FeatureParams", "TrackerParams"]

HARNESS_PARAMETERS: frozenset[str] = frozenset(
    {
        "debug",  # debug level, set by the evaluation harness for each run
        "visualization",  # whether the harness displays results while tracking
        "visdom_info",  # Visdom connection settings passed down by the harness
        "tracker_name",  # tracker and parameter-file names, recorded by the harness on each run
        "param_name",
        "multiobj_mode",  # overrides the tracker class's multi-object mode
        "object_presence_score_threshold",  # presence threshold used when writing results
        "segmentation_threshold",  # mask threshold of the multi-object wrapper
    }
)
"""Names the evaluation harness may set or read on any tracker's parameters; always declared in strict mode."""


def _assignment_site() -> str:
    """``file:line`` of the nearest caller outside this module (the parameter file's assignment)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return "<unknown>" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _suggestion(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class TrackerParams:
    """Attribute bag of tracker parameters, optionally restricted to a declared set of names.

    Args:
        declared: names that may be set; ``None`` (default) accepts any name, as the original library did.
            The harness names in :data:`HARNESS_PARAMETERS` are always accepted once a set is declared.
    """

    def __init__(self, declared: Iterable[str] | None = None):
        object.__setattr__(self, "_declared", None)
        if declared is not None:
            self.declare(declared)

    @classmethod
    def strict(cls, defaults: Mapping[str, Any]) -> TrackerParams:
        """Parameters restricted to the names of ``defaults`` (and the harness names), set to those defaults.

        Args:
            defaults: the tracker's declaration, name -> default value.

        Returns:
            A strict :class:`TrackerParams` holding every default.
        """
        params = cls(declared=defaults.keys())
        params.set_default_values(defaults)
        return params

    def declare(self, names: Iterable[str]) -> None:
        """Add ``names`` to the declared set, switching on strict mode if it was off.

        Names already set must be among the declared ones.
        """
        declared = set(HARNESS_PARAMETERS if self._declared is None else self._declared)
        declared.update([names] if isinstance(names, str) else names)
        undeclared = sorted(set(self.to_dict()) - declared)
        if undeclared:
            raise AttributeError(f"parameters already set but not declared: {undeclared}")
        object.__setattr__(self, "_declared", frozenset(declared))

    @property
    def declared(self) -> frozenset[str] | None:
        """The names that may be set, or ``None`` when any name is accepted."""
        return self._declared

    def __setattr__(self, name: str, value: Any) -> None:
        declared = self._declared
        if declared is not None and name not in declared and not name.startswith("_"):
            raise AttributeError(
                f"{type(self).__name__}: {name!r} is not a declared parameter of this tracker "
                f"(set at {_assignment_site()}){_suggestion(name, declared)}"
            )
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called for names that are not set. Private names must fail plainly: copy and pickle probe
        # them before ``__dict__`` is restored.
        if name.startswith("_"):
            raise AttributeError(name)
        declared = self.__dict__.get("_declared")
        if declared is not None and name in declared:
            raise AttributeError(f"{type(self).__name__}: parameter {name!r} is declared but has no value")
        candidates = declared if declared is not None else self.to_dict()
        raise AttributeError(f"{type(self).__name__} has no parameter {name!r}{_suggestion(name, candidates)}")

    def set_default_values(self, default_vals: Mapping[str, Any]) -> None:
        """Set each ``name: value`` of ``default_vals`` whose name is not set yet (set values are kept)."""
        for name, val in default_vals.items():
            if not self.has(name):
                setattr(self, name, val)

    def get(self, name: str, *default: Any) -> Any:
        """The value of parameter ``name``; with one extra argument, that value is returned when it is not set.

        Raises:
            AttributeError: ``name`` is not set and no default was given.
            ValueError: more than one default was given.
        """
        if len(default) > 1:
            raise ValueError("TrackerParams.get takes at most one default value")
        if not default:
            return getattr(self, name)
        return getattr(self, name, default[0])

    def has(self, name: str) -> bool:
        """Whether parameter ``name`` is set."""
        return name in self.__dict__ and not name.startswith("_")

    def to_dict(self) -> dict[str, Any]:
        """The parameters that are set, name -> value (in assignment order)."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"{type(self).__name__}({items})"


class FeatureParams:
    """Per-feature parameters (e.g. for ECO's feature extractors); list values become ``TensorList``s.

    Args:
        **kwargs: parameter name -> value; a ``list`` value is stored as a
            :class:`pytracking.libs.tensorlist.TensorList` so that it broadcasts over the feature blocks.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        if args:
            raise ValueError("FeatureParams takes keyword arguments only")
        # Imported here so that building plain tracker parameters never loads torch.
        from pytracking.libs.tensorlist import TensorList

        for name, val in kwargs.items():
            setattr(self, name, TensorList(val) if isinstance(val, list) else val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({items})"


def Choice(*args: Any) -> Any:
    """One of ``args`` drawn uniformly with Python's ``random`` module (for random parameter search)."""
    if not args:
        raise ValueError("Choice needs at least one option")
    return random.choice(args)
