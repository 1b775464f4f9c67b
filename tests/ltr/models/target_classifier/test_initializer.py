"""Tests for ltr.models.target_classifier.initializer."""

from __future__ import annotations

import pytest
import torch

from ltr.models.target_classifier.initializer import (
    FilterInitializer,
    FilterInitializerLinear,
    FilterInitializerSiamese,
    FilterInitializerZero,
    FilterPool,
)

F64 = torch.float64


def ramp(n, channels=2, size=10):
    """Features (n, C, size, size) equal to the column index x (channel 0) and row index y (channel 1)."""
    xs = torch.arange(size, dtype=F64).view(1, -1).expand(size, size)
    return torch.stack((xs, xs.t())).expand(n, channels, size, size).contiguous()


def test_filter_pool_averages_inside_box():
    # Box [2, 5] x [3, 5] in feature cells (stride 16); the interpolant of a ramp is the ramp, so the 1x1 pool is
    # the box centre and the 2x2 pool the bin centres.
    feat = ramp(1)
    bb = torch.tensor([[32.0, 48.0, 48.0, 32.0]], dtype=F64)
    out = FilterPool(filter_size=1, feature_stride=16)(feat, bb)
    torch.testing.assert_close(out.flatten(), torch.tensor([3.5, 4.0], dtype=F64))
    out2 = FilterPool(filter_size=2, feature_stride=16)(feat, bb)
    torch.testing.assert_close(out2[0, 0], torch.tensor([[2.75, 4.25], [2.75, 4.25]], dtype=F64))
    torch.testing.assert_close(out2[0, 1], torch.tensor([[3.5, 3.5], [4.5, 4.5]], dtype=F64))


def test_filter_pool_uses_batch_index_per_box():
    feat = torch.stack((torch.ones(1, 6, 6), 3 * torch.ones(1, 6, 6))).to(F64)
    bb = torch.tensor([[16.0, 16.0, 32.0, 32.0]] * 2, dtype=F64)
    out = FilterPool(filter_size=1)(feat, bb)
    torch.testing.assert_close(out.flatten(), torch.tensor([1.0, 3.0], dtype=F64))


def test_filter_pool_square_keeps_centre_and_area():
    feat = ramp(1, size=12)
    bb = torch.tensor([[16.0, 64.0, 128.0, 32.0]], dtype=F64)  # 8 x 2 cells -> 4 x 4 cells, same centre
    square = FilterPool(filter_size=2, pool_square=True)(feat, bb)
    explicit = FilterPool(filter_size=2)(feat, torch.tensor([[48.0, 48.0, 64.0, 64.0]], dtype=F64))
    torch.testing.assert_close(square, explicit)


def identity_linear_initializer(channels, filter_size, filter_norm):
    init = FilterInitializerLinear(
        filter_size=filter_size, feature_dim=channels, filter_norm=filter_norm, conv_ksz=1
    ).double()
    with torch.no_grad():
        init.filter_conv.weight.copy_(torch.eye(channels, dtype=F64).view(channels, channels, 1, 1))
        init.filter_conv.bias.zero_()
    return init


def test_linear_initializer_means_over_images():
    # 2 images, 3 sequences, constant features: image 0 holds s + 1, image 1 holds 3 (s + 1) for sequence s.
    c = 4
    base = torch.arange(1.0, 4.0, dtype=F64).view(1, 3, 1, 1, 1)
    feat = torch.cat((base, 3 * base)).expand(2, 3, c, 6, 6)
    bb = torch.tensor([16.0, 16.0, 48.0, 32.0], dtype=F64).expand(2, 3, 4)
    out = identity_linear_initializer(c, 2, filter_norm=False)(feat, bb)
    assert out.shape == (3, c, 2, 2)
    torch.testing.assert_close(out, (2 * base[0]).expand(3, c, 2, 2))
    normed = identity_linear_initializer(c, 2, filter_norm=True)(feat, bb)
    torch.testing.assert_close(normed, out / (c * 2 * 2))


def test_linear_initializer_init_modes_and_keys():
    torch.manual_seed(0)
    zero = FilterInitializerLinear(filter_size=4, feature_dim=8, init_weights="zero")
    assert list(zero.state_dict()) == ["filter_conv.weight", "filter_conv.bias"]
    assert zero.filter_conv.weight.abs().sum() == 0
    out = zero(torch.randn(2, 3, 8, 5, 5), torch.tensor([8.0, 8.0, 40.0, 40.0]).expand(2, 3, 4))
    assert out.shape == (3, 8, 4, 4) and out.abs().sum() == 0
    default = FilterInitializerLinear(filter_size=1, feature_dim=64, init_weights="default")
    assert default.filter_conv.bias.abs().sum() == 0
    std = default.filter_conv.weight.std().item()
    assert abs(std - (2.0 / (9 * 64)) ** 0.5) < 0.1 * std
    with pytest.raises(ValueError, match="init_weights"):
        FilterInitializerLinear(init_weights="xavier")


def test_zero_initializer():
    out = FilterInitializerZero(filter_size=3, feature_dim=5)(torch.randn(2, 4, 5, 6, 6, dtype=F64), None)
    assert out.shape == (4, 5, 3, 3) and out.dtype == F64 and out.abs().sum() == 0


def test_siamese_initializer():
    feat = torch.stack((torch.ones(1, 2, 6, 6), 3 * torch.ones(1, 2, 6, 6))).to(F64)  # (2 images, 1 seq, ...)
    bb = torch.tensor([16.0, 16.0, 32.0, 32.0], dtype=F64).expand(2, 1, 4)
    init = FilterInitializerSiamese(filter_size=1, filter_norm=False)
    assert list(init.state_dict()) == []
    torch.testing.assert_close(init(feat, bb), torch.full((1, 2, 1, 1), 2.0, dtype=F64))
    normed = FilterInitializerSiamese(filter_size=1, filter_norm=True)(feat, bb)
    torch.testing.assert_close(normed, torch.full((1, 2, 1, 1), 1.0, dtype=F64))


def test_filter_initializer_pre_post_layers():
    torch.manual_seed(0)
    init = FilterInitializer(filter_size=2, feature_dim=6, num_filter_pre_convs=1, num_filter_post_convs=1)
    keys = list(init.state_dict())
    assert keys[0].startswith("filter_pre_layers.0.0.") and keys[-1] == "filter_post_layers.1.bias"
    out = init.eval()(torch.randn(3, 2, 6, 7, 7), torch.tensor([16.0, 16.0, 48.0, 48.0]).expand(3, 2, 4))
    assert out.shape == (2, 6, 2, 2) and torch.isfinite(out).all()
    assert FilterInitializer(num_filter_pre_convs=0).filter_pre_layers is None
