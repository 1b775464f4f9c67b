"""ATOM without the IoU-Net: the classifier alone, searched over five scales (``atom_default.pth`` backbone)."""

import torch

from pytracking.parameter.atom import default
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """ATOM default with scale search instead of IoU-Net refinement."""
    params = default.parameters()
    params.scale_factors = 1.02 ** torch.arange(-2, 3).float()
    params.use_iou_net = False
    return params
