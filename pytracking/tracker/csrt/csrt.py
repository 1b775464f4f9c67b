"""CSRT tracker (Lukezic et al., "Discriminative Correlation Filter with Channel and Spatial Reliability",
CVPR 2017) as implemented in OpenCV contrib; a weight-free reference for the evaluation pipeline."""

from __future__ import annotations

from typing import Any, ClassVar

from pytracking.tracker.base.opencv_tracker import OpenCVTracker

__all__ = ["CSRT"]


class CSRT(OpenCVTracker):
    """OpenCV's ``TrackerCSRT`` on RGB frames. Parameters are copied onto ``cv2.TrackerCSRT_Params``."""

    opencv_name = "TrackerCSRT"

    # Values are OpenCV's own defaults, written out so that a run does not change with the OpenCV version.
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "padding": 3.0,  # search region = padding x target size
        "template_size": 200.0,  # side (px) of the square the search region is resized to
        "psr_threshold": 0.035,  # response peak-to-sidelobe ratio below which the target is reported lost
        "filter_lr": 0.02,  # correlation filter learning rate
        "number_of_scales": 33,  # scale search: number of scales ...
        "scale_step": 1.02,  # ... and the ratio between consecutive scales
        "use_segmentation": True,  # colour-histogram spatial reliability map
        "use_hog": True,  # feature channels: HOG, colour names, grey, RGB
        "use_color_names": True,
        "use_gray": True,
        "use_rgb": False,
    }
