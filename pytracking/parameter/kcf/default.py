"""KCF with OpenCV's default settings."""

from pytracking.tracker.kcf.kcf import KCF
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of the KCF reference tracker (see ``KCF.DEFAULTS`` for every name)."""
    params = TrackerParams.strict(KCF.DEFAULTS)

    # Model update
    params.interp_factor = 0.075

    # Failure detection
    params.detect_thresh = 0.5

    return params
