"""Fixtures for the backbone tests: the recorded state-dict listings of the official checkpoints."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

# tests/ltr/models/backbone/conftest.py -> repository root is parents[4]; the shared spec sits next to it.
SPEC_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "spec" / "state_dicts"

Listing = list[tuple[str, tuple[int, ...], str]]


def read_listing(name: str, prefix: str) -> Listing:
    """Entries ``(key without prefix, shape, dtype)`` of ``<name>.txt`` whose key starts with ``prefix``."""
    entries = []
    for line in (SPEC_DIR / f"{name}.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape, dtype = line.split("\t")
        if key.startswith(prefix):
            entries.append((key[len(prefix) :], tuple(ast.literal_eval(shape)), dtype))
    return entries


def listing_of(state_dict: dict[str, torch.Tensor]) -> Listing:
    """The same ``(key, shape, dtype)`` triples for a live state dict."""
    return [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in state_dict.items()]


@pytest.fixture
def spec_listing() -> Callable[[str, str], Listing]:
    """``spec_listing(name, prefix)`` reads a checkpoint listing; skips when the shared spec is absent."""

    def read(name: str, prefix: str = "feature_extractor.") -> Listing:
        if not (SPEC_DIR / f"{name}.txt").is_file():
            pytest.skip(f"state-dict spec {name}.txt not found in {SPEC_DIR}")
        entries = read_listing(name, prefix)
        assert entries, f"no {prefix!r} entries in {name}.txt"
        return entries

    return read


@pytest.fixture
def live_listing() -> Callable[[dict[str, torch.Tensor]], Listing]:
    """``live_listing(state_dict)`` gives the listing triples of a module's state dict."""
    return listing_of
