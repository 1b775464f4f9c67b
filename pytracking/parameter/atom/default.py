"""ATOM: the settings of the paper (OTB, NFS, UAV123, LaSOT, TrackingNet, GOT-10k), network ``atom_default.pth``.

The other atom parameter files start from these and use :func:`feature_params` / :func:`features` to rebuild the
feature extractor with their own per-feature values or network.
"""

from typing import Any

import torch

from pytracking.features.deep import ATOMResNet18
from pytracking.features.extractor import MultiResolutionExtractor
from pytracking.tracker.atom.atom import ATOM
from pytracking.utils.params import FeatureParams, TrackerParams


def feature_params(**overrides: Any) -> TrackerParams:
    """Per-feature parameters of the ResNet-18 ``layer3`` feature (see ``ATOM.FEATURE_DEFAULTS``)."""
    deep_params = TrackerParams.strict(ATOM.FEATURE_DEFAULTS)
    deep_params.learning_rate = 0.01
    deep_params.init_samples_minimum_weight = 0.25
    deep_params.output_sigma_factor = 1 / 4
    deep_params.kernel_size = (4, 4)
    deep_params.compressed_dim = 64
    deep_params.filter_reg = 1e-1
    deep_params.projection_reg = 1e-4
    deep_params.use_augmentation = True
    for name, value in overrides.items():
        setattr(deep_params, name, value)
    return deep_params


def features(net_path: str, use_gpu: bool, deep_params: TrackerParams) -> MultiResolutionExtractor:
    """The extractor: ResNet-18 ``layer3`` of the ATOM network ``net_path``, RMS-normalised."""
    deep_feat = ATOMResNet18(
        output_layers=["layer3"],
        net_path=net_path,
        use_gpu=use_gpu,
        fparams=FeatureParams(feature_params=[deep_params]),
        normalize_power=2,
    )
    return MultiResolutionExtractor([deep_feat])


def parameters() -> TrackerParams:
    """Parameters of ATOM (see ``ATOM.DEFAULTS`` for every name)."""
    params = TrackerParams.strict(ATOM.DEFAULTS)
    params.debug = 0
    params.visualization = False
    params.use_gpu = torch.cuda.is_available()

    # Patch sampling
    params.max_image_sample_size = (18 * 16) ** 2
    params.min_image_sample_size = (18 * 16) ** 2
    params.search_area_scale = 5
    params.feature_size_odd = False  # even feature maps suit the even (4 x 4) kernel

    # Optimisation
    params.CG_iter = 5
    params.init_CG_iter = 60
    params.init_GN_iter = 6
    params.post_init_CG_iter = 0
    params.fletcher_reeves = False
    params.standard_alpha = True
    params.CG_forgetting_rate = None

    # Training
    params.sample_memory_size = 250
    params.train_skipping = 10

    # Windowing
    params.feature_window = False
    params.window_output = False

    # Detection
    params.scale_factors = torch.ones(1)
    params.score_upsample_factor = 1

    # First-frame augmentation
    params.augmentation = {
        "fliplr": True,
        "rotate": [5, -5, 10, -10, 20, -20, 30, -30, 45, -45, -60, 60],
        "blur": [(2, 0.2), (0.2, 2), (3, 1), (1, 3), (2, 2)],
        "relativeshift": [(0.6, 0.6), (-0.6, 0.6), (0.6, -0.6), (-0.6, -0.6)],
        "dropout": (7, 0.2),
    }
    params.augmentation_expansion_factor = 2
    params.random_shift_factor = 1 / 3

    # Factorised convolution
    params.update_projection_matrix = True
    params.proj_init_method = "randn"
    params.filter_init_method = "randn"
    params.projection_activation = "none"
    params.response_activation = ("mlu", 0.05)

    # Advanced localisation
    params.advanced_localization = True
    params.target_not_found_threshold = 0.25
    params.distractor_threshold = 0.8
    params.hard_negative_threshold = 0.5
    params.target_neighborhood_scale = 2.2
    params.dispalcement_scale = 0.8
    params.hard_negative_learning_rate = 0.02
    params.hard_negative_CG_iter = 5
    params.update_scale_when_uncertain = True

    # IoU-Net
    params.use_iou_net = True
    params.iounet_augmentation = False
    params.iounet_k = 3
    params.num_init_random_boxes = 9
    params.box_jitter_pos = 0.1
    params.box_jitter_sz = 0.5
    params.maximal_aspect_ratio = 6
    params.box_refinement_iter = 5
    params.box_refinement_step_length = 1
    params.box_refinement_step_decay = 1

    params.features = features("atom_default.pth", params.use_gpu, feature_params())
    return params
