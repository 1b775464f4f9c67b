"""CSRT with OpenCV's default settings."""

from pytracking.tracker.csrt.csrt import CSRT
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of the CSRT reference tracker (see ``CSRT.DEFAULTS`` for every name)."""
    params = TrackerParams.strict(CSRT.DEFAULTS)

    # Search region
    params.padding = 3.0
    params.template_size = 200.0

    # Failure detection
    params.psr_threshold = 0.035

    return params
