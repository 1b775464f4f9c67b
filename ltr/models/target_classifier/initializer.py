"""Filter initializers: predict the first estimate of a sequence's target-model filter from its training frames.

All initializers take classification features ``feat`` of shape (n_images, n_sequences, C, H, W) (a 4-D
(n_images, C, H, W) tensor is one sequence) and target boxes ``bb`` of shape (n_images, n_sequences, 4) in
``[x, y, w, h]`` image pixels, and return one filter per sequence, (n_sequences, C, fs, fs). The learned ones pool
the (transformed) features inside the target box with precise RoI pooling and average over the training images.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ltr.models.layers.blocks import conv_block
from ltr.models.layers.prroi_pool import PrRoIPool2D

__all__ = [
    "FilterPool",
    "FilterInitializer",
    "FilterInitializerLinear",
    "FilterInitializerZero",
    "FilterInitializerSiamese",
]


def _as_sequences(feat: torch.Tensor, bb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise inputs to feat (n_images, n_sequences, C, H, W) and bb (n_images, n_sequences, 4)."""
    if feat.dim() == 4:
        feat = feat.unsqueeze(1)
    if bb.dim() == 2:
        bb = bb.unsqueeze(1)
    if feat.dim() != 5 or bb.dim() != 3 or feat.shape[:2] != bb.shape[:2]:
        raise ValueError(
            f"expected feat (n_images, n_sequences, C, H, W) and bb (n_images, n_sequences, 4), got "
            f"{tuple(feat.shape)} and {tuple(bb.shape)}"
        )
    return feat, bb


def _init_convs(module: nn.Module, init_weights: str) -> None:
    """He-normal (fan-out) or zero init of every convolution's weight, zero bias."""
    if init_weights not in ("default", "zero"):
        raise ValueError(f"init_weights must be 'default' or 'zero', got {init_weights!r}")
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if init_weights == "default":
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0.0, math.sqrt(2.0 / n))
            else:
                m.weight.data.zero_()
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()


class FilterPool(nn.Module):
    """Pool a ``filter_size x filter_size`` map from the features inside each target box.

    Args:
        filter_size: Side of the pooled map.
        feature_stride: Image pixels per feature cell; the pooling scale is ``1 / feature_stride``.
        pool_square: Pool a square box of the same area and centre as the target box (``side = sqrt(w * h)``)
            instead of the box itself, so that the filter does not depend on the target's aspect ratio.
    """

    def __init__(self, filter_size: int = 1, feature_stride: int = 16, pool_square: bool = False):
        super().__init__()
        self.prroi_pool = PrRoIPool2D(filter_size, filter_size, 1.0 / feature_stride)
        self.pool_square = pool_square

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """Pool the target regions.

        Args:
            feat: Features (B, C, H, W).
            bb: Boxes ``[x, y, w, h]`` in image pixels, B of them (any shape with 4B elements); box ``i`` is pooled
                from ``feat[i]``.

        Returns:
            Pooled features (B, C, filter_size, filter_size).
        """
        bb = bb.reshape(-1, 4)
        xy, wh = bb[:, :2], bb[:, 2:]
        if self.pool_square:
            side = wh.prod(dim=1, keepdim=True).sqrt()
            xy = xy + wh / 2 - side / 2
            wh = side.expand(-1, 2)
        batch_index = torch.arange(bb.shape[0], dtype=bb.dtype, device=bb.device).view(-1, 1)
        rois = torch.cat((batch_index, xy, xy + wh), dim=1)
        return self.prroi_pool(feat, rois)


class FilterInitializer(nn.Module):
    """Pooling-based initializer with learned layers before and after the pooling.

    ``filter_pre_layers``: ``num_filter_pre_convs`` conv blocks (3x3 conv + BN + ReLU) on the features (absent,
    ``None``, when zero). ``filter_post_layers``: ``num_filter_post_convs`` 1x1 conv blocks and a final 1x1
    convolution, applied to the image-averaged pooled map.

    Args:
        filter_size: Side of the filter.
        feature_dim: Feature channels C.
        feature_stride: Image pixels per feature cell.
        pool_square: See :class:`FilterPool`.
        filter_norm: Divide the filter by ``C * filter_size^2``.
        num_filter_pre_convs: Number of 3x3 conv blocks before pooling.
        num_filter_post_convs: Number of 1x1 conv blocks after pooling (before the final 1x1 convolution).
    """

    def __init__(
        self,
        filter_size: int = 1,
        feature_dim: int = 256,
        feature_stride: int = 16,
        pool_square: bool = False,
        filter_norm: bool = True,
        num_filter_pre_convs: int = 1,
        num_filter_post_convs: int = 0,
    ):
        super().__init__()
        self.filter_pool = FilterPool(filter_size=filter_size, feature_stride=feature_stride, pool_square=pool_square)
        self.filter_norm = filter_norm
        pre = [conv_block(feature_dim, feature_dim, kernel_size=3, padding=1) for _ in range(num_filter_pre_convs)]
        self.filter_pre_layers = nn.Sequential(*pre) if pre else None
        post: list[nn.Module] = [
            conv_block(feature_dim, feature_dim, kernel_size=1, padding=0) for _ in range(num_filter_post_convs)
        ]
        post.append(nn.Conv2d(feature_dim, feature_dim, kernel_size=1, padding=0))
        self.filter_post_layers = nn.Sequential(*post)
        _init_convs(self, "default")

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """Predict the initial filters.

        Args:
            feat: Features (n_images, n_sequences, C, H, W).
            bb: Target boxes (n_images, n_sequences, 4), ``[x, y, w, h]`` in image pixels.

        Returns:
            Filters (n_sequences, C, filter_size, filter_size).
        """
        feat, bb = _as_sequences(feat, bb)
        n_images, n_sequences = feat.shape[:2]
        feat = feat.reshape(-1, *feat.shape[-3:])
        if self.filter_pre_layers is not None:
            feat = self.filter_pre_layers(feat)
        weights = self.filter_pool(feat, bb)
        weights = weights.reshape(n_images, n_sequences, *weights.shape[-3:]).mean(dim=0)
        weights = self.filter_post_layers(weights)
        if self.filter_norm:
            weights = weights / (weights.shape[1] * weights.shape[2] * weights.shape[3])
        return weights


class FilterInitializerLinear(nn.Module):
    """DiMP's initializer: a convolution, then the target-box pool averaged over the training images.

    ``filter = mean_i PrRoIPool(filter_conv(feat_i), bb_i)``, optionally divided by ``C * filter_size^2``.

    Args:
        filter_size: Side of the filter.
        feature_dim: Feature channels C.
        feature_stride: Image pixels per feature cell.
        pool_square: See :class:`FilterPool`.
        filter_norm: Divide the filter by ``C * filter_size^2``.
        conv_ksz: Kernel size of ``filter_conv`` (padding ``conv_ksz // 2``, with bias).
        init_weights: ``'default'`` (He-normal weight) or ``'zero'`` (all-zero weight: the initial filter is 0,
            as trained for PrDiMP); the bias starts at zero either way.
    """

    def __init__(
        self,
        filter_size: int = 1,
        feature_dim: int = 256,
        feature_stride: int = 16,
        pool_square: bool = False,
        filter_norm: bool = True,
        conv_ksz: int = 3,
        init_weights: str = "default",
    ):
        super().__init__()
        self.filter_conv = nn.Conv2d(feature_dim, feature_dim, kernel_size=conv_ksz, padding=conv_ksz // 2)
        self.filter_pool = FilterPool(filter_size=filter_size, feature_stride=feature_stride, pool_square=pool_square)
        self.filter_norm = filter_norm
        _init_convs(self, init_weights)

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """Predict the initial filters.

        Args:
            feat: Features (n_images, n_sequences, C, H, W).
            bb: Target boxes (n_images, n_sequences, 4), ``[x, y, w, h]`` in image pixels.

        Returns:
            Filters (n_sequences, C, filter_size, filter_size).
        """
        feat, bb = _as_sequences(feat, bb)
        n_images, n_sequences = feat.shape[:2]
        feat = self.filter_conv(feat.reshape(-1, *feat.shape[-3:]))
        weights = self.filter_pool(feat, bb)
        weights = weights.reshape(n_images, n_sequences, *weights.shape[-3:]).mean(dim=0)
        if self.filter_norm:
            weights = weights / (weights.shape[1] * weights.shape[2] * weights.shape[3])
        return weights


class FilterInitializerZero(nn.Module):
    """All-zero initial filters (no parameters).

    Args:
        filter_size: Side of the filter.
        feature_dim: Feature channels C.
    """

    def __init__(self, filter_size: int = 1, feature_dim: int = 256):
        super().__init__()
        self.filter_size = filter_size
        self.feature_dim = feature_dim

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """Return zeros (n_sequences, feature_dim, filter_size, filter_size) of the dtype/device of ``feat``.

        Args:
            feat: Features (n_images, n_sequences, C, H, W) (only the sequence count is used).
            bb: Target boxes (unused).
        """
        n_sequences = feat.shape[1] if feat.dim() == 5 else 1
        return feat.new_zeros(n_sequences, self.feature_dim, self.filter_size, self.filter_size)


class FilterInitializerSiamese(nn.Module):
    """Parameter-free initializer: the image-averaged target-box pool of the features themselves.

    Args:
        filter_size: Side of the filter.
        feature_stride: Image pixels per feature cell.
        pool_square: See :class:`FilterPool`.
        filter_norm: Divide the filter by ``C * filter_size^2``.
    """

    def __init__(
        self, filter_size: int = 1, feature_stride: int = 16, pool_square: bool = False, filter_norm: bool = True
    ):
        super().__init__()
        self.filter_pool = FilterPool(filter_size=filter_size, feature_stride=feature_stride, pool_square=pool_square)
        self.filter_norm = filter_norm

    def forward(self, feat: torch.Tensor, bb: torch.Tensor) -> torch.Tensor:
        """Predict the initial filters.

        Args:
            feat: Features (n_images, n_sequences, C, H, W).
            bb: Target boxes (n_images, n_sequences, 4), ``[x, y, w, h]`` in image pixels.

        Returns:
            Filters (n_sequences, C, filter_size, filter_size).
        """
        feat, bb = _as_sequences(feat, bb)
        n_images, n_sequences = feat.shape[:2]
        weights = self.filter_pool(feat.reshape(-1, *feat.shape[-3:]), bb)
        weights = weights.reshape(n_images, n_sequences, *weights.shape[-3:]).mean(dim=0)
        if self.filter_norm:
            weights = weights / (weights.shape[1] * weights.shape[2] * weights.shape[3])
        return weights
