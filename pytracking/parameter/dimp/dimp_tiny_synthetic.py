"""This project's own DiMP: ``dimpnet_tiny`` trained from scratch on the synthetic training split (see MODEL_ZOO.md).

The network file ships with the package (``pytracking/zoo/dimp_tiny_synthetic.pth.tar``, checksum-verified), so
this works on a fresh machine without downloads. Tracking settings follow DiMP-18 scaled to the network's training
crops: a 128 px search region covering 4x the target size.
"""

import torch

from pytracking.features.net_wrappers import NetWithBackbone
from pytracking.parameter.dimp import dimp18
from pytracking.utils.params import TrackerParams
from pytracking.zoo import zoo_file


def parameters() -> TrackerParams:
    """DiMP-18's parameters with the tiny network, its 128 px crops and search area."""
    params = dimp18.parameters()
    params.use_gpu = torch.cuda.is_available()
    params.image_sample_size = 8 * 16
    params.search_area_scale = 4
    params.net = NetWithBackbone(net_path=str(zoo_file("dimp_tiny_synthetic.pth.tar")), use_gpu=params.use_gpu)
    return params
