"""PrDiMP-50: ResNet-50 probabilistic DiMP with a larger search region kept inside the image."""

from pytracking.features.net_wrappers import NetWithBackbone
from pytracking.parameter.dimp import prdimp18
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of PrDiMP-50: those of :mod:`prdimp18` with a 352 px search region of 6x the target that stays
    inside the image (``inside_major``, shrinking at most 1.5x), and the ResNet-50 network."""
    params = prdimp18.parameters()
    params.image_sample_size = 22 * 16
    params.search_area_scale = 6
    params.border_mode = "inside_major"
    params.patch_max_scale_change = 1.5
    params.net = NetWithBackbone(net_path="prdimp50.pth.tar", use_gpu=params.use_gpu)
    return params
