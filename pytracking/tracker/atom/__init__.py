"""ATOM tracker (Danelljan et al., CVPR 2019): one class driven by the ``pytracking/parameter/atom`` files."""


def get_tracker_class():
    """The tracker class of this package (imported on demand, so listing trackers does not load torch)."""
    from pytracking.tracker.atom.atom import ATOM

    return ATOM
