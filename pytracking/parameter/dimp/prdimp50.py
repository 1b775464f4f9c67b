"""PrDiMP-50: ResNet-50 probabilistic DiMP with a larger search region kept inside the image."""

import torch

from pytracking.features.net_wrappers import NetWithBackbone
from pytracking.tracker.dimp.dimp import DiMP
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """Parameters of PrDiMP-50 (see ``DiMP.DEFAULTS`` for every name)."""
    params = TrackerParams.strict(DiMP.DEFAULTS)
    params.debug = 0
    params.visualization = False
    params.use_gpu = torch.cuda.is_available()

    params.image_sample_size = 22 * 16
    params.search_area_scale = 6
    params.border_mode = "inside_major"
    params.patch_max_scale_change = 1.5

    # Learning
    params.sample_memory_size = 50
    params.learning_rate = 0.01
    params.init_samples_minimum_weight = 0.25
    params.train_skipping = 20

    # Net optimization
    params.update_classifier = True
    params.net_opt_iter = 10
    params.net_opt_update_iter = 2
    params.net_opt_hn_iter = 1

    # Detection
    params.window_output = False

    # Init augmentation
    params.use_augmentation = True
    params.augmentation = {
        "fliplr": True,
        "rotate": [10, -10, 45, -45],
        "blur": [(3, 1), (1, 3), (2, 2)],
        "relativeshift": [(0.6, 0.6), (-0.6, 0.6), (0.6, -0.6), (-0.6, -0.6)],
        "dropout": (2, 0.2),
    }
    params.augmentation_expansion_factor = 2
    params.random_shift_factor = 1 / 3

    # Advanced localization
    params.advanced_localization = True
    params.target_not_found_threshold = 0.04
    params.distractor_threshold = 0.8
    params.hard_negative_threshold = 0.5
    params.target_neighborhood_scale = 2.2
    params.dispalcement_scale = 0.8
    params.hard_negative_learning_rate = 0.02
    params.update_scale_when_uncertain = True

    # IoU-Net refinement
    params.iounet_augmentation = False
    params.use_iounet_pos_for_learning = True
    params.iounet_k = 3
    params.num_init_random_boxes = 9
    params.box_jitter_pos = 0.1
    params.box_jitter_sz = 0.5
    params.maximal_aspect_ratio = 6
    params.box_refinement_iter = 10
    params.box_refinement_step_length = 2.5e-3
    params.box_refinement_step_decay = 1
    params.box_refinement_space = "relative"

    # PrDiMP: the scores are a probability density over the search region
    params.score_preprocess = "softmax"

    params.net = NetWithBackbone(net_path="prdimp50.pth.tar", use_gpu=params.use_gpu)

    params.vot_anno_conversion_type = "preserve_area"

    return params
