"""Base classes of the feature extractors used by the DCF-style trackers (ATOM, ECO).

A feature maps a batch of image patches ``(N, 3, H, W)`` (RGB, values in [0, 255]) to one feature map
(:class:`FeatureBase`) or to several (:class:`MultiFeatureBase`, one per network layer, as a ``TensorList``).
After :meth:`FeatureBase.extract` the maps are optionally pooled (``pool_stride``) or resized to a fixed
``output_size``, then normalised so that the ``normalize_power``-mean of the absolute values of each sample is one.
Per-feature tracker parameters travel with the feature in ``fparams``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from pytracking.libs.tensorlist import TensorList

__all__ = ["FeatureBase", "MultiFeatureBase", "normalize_feature"]

# Keeps the division finite for an all-zero feature map.
_NORM_EPS = 1e-10


def normalize_feature(feat: torch.Tensor, power: float) -> torch.Tensor:
    """Scale each sample so that the mean of ``|feat| ** power`` over its elements is one.

    Args:
        feat: features ``(N, C, H, W)``.
        power: exponent ``p`` (2 gives unit root-mean-square).

    Returns:
        ``feat / (mean(|feat| ** p) + 1e-10) ** (1 / p)`` per sample, ``(N, C, H, W)``.
    """
    n = feat.shape[0]
    mean = feat.abs().reshape(n, -1).pow(power).mean(dim=1)
    return feat / (mean + _NORM_EPS).pow(1.0 / power).reshape(n, 1, 1, 1)


def _pool(feat: torch.Tensor, output_size: Sequence[int] | None, pool_stride: int) -> torch.Tensor:
    if output_size is not None:
        return F.adaptive_avg_pool2d(feat, tuple(int(s) for s in output_size))
    if pool_stride != 1:
        return F.avg_pool2d(feat, pool_stride, pool_stride)
    return feat


class FeatureBase:
    """A single feature map per patch.

    Args:
        fparams: per-feature tracker parameters (e.g. a :class:`~pytracking.utils.params.FeatureParams`).
        pool_stride: average-pooling stride applied after extraction (default 1: none).
        output_size: fixed output size ``(h, w)`` by adaptive average pooling (overrides ``pool_stride``).
        normalize_power: exponent of the per-sample normalisation (None: no normalisation).
        use_for_color: whether the feature is used on colour sequences.
        use_for_gray: whether the feature is used on grey-scale sequences.
    """

    def __init__(
        self,
        fparams: Any = None,
        pool_stride: int | Sequence[int] | None = None,
        output_size: Sequence[int] | Sequence[Sequence[int] | None] | None = None,
        normalize_power: float | None = None,
        use_for_color: bool = True,
        use_for_gray: bool = True,
    ):
        self.fparams = fparams
        self.pool_stride = 1 if pool_stride is None else pool_stride
        self.output_size = output_size
        self.normalize_power = normalize_power
        self.use_for_color = use_for_color
        self.use_for_gray = use_for_gray

    def initialize(self) -> None:
        """Load what the feature needs (networks); called by the tracker before the first extraction."""

    def dim(self) -> int:
        """Number of channels of the feature map."""
        raise NotImplementedError

    def stride(self) -> int:
        """Image pixels per feature cell, pooling included."""
        raise NotImplementedError

    def size(self, im_sz: torch.Tensor) -> torch.Tensor:
        """Feature-map size ``[h, w]`` for patches of size ``im_sz`` ``[h, w]`` (a tensor)."""
        if self.output_size is None:
            return torch.div(im_sz, self.stride(), rounding_mode="floor")
        return torch.tensor([float(self.output_size[0]), float(self.output_size[1])])

    def extract(self, im: torch.Tensor) -> torch.Tensor:
        """Raw features of patches ``im`` ``(N, 3, H, W)`` (RGB, [0, 255])."""
        raise NotImplementedError

    def get_feature(self, im: torch.Tensor) -> torch.Tensor:
        """Extracted, pooled and normalised features of ``im`` ``(N, 3, H, W)``: ``(N, dim, h, w)``."""
        feat = _pool(self.extract(im), self.output_size, int(self.pool_stride))
        if self.normalize_power is not None:
            feat = normalize_feature(feat, self.normalize_power)
        return feat


class MultiFeatureBase(FeatureBase):
    """Several feature maps per patch (e.g. several layers of a network), returned as a ``TensorList``.

    ``pool_stride`` and ``output_size`` may then be given per output (lists); a single int ``pool_stride``
    applies to every output, and ``None`` entries of ``output_size`` fall back to pooling.
    """

    def _num_outputs(self) -> int:
        return len(self.dim())

    def pool_strides(self) -> list[int]:
        """The pooling stride of each output."""
        if isinstance(self.pool_stride, int):
            return [self.pool_stride] * self._num_outputs()
        return [int(s) for s in self.pool_stride]

    def _output_sizes(self) -> list[Sequence[int] | None]:
        if self.output_size is None:
            return [None] * self._num_outputs()
        return list(self.output_size)

    def size(self, im_sz: torch.Tensor) -> TensorList:
        """Feature-map size ``[h, w]`` of each output for patches of size ``im_sz`` (a tensor)."""
        return TensorList(
            torch.div(im_sz, s, rounding_mode="floor") if sz is None else torch.tensor([float(sz[0]), float(sz[1])])
            for sz, s in zip(self._output_sizes(), self.stride(), strict=True)
        )

    def dim(self) -> TensorList:
        """Number of channels of each output."""
        raise NotImplementedError

    def stride(self) -> TensorList:
        """Image pixels per feature cell of each output, pooling included."""
        raise NotImplementedError

    def extract(self, im: torch.Tensor) -> TensorList:
        """Raw feature maps of patches ``im`` ``(N, 3, H, W)``, one per output."""
        raise NotImplementedError

    def get_feature(self, im: torch.Tensor) -> TensorList:
        """Extracted, pooled and normalised features of ``im``, a ``TensorList`` of ``(N, dim_i, h_i, w_i)``."""
        feats = self.extract(im)
        out = TensorList()
        for feat, sz, s in zip(feats, self._output_sizes(), self.pool_strides(), strict=True):
            feat = _pool(feat, sz, s)
            if self.normalize_power is not None:
                feat = normalize_feature(feat, self.normalize_power)
            out.append(feat)
        return out
