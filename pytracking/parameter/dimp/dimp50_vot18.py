"""DiMP-50 with the VOT2018 settings (smaller search region, heavier augmentation, windowed scores)."""

from pytracking.features.net_wrappers import NetWithBackbone
from pytracking.parameter.dimp import dimp18_vot18
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of DiMP-50 for VOT2018: those of :mod:`dimp18_vot18` with the ResNet-50 network."""
    params = dimp18_vot18.parameters()
    params.net = NetWithBackbone(net_path="dimp50.pth", use_gpu=params.use_gpu)
    return params
