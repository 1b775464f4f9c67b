"""Builders of the classification feature blocks that sit between the backbone and the DiMP target model.

The block maps a backbone layer (``layer3``) to the feature space in which the discriminative filter is learned and
applied. It ends, by default, with :class:`InstanceL2Norm` so that the filter optimizer sees features of a fixed
scale. The returned ``nn.Sequential`` indices are part of the checkpoint format (``classifier.feature_extractor.N``),
so the layer order below must not change.

Both builders use torchvision's ``BasicBlock`` / ``Bottleneck`` (key names ``conv1``, ``bn1``, ``conv2``, ``bn2``,
``conv3``, ``bn3``, ``downsample.0/.1``).
"""

from __future__ import annotations

import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from ltr.models.layers.normalization import InstanceL2Norm
from ltr.models.layers.transform import InterpCat

__all__ = ["residual_basic_block", "residual_bottleneck"]


def _projection(in_planes: int, out_planes: int, stride: int = 1) -> nn.Sequential:
    """1x1 convolution + batch norm shortcut, used when a residual block changes the channel count or stride."""
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_planes)
    )


def residual_basic_block(
    feature_dim: int = 256,
    num_blocks: int = 1,
    l2norm: bool = True,
    final_conv: bool = False,
    norm_scale: float = 1.0,
    out_dim: int | None = None,
    interp_cat: bool = False,
    final_relu: bool = False,
    init_pool: bool = False,
) -> nn.Sequential:
    """Classification feature block made of ResNet basic blocks (DiMP-18, PrDiMP-18).

    Layer order: [InterpCat] [MaxPool 3/2/1] BasicBlock x num_blocks [Conv3x3 no bias] [ReLU] [InstanceL2Norm].
    Every basic block maps ``feature_dim`` channels to ``feature_dim``, except the last one when ``final_conv`` is
    False, which outputs ``out_dim`` (a 1x1 projection shortcut is added in the rare case ``out_dim !=
    feature_dim``, so that its residual sum is well defined); with ``final_conv`` a 3x3 convolution (padding 1, no
    bias) maps ``feature_dim`` to ``out_dim``.

    Args:
        feature_dim: Channels of the input and of the residual blocks.
        num_blocks: Number of basic blocks.
        l2norm: Append ``InstanceL2Norm(scale=norm_scale)``.
        final_conv: Append the final 3x3 convolution.
        norm_scale: Scale of the L2 normalisation (DiMP: ``sqrt(1 / (out_dim * filter_size^2))``).
        out_dim: Output channels; defaults to ``feature_dim``.
        interp_cat: Start with :class:`InterpCat` (the input is then a dict/list of maps to resize and concatenate).
        final_relu: Append a ReLU before the normalisation.
        init_pool: Start with a 3x3 stride-2 max pool.

    Returns:
        The block, mapping (B, feature_dim, H, W) to (B, out_dim, H', W') (H' = H, or ceil(H/2) with init_pool).
    """
    if out_dim is None:
        out_dim = feature_dim
    layers: list[nn.Module] = []
    if interp_cat:
        layers.append(InterpCat())
    if init_pool:
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    for i in range(num_blocks):
        is_output = i == num_blocks - 1 and not final_conv
        planes = out_dim if is_output else feature_dim
        shortcut = _projection(feature_dim, planes) if planes != feature_dim else None
        layers.append(BasicBlock(feature_dim, planes, downsample=shortcut))
    if final_conv:
        layers.append(nn.Conv2d(feature_dim, out_dim, kernel_size=3, padding=1, bias=False))
    if final_relu:
        layers.append(nn.ReLU(inplace=True))
    if l2norm:
        layers.append(InstanceL2Norm(scale=norm_scale))
    return nn.Sequential(*layers)


def residual_bottleneck(
    feature_dim: int = 256,
    num_blocks: int = 1,
    l2norm: bool = True,
    final_conv: bool = False,
    norm_scale: float = 1.0,
    out_dim: int | None = None,
    interp_cat: bool = False,
    final_relu: bool = False,
    final_pool: bool = False,
    input_dim: int | None = None,
    final_stride: int = 1,
) -> nn.Sequential:
    """Classification feature block made of ResNet bottleneck blocks (DiMP-50, PrDiMP-50, SuperDiMP, LWL).

    Layer order: [InterpCat] Bottleneck x num_blocks [Conv3x3 no bias] [ReLU] [MaxPool 3/2/1] [InstanceL2Norm].
    Bottlenecks have ``feature_dim`` inner planes and ``4 * feature_dim`` outputs, except the last one when
    ``final_conv`` is False, which has ``out_dim // 4`` planes (``out_dim`` outputs). The first block reads
    ``input_dim`` channels; a 1x1 projection shortcut is added to a block whose input and output channel counts
    (or stride) differ. With ``num_blocks=0`` (DiMP-50) the block is just ``[Conv(input_dim -> out_dim), L2Norm]``.

    Args:
        feature_dim: Inner planes of the bottlenecks.
        num_blocks: Number of bottleneck blocks.
        l2norm: Append ``InstanceL2Norm(scale=norm_scale)``.
        final_conv: Append the final 3x3 convolution to ``out_dim`` channels.
        norm_scale: Scale of the L2 normalisation.
        out_dim: Output channels; defaults to ``feature_dim``.
        interp_cat: Start with :class:`InterpCat`.
        final_relu: Append a ReLU after the final convolution.
        final_pool: Append a 3x3 stride-2 max pool before the normalisation.
        input_dim: Input channels; defaults to ``4 * feature_dim`` (ResNet-50 ``layer3`` for the default 256).
        final_stride: Stride of the final convolution, or of the last bottleneck when ``final_conv`` is False.

    Returns:
        The block, mapping (B, input_dim, H, W) to (B, out_dim, H', W').
    """
    if out_dim is None:
        out_dim = feature_dim
    if input_dim is None:
        input_dim = 4 * feature_dim
    layers: list[nn.Module] = []
    if interp_cat:
        layers.append(InterpCat())
    channels = input_dim
    for i in range(num_blocks):
        is_output = i == num_blocks - 1 and not final_conv
        planes = out_dim // 4 if is_output else feature_dim
        stride = final_stride if is_output else 1
        needs_projection = channels != planes * Bottleneck.expansion or stride != 1
        shortcut = _projection(channels, planes * Bottleneck.expansion, stride) if needs_projection else None
        layers.append(Bottleneck(channels, planes, stride=stride, downsample=shortcut))
        channels = planes * Bottleneck.expansion
    if final_conv:
        layers.append(nn.Conv2d(channels, out_dim, kernel_size=3, padding=1, stride=final_stride, bias=False))
    elif num_blocks == 0 and final_stride != 1:
        raise ValueError("final_stride needs a final convolution or at least one block")
    if final_relu:
        layers.append(nn.ReLU(inplace=True))
    if final_pool:
        layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    if l2norm:
        layers.append(InstanceL2Norm(scale=norm_scale))
    return nn.Sequential(*layers)
