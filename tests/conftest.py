"""Shared fixtures: isolated settings files, paths to the shared real data."""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO_ROOT.parent / "shared" / "data" / "real"
SPEC_DIR = REPO_ROOT.parent / "shared" / "spec" / "state_dicts"


@dataclass(frozen=True)
class StateDictSpec:
    """One official network's listing: constructor path, training kwargs, (key, shape, dtype) entries."""

    name: str
    constructor: str
    kwargs: dict
    entries: list[tuple[str, str, str]]

    def build(self):
        """Call the constructor with the listed kwargs (ImportError if its module does not exist yet)."""
        module_name, fun_name = self.constructor.rsplit(".", 1)
        return getattr(importlib.import_module(module_name), fun_name)(**self.kwargs)

    def part(self, prefix: str) -> list[tuple[str, str, str]]:
        """The entries whose key starts with ``prefix``, with the prefix stripped (state_dict order kept)."""
        return [(k.removeprefix(prefix), shape, dtype) for k, shape, dtype in self.entries if k.startswith(prefix)]


def read_state_dict_spec(name: str) -> StateDictSpec:
    """Parse ``shared/spec/state_dicts/<name>.txt``; skips the calling test when the file is absent."""
    path = SPEC_DIR / f"{name}.txt"
    if not path.is_file():
        pytest.skip(f"state-dict spec not found at {path}")
    constructor, kwargs, entries = None, None, []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            if "constructor:" in line:
                constructor = line.split("constructor:", 1)[1].strip()
            elif line.startswith("# kwargs"):
                kwargs = json.loads(line.split(":", 1)[1].strip())
        elif line.strip():
            key, shape, dtype = line.split("\t")
            entries.append((key, shape, dtype))
    assert constructor and kwargs is not None, f"malformed spec header in {path}"
    return StateDictSpec(name, constructor, kwargs, entries)


def listing(state: dict[str, torch.Tensor] | torch.nn.Module) -> list[tuple[str, str, str]]:
    """``(key, shape, dtype)`` of a state dict (or a module's), in the listing format: shape as ``str(tuple)``,
    dtype without the ``torch.`` prefix."""
    if isinstance(state, torch.nn.Module):
        state = state.state_dict()
    return [(k, str(tuple(v.shape)), str(v.dtype).removeprefix("torch.")) for k, v in state.items()]


def official_spec_names() -> list[str]:
    """Names of all official network listings (empty when shared/ is absent)."""
    return sorted(p.stem for p in SPEC_DIR.glob("*.txt"))


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
    # Outputs of any test go to its own temp dir, never into the checkout (results, plots, checkpoints).
    for name, sub in OUTPUT_SETTINGS.items():
        monkeypatch.setenv(name, str(base / sub))
    return base


# Output locations redirected for every test (tests of the settings defaults remove these overrides).
OUTPUT_SETTINGS = {
    "PYTRACKING_RESULTS_PATH": "tracking_results",
    "PYTRACKING_SEGMENTATION_PATH": "segmentation_results",
    "PYTRACKING_RESULT_PLOT_PATH": "result_plots",
    "LTR_WORKSPACE_DIR": "workspace",
}


@pytest.fixture
def default_output_settings(isolated_settings, monkeypatch):
    """Undo the output redirection of ``isolated_settings`` (for tests of the default values)."""
    for name in OUTPUT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
