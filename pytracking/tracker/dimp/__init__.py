"""DiMP family tracker (DiMP, PrDiMP, SuperDiMP): one class driven by the ``pytracking/parameter/dimp`` files."""


def get_tracker_class():
    """The tracker class of this package (imported on demand, so listing trackers does not load torch)."""
    from pytracking.tracker.dimp.dimp import DiMP

    return DiMP
