"""Tracker base class and the tracker <-> harness I/O contract."""

from pytracking.tracker.base.basetracker import BaseTracker
from pytracking.tracker.base.io_contract import FrameInfo, InitInfo, TrackerOutput, validate_output

__all__ = ["BaseTracker", "FrameInfo", "InitInfo", "TrackerOutput", "validate_output"]
