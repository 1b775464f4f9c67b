"""Shared fixtures: isolated settings files, paths to the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO_ROOT.parent / "shared" / "data" / "real"


@pytest.fixture
def shared_real() -> Path:
    """Root of the real annotated sequences (OTB, VOT, UAV123, DAVIS); skips when absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip(f"shared real data not found at {SHARED_REAL}")
    return SHARED_REAL


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """Point both packages' settings files into a temp dir and drop user overrides, so no test reads or writes
    the checkout's local.py or depends on the caller's environment."""
    base = tmp_path_factory.mktemp("settings")
    for key in list(os.environ):
        if key.startswith(("PYTRACKING_", "LTR_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PYTRACKING_LOCAL_FILE", str(base / "pytracking_local.py"))
    monkeypatch.setenv("LTR_LOCAL_FILE", str(base / "ltr_local.py"))
    return base
