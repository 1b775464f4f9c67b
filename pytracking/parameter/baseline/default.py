"""Static-box baseline: the initial box on every frame."""

from pytracking.tracker.baseline.baseline import Baseline
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of the static baseline (see ``Baseline.DEFAULTS`` for every name)."""
    params = TrackerParams.strict(Baseline.DEFAULTS)

    # Motion model
    params.velocity = (0.0, 0.0)

    return params
