"""Convolution helpers that accept ``TensorList`` arguments.

Both functions are lifted with :func:`~pytracking.libs.tensorlist.tensor_operation`: passing a ``TensorList``
of inputs (and optionally a ``TensorList`` of weights) convolves element by element and returns a
``TensorList``. This is how a multi-block filter (one block per feature layer) is applied to multi-block
features in a single call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pytracking.libs.tensorlist import tensor_operation

__all__ = ["conv2d", "conv1x1"]

_MODES = (None, "same", "valid", "full")
_PADDING_MODES = ("zeros", "replicate", "reflect", "circular")


def _pair(value: int | tuple[int, int] | list[int], name: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, int):
        pair = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


@tensor_operation
def conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    mode: str | None = None,
    padding_mode: str = "zeros",
) -> torch.Tensor:
    """2-D cross-correlation (``F.conv2d``) with padding chosen by ``mode``.

    The padding is derived from the effective kernel size ``e = dilation * (k - 1) + 1`` per axis:

    * ``mode=None``: ``padding`` is used as given (symmetric, ``(ph, pw)`` or an int).
    * ``'valid'``: no padding.
    * ``'same'``: ``e // 2`` before and ``(e - 1) // 2`` after, so with stride 1 the output has the input's
      spatial size. For odd ``e`` this is the usual symmetric ``k // 2``; for even ``e`` it equals padding
      ``e // 2`` on both sides and cropping the extra trailing row/column (the output is centred half a pixel
      towards the top-left). With stride ``s`` the output size is ``ceil(H / s)``.
    * ``'full'``: ``e - 1`` on each side (stride 1 gives ``H + e - 1``).

    ``padding_mode`` selects what the padded border holds: ``'zeros'``, or ``'replicate'``, ``'reflect'``,
    ``'circular'`` (applied with ``F.pad`` before an unpadded convolution).

    Args:
        input: Features, shape (N, C, H, W).
        weight: Filters, shape (O, C / groups, kh, kw).
        bias: Optional bias, shape (O,).
        stride: Stride, int or (sh, sw).
        padding: Padding used when ``mode`` is None, int or (ph, pw); must be 0 when ``mode`` is set.
        dilation: Dilation, int or (dh, dw).
        groups: Number of channel groups; C and O must be divisible by it.
        mode: None, ``'same'``, ``'valid'`` or ``'full'``.
        padding_mode: ``'zeros'``, ``'replicate'``, ``'reflect'`` or ``'circular'``.

    Returns:
        The response, shape (N, O, H', W').

    Raises:
        ValueError: On an unknown mode, inconsistent shapes or invalid stride/padding/dilation/groups.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
    if input.dim() != 4 or weight.dim() != 4:
        raise ValueError(
            f"input and weight must be 4-D (N,C,H,W) and (O,C/groups,kh,kw), got {tuple(input.shape)} "
            f"and {tuple(weight.shape)}"
        )
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if input.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups != 0:
        raise ValueError(
            f"channel mismatch: input has {input.shape[1]} channels, weight {tuple(weight.shape)} with "
            f"groups={groups} expects {weight.shape[1] * groups} and O divisible by groups"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    stride_hw = _pair(stride, "stride", 1)
    dilation_hw = _pair(dilation, "dilation", 1)
    padding_hw = _pair(padding, "padding", 0)
    if mode is not None and padding_hw != (0, 0):
        raise ValueError(f"padding must be 0 when mode={mode!r} sets it, got {padding!r}")

    eff_h, eff_w = (d * (k - 1) + 1 for d, k in zip(dilation_hw, weight.shape[2:]))
    if mode is None:
        # F.pad order: (left, right, top, bottom).
        pads = (padding_hw[1], padding_hw[1], padding_hw[0], padding_hw[0])
    elif mode == "valid":
        pads = (0, 0, 0, 0)
    elif mode == "same":
        pads = (eff_w // 2, (eff_w - 1) // 2, eff_h // 2, (eff_h - 1) // 2)
    else:  # full
        pads = (eff_w - 1, eff_w - 1, eff_h - 1, eff_h - 1)

    symmetric = pads[0] == pads[1] and pads[2] == pads[3]
    if padding_mode == "zeros" and symmetric:
        # Let the convolution pad itself: no padded copy of the input.
        return F.conv2d(input, weight, bias, stride_hw, (pads[2], pads[0]), dilation_hw, groups)
    if any(pads):
        input = F.pad(input, pads, mode="constant" if padding_mode == "zeros" else padding_mode)
    return F.conv2d(input, weight, bias, stride_hw, 0, dilation_hw, groups)


@tensor_operation
def conv1x1(input: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """1x1 convolution as a matrix product over the channel dimension (no bias).

    Args:
        input: Features, shape (N, C, H, W).
        weight: Channel mixing matrix, shape (O, C) or (O, C, 1, 1).

    Returns:
        ``weight @ input`` at every pixel, shape (N, O, H, W); equal to ``conv2d(input, weight)``.

    Raises:
        ValueError: If the shapes are inconsistent or the kernel is not 1x1.
    """
    if weight.dim() == 4:
        if weight.shape[2:] != (1, 1):
            raise ValueError(f"conv1x1 needs a 1x1 kernel, got weight of shape {tuple(weight.shape)}")
        weight = weight.reshape(weight.shape[0], weight.shape[1])
    if weight.dim() != 2 or input.dim() != 4 or input.shape[1] != weight.shape[1]:
        raise ValueError(
            f"expected input (N,C,H,W) and weight (O,C), got {tuple(input.shape)} and {tuple(weight.shape)}"
        )
    n, c, h, w = input.shape
    return torch.matmul(weight, input.reshape(n, c, h * w)).reshape(n, weight.shape[0], h, w)
