"""A fully connected layer with constant weights, evaluated with the fastest kernel the build offers.

Box refinement multiplies about ten pooled vectors by the IoU head's large weight matrices (256 x 6400 for DiMP) ten
times per frame, forward and backward. For so few rows the default BLAS call is far from the machine's peak; oneDNN,
given a weight matrix reordered once into its blocked layout, runs the same product about twice as fast on a CPU
(more with two threads). The reordered copy is built when the layer is created; the result equals
``F.linear`` up to float rounding (another summation order).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["FrozenLinear"]


def _onednn_weight(weight: torch.Tensor, rows: int) -> torch.Tensor | None:
    """``weight`` reordered for oneDNN's linear kernel, or None where that path is not available (GPU, float64, a
    build without oneDNN or without these operators, ``torch.backends.mkldnn.enabled`` off)."""
    if weight.device.type != "cpu" or weight.dtype != torch.float32:
        return None
    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):  # the user may turn it off
        return None
    try:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight, rows)
        # One call proves the operator pair works in this build before it is relied on.
        torch.ops.mkldnn._linear_pointwise(weight.new_zeros(1, weight.shape[1]), packed, None, "none", [], "")
    except (AttributeError, RuntimeError, NotImplementedError):
        return None
    return packed


class FrozenLinear:
    """``x @ weight.T + bias`` (optionally followed by ReLU) for a weight that does not change.

    Args:
        weight: (N, K), detached from autograd (the layer gives no parameter gradients).
        bias: (N,) or None.
        rows: the typical number of input rows, a hint for the kernel's blocking.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None, rows: int = 16):
        self.weight = weight.detach()
        self.bias = None if bias is None else bias.detach()
        self.packed = _onednn_weight(self.weight, rows)

    def __call__(self, x: torch.Tensor, relu: bool = False) -> torch.Tensor:
        """(M, K) -> (M, N)."""
        if self.packed is not None and x.device.type == "cpu" and x.dtype == torch.float32:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "relu" if relu else "none", [], "")
        out = F.linear(x, self.weight, self.bias)
        return out.clamp_min_(0) if relu else out
