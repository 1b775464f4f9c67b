"""ATOM for VOT: smaller search region, windowed scores and no target-not-found test (``atom_default.pth``)."""

from pytracking.parameter.atom import default
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """ATOM default with the VOT changes."""
    params = default.parameters()

    params.max_image_sample_size = (14 * 16) ** 2
    params.min_image_sample_size = (14 * 16) ** 2
    params.search_area_scale = 4

    params.window_output = True

    params.target_not_found_threshold = -1
    params.distractor_threshold = 100
    params.hard_negative_threshold = 0.3
    params.dispalcement_scale = 0.7

    params.vot_anno_conversion_type = "preserve_area"

    # Lower learning rate; the first-frame samples are not protected in the memory.
    deep_params = default.feature_params(learning_rate=0.0075, init_samples_minimum_weight=0.0)
    params.features = default.features("atom_default.pth", params.use_gpu, deep_params)
    return params
