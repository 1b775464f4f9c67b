"""CSRT (discriminative correlation filter with channel and spatial reliability), run by OpenCV contrib."""


def get_tracker_class():
    """The tracker class of this package (imported on demand)."""
    from pytracking.tracker.csrt.csrt import CSRT

    return CSRT
