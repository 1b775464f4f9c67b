"""Tests for ltr.models.layers.blocks."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from ltr.models.layers.blocks import LinearBlock, conv_block

BN_SUFFIXES = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def _shapes(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in module.state_dict().items()]


def test_linear_block_state_dict_matches_iou_net_checkpoint():
    # Same keys, order and shapes as bb_regressor.fc3_rt in the released DiMP-50 / ATOM checkpoints.
    block = LinearBlock(256, 256, 5)
    assert _shapes(block) == [
        ("linear.weight", (256, 6400)),
        ("linear.bias", (256,)),
        ("bn.weight", (256,)),
        ("bn.bias", (256,)),
        ("bn.running_mean", (256,)),
        ("bn.running_var", (256,)),
        ("bn.num_batches_tracked", ()),
    ]


def test_linear_block_options():
    assert list(LinearBlock(4, 3, 2, bias=False, batch_norm=False).state_dict()) == ["linear.weight"]
    block = LinearBlock(4, 3, 2, relu=False)
    assert block.relu is None and isinstance(block.bn, nn.BatchNorm2d)


def test_linear_block_forward_matches_manual():
    torch.manual_seed(0)
    block = LinearBlock(3, 4, 2).double().eval()
    with torch.no_grad():
        block.bn.running_mean.uniform_(-1, 1)
        block.bn.running_var.uniform_(0.5, 2)
        block.bn.weight.uniform_(0.5, 1.5)
        block.bn.bias.uniform_(-1, 1)
    x = torch.randn(5, 3, 2, 2, dtype=torch.float64)
    out = block(x)
    assert out.shape == (5, 4)
    lin = x.reshape(5, -1) @ block.linear.weight.T + block.linear.bias
    bn = block.bn
    expected = torch.relu((lin - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias)
    torch.testing.assert_close(out, expected.detach())
    assert (out == 0).any() and (out > 0).any()


def test_linear_block_without_bn_and_relu_is_linear():
    torch.manual_seed(1)
    block = LinearBlock(2, 3, 3, batch_norm=False, relu=False).double()
    x = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(block(x), block.linear(x.reshape(4, 18)))


def test_conv_block_keys_and_layers():
    block = conv_block(8, 4)
    assert [type(m) for m in block] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert _shapes(block) == [("0.weight", (4, 8, 3, 3)), ("0.bias", (4,))] + [
        (f"1.{s}", () if s == "num_batches_tracked" else (4,)) for s in BN_SUFFIXES
    ]
    assert block[2].inplace


@pytest.mark.parametrize(
    ("kwargs", "types", "keys"),
    [
        ({"batch_norm": False}, [nn.Conv2d, nn.ReLU], ["0.weight", "0.bias"]),
        ({"relu": False, "bias": False}, [nn.Conv2d, nn.BatchNorm2d], ["0.weight"] + [f"1.{s}" for s in BN_SUFFIXES]),
        ({"batch_norm": False, "relu": False}, [nn.Conv2d], ["0.weight", "0.bias"]),
    ],
)
def test_conv_block_options(kwargs, types, keys):
    block = conv_block(1, 8, **kwargs)
    assert [type(m) for m in block] == types
    assert list(block.state_dict()) == keys


def test_conv_block_geometry_forwarded():
    block = conv_block(2, 3, kernel_size=5, stride=2, padding=4, dilation=2, padding_mode="replicate")
    conv = block[0]
    assert conv.kernel_size == (5, 5) and conv.stride == (2, 2) and conv.padding == (4, 4)
    assert conv.dilation == (2, 2) and conv.padding_mode == "replicate"
    out = block.eval()(torch.randn(1, 2, 9, 9))
    assert out.shape == (1, 3, 5, 5) and (out >= 0).all()
