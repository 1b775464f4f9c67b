"""Embedded synthetic tracking benchmark: procedurally rendered sequences with exact boxes, masks and attributes.

Generated on first use into a cache folder, in an OTB / GOT-10k-like layout (see :mod:`.layout`), so that the
evaluation chain runs without any downloaded benchmark::

    from pytracking.evaluation.synthetic import ensure_split
    split_dir = ensure_split("synthetic")          # ~/.cache/pytracking/synthetic/synthetic

The names below are imported lazily, so importing this package does not load OpenCV or scikit-image.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ATTRIBUTES",
    "CHALLENGES",
    "GENERATOR_VERSION",
    "SPLITS",
    "SplitConfig",
    "default_root",
    "derive_attributes",
    "ensure_split",
    "generate_split",
    "is_complete",
    "read_attributes",
    "render_sequence",
]

_HOME = {
    "ATTRIBUTES": "generator",
    "CHALLENGES": "generator",
    "GENERATOR_VERSION": "generator",
    "SPLITS": "generator",
    "SplitConfig": "generator",
    "derive_attributes": "generator",
    "render_sequence": "generator",
    "default_root": "layout",
    "ensure_split": "layout",
    "generate_split": "layout",
    "is_complete": "layout",
    "read_attributes": "layout",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
