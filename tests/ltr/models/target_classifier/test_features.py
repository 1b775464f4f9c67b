"""Tests for ltr.models.target_classifier.features."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from ltr.models.layers.normalization import InstanceL2Norm
from ltr.models.layers.transform import InterpCat
from ltr.models.target_classifier.features import residual_basic_block, residual_bottleneck


def test_dimp18_block_layout_and_keys():
    block = residual_basic_block(num_blocks=1, final_conv=True, norm_scale=0.25, out_dim=256)
    assert [type(m) for m in block] == [BasicBlock, nn.Conv2d, InstanceL2Norm]
    conv = block[1]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (256, 256, (3, 3), (1, 1))
    assert conv.bias is None
    assert block[2].scale == 0.25
    keys = list(block.state_dict())
    assert keys[:2] == ["0.conv1.weight", "0.bn1.weight"]
    assert keys[-1] == "1.weight"
    assert not any("downsample" in k for k in keys)


def test_dimp50_block_layout():
    block = residual_bottleneck(num_blocks=0, final_conv=True, out_dim=512)
    assert [type(m) for m in block] == [nn.Conv2d, InstanceL2Norm]
    assert (block[0].in_channels, block[0].out_channels, block[0].bias) == (1024, 512, None)
    assert list(block.state_dict()) == ["0.weight"]


def test_basic_block_output_is_l2_normalised():
    torch.manual_seed(0)
    scale = math.sqrt(1.0 / (32 * 16))
    block = residual_basic_block(feature_dim=16, num_blocks=2, final_conv=True, norm_scale=scale, out_dim=32).eval()
    out = block(torch.randn(3, 16, 7, 5))
    assert out.shape == (3, 32, 7, 5)
    # InstanceL2Norm: per-sample mean square = scale^2.
    torch.testing.assert_close(out.square().mean(dim=(1, 2, 3)), torch.full((3,), scale**2), rtol=1e-4, atol=0)


def test_basic_block_options():
    block = residual_basic_block(
        feature_dim=8, num_blocks=1, l2norm=False, out_dim=12, interp_cat=True, final_relu=True, init_pool=True
    )
    assert [type(m) for m in block] == [InterpCat, nn.MaxPool2d, BasicBlock, nn.ReLU]
    # The last block changes the channel count, so it gets a projection shortcut.
    assert block[2].downsample is not None
    out = block([torch.randn(2, 4, 8, 8), torch.randn(2, 4, 16, 16)])
    assert out.shape == (2, 12, 4, 4)
    assert (out >= 0).all()


def test_bottleneck_blocks_channels_and_stride():
    torch.manual_seed(0)
    block = residual_bottleneck(feature_dim=8, num_blocks=2, out_dim=48, input_dim=20, final_stride=2, l2norm=False)
    assert [type(m) for m in block] == [Bottleneck, Bottleneck]
    assert block[0].conv1.in_channels == 20 and block[0].downsample is not None
    assert block[1].conv1.out_channels == 12 and block[1].conv2.stride == (2, 2)
    assert block.eval()(torch.randn(2, 20, 9, 9)).shape == (2, 48, 5, 5)


def test_bottleneck_final_conv_pool_and_relu():
    block = residual_bottleneck(
        feature_dim=4, num_blocks=1, final_conv=True, out_dim=6, final_relu=True, final_pool=True, norm_scale=2.0
    )
    assert [type(m) for m in block] == [Bottleneck, nn.Conv2d, nn.ReLU, nn.MaxPool2d, InstanceL2Norm]
    assert block[0].downsample is None  # 16 input channels = 4 * feature_dim
    out = block.eval()(torch.randn(1, 16, 8, 8))
    assert out.shape == (1, 6, 4, 4)


def test_bottleneck_final_stride_without_layers_is_rejected():
    with pytest.raises(ValueError, match="final_stride"):
        residual_bottleneck(num_blocks=0, final_conv=False, final_stride=2)
