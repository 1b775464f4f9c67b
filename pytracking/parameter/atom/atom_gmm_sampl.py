"""ATOM with the IoU-Net trained on GMM-sampled proposals (PrDiMP paper): network ``atom_gmm_sampl``, refinement
in the relative box space."""

from pytracking.parameter.atom import default
from pytracking.utils.params import TrackerParams


def parameters() -> TrackerParams:
    """ATOM default with the ``atom_gmm_sampl`` network and its box refinement."""
    params = default.parameters()
    params.box_refinement_space = "relative"
    params.box_refinement_iter = 10
    params.box_refinement_step_length = (1e-2, 5e-2)  # (position, size)
    params.features = default.features("atom_gmm_sampl", params.use_gpu, default.feature_params())
    return params
