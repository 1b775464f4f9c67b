"""Leaf numerical libraries: tensor containers, DCF toolbox and optimizers (import only torch/numpy)."""

from pytracking.libs.tensordict import TensorDict
from pytracking.libs.tensorlist import TensorList

__all__ = ["TensorList", "TensorDict"]
