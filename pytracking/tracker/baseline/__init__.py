"""Trivial reference tracker: the initial box, optionally moved at a constant velocity."""


def get_tracker_class():
    """The tracker class of this package (imported on demand)."""
    from pytracking.tracker.baseline.baseline import Baseline

    return Baseline
