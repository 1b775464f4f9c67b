"""DiMP-50: ResNet-50 DiMP with the OTB/LaSOT-style settings of the original paper (DiMP-18's values)."""

from pytracking.features.net_wrappers import NetWithBackbone
from pytracking.parameter.dimp import dimp18
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of DiMP-50: those of :mod:`dimp18` with the ResNet-50 network."""
    params = dimp18.parameters()
    params.net = NetWithBackbone(net_path="dimp50.pth", use_gpu=params.use_gpu)
    return params
