"""KCF (kernelized correlation filter), run by OpenCV contrib."""


def get_tracker_class():
    """The tracker class of this package (imported on demand)."""
    from pytracking.tracker.kcf.kcf import KCF

    return KCF
