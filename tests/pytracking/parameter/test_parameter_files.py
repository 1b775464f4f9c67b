"""Every parameter file under pytracking/parameter/ builds TrackerParams that set only names its tracker declares.

Parametrised over the files on disk, so a new tracker's parameter files are checked without editing this test.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

import pytest

from pytracking.tracker.base import BaseTracker
from pytracking.utils.params import HARNESS_PARAMETERS, TrackerParams

PARAMETER_ROOT = Path(__file__).resolve().parents[3] / "pytracking" / "parameter"


def parameter_files() -> list[str]:
    """``'<tracker>.<variant>'`` for each ``pytracking/parameter/<tracker>/<variant>.py``."""
    return sorted(f"{p.parent.name}.{p.stem}" for p in PARAMETER_ROOT.glob("*/*.py") if p.stem != "__init__")


def undeclared_names(params: TrackerParams, tracker_class: type[BaseTracker]) -> list[str]:
    """Set names the tracker does not declare, each with the closest declared name when there is one."""
    declared = set(tracker_class.DEFAULTS) | HARNESS_PARAMETERS
    found = []
    for name in sorted(set(params.to_dict()) - declared):
        close = difflib.get_close_matches(name, sorted(declared), n=1)
        found.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return found


def test_the_tree_is_discovered():
    assert {"baseline.default", "csrt.default", "kcf.default"} <= set(parameter_files())


def test_the_check_catches_a_misspelled_name():
    params = TrackerParams()  # a parameter file that forgot strict mode
    params.padding = 2.0
    params.dispalcement_scale = 0.8
    params.debug = 1
    tracker_class = importlib.import_module("pytracking.tracker.csrt").get_tracker_class()
    assert undeclared_names(params, tracker_class) == ["dispalcement_scale"]
    params.paddin = 1.0
    assert undeclared_names(params, tracker_class) == ["dispalcement_scale", "paddin (did you mean padding?)"]


@pytest.mark.parametrize("param_file", parameter_files())
def test_parameter_file_sets_only_declared_names(param_file):
    tracker_name, variant = param_file.split(".")
    tracker_package = PARAMETER_ROOT.parent / "tracker" / tracker_name
    assert (tracker_package / "__init__.py").is_file(), f"no tracker package for parameter folder {tracker_name}"
    tracker_class = importlib.import_module(f"pytracking.tracker.{tracker_name}").get_tracker_class()
    assert issubclass(tracker_class, BaseTracker)
    assert tracker_class.DEFAULTS, f"{tracker_class.__name__} declares no parameters (DEFAULTS is empty)"

    params = importlib.import_module(f"pytracking.parameter.{tracker_name}.{variant}").parameters()

    assert isinstance(params, TrackerParams)
    assert not undeclared_names(params, tracker_class), (
        f"pytracking/parameter/{tracker_name}/{variant}.py sets parameters {tracker_class.__name__} does not "
        f"declare: {undeclared_names(params, tracker_class)}"
    )
