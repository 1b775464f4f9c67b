"""KCF tracker (Henriques et al., "High-Speed Tracking with Kernelized Correlation Filters", TPAMI 2015) as
implemented in OpenCV contrib; a weight-free reference for the evaluation pipeline."""

from __future__ import annotations

from typing import Any, ClassVar

from pytracking.tracker.base.opencv_tracker import OpenCVTracker

__all__ = ["KCF"]


class KCF(OpenCVTracker):
    """OpenCV's ``TrackerKCF`` on RGB frames (no scale estimation). Parameters go to ``cv2.TrackerKCF_Params``."""

    opencv_name = "TrackerKCF"

    # Values are OpenCV's own defaults, written out so that a run does not change with the OpenCV version.
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "detect_thresh": 0.5,  # response peak below which the target is reported lost
        "interp_factor": 0.075,  # model learning rate
        "sigma": 0.2,  # Gaussian kernel bandwidth
        "lambda_": 1e-4,  # ridge regularisation
        "output_sigma_factor": 0.0625,  # label bandwidth relative to the target size
        "resize": True,  # downscale large targets ...
        "max_patch_size": 6400,  # ... to at most this many pixels
    }
