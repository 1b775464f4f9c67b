"""ATOM with the IoU-Net trained by probabilistic regression (KL, PrDiMP paper): network ``atom_prob_ml``,
refinement in the relative box space."""

from pytracking.parameter.atom import default
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """ATOM default with the ``atom_prob_ml`` network and its box refinement."""
    params = default.parameters()
    params.box_refinement_space = "relative"
    params.box_refinement_iter = 10
    params.box_refinement_step_length = (2e-4, 10e-4)  # (position, size)
    params.features = default.features("atom_prob_ml", params.use_gpu, default.feature_params())
    return params
