"""Tests for ltr.models.kys.cost_volume against direct loop implementations of the correlation-sampler semantics."""

from __future__ import annotations

import itertools

import pytest
import torch

from ltr.models.kys import cost_volume as cv
from ltr.models.kys.cost_volume import CostVolume, remap_cost_volume, spatial_correlation


def naive_correlation(feat1, feat2, kernel_size, patch_size, stride, padding):
    """out[b, py, px, h, w] = sum_c sum_(i,j) f1[c, h*s-p+i, w*s-p+j] * f2[c, ... + (dy, dx)], zero outside."""
    batch, _, height, width = feat1.shape
    radius = (patch_size - 1) // 2
    out_h = (height + 2 * padding - kernel_size) // stride + 1
    out_w = (width + 2 * padding - kernel_size) // stride + 1
    out = torch.zeros(batch, patch_size, patch_size, out_h, out_w, dtype=feat1.dtype)
    for b, py, px, h, w in itertools.product(
        range(batch), range(patch_size), range(patch_size), range(out_h), range(out_w)
    ):
        total = 0.0
        for i, j in itertools.product(range(kernel_size), range(kernel_size)):
            y1, x1 = h * stride - padding + i, w * stride - padding + j
            y2, x2 = y1 + py - radius, x1 + px - radius
            if 0 <= y1 < height and 0 <= x1 < width and 0 <= y2 < height and 0 <= x2 < width:
                total += float((feat1[b, :, y1, x1] * feat2[b, :, y2, x2]).sum())
        out[b, py, px, h, w] = total
    return out


def naive_remap(cost_volume):
    batch, num_disp, height, width = cost_volume.shape
    patch = int(round(num_disp**0.5))
    radius = (patch - 1) // 2
    vol = cost_volume.reshape(batch, patch, patch, height, width)
    out = torch.zeros(batch, height, width, height, width, dtype=cost_volume.dtype)
    for py, px, h, w in itertools.product(range(patch), range(patch), range(height), range(width)):
        i, j = h + py - radius, w + px - radius
        if 0 <= i < height and 0 <= j < width:
            out[:, i, j, h, w] = vol[:, py, px, h, w]
    return out


@pytest.fixture
def feats():
    torch.manual_seed(0)
    return torch.randn(2, 3, 5, 6, dtype=torch.float64), torch.randn(2, 3, 5, 6, dtype=torch.float64)


# (kernel_size, patch_size, stride, padding); patch 9 exceeds the 5x6 map so every border case occurs.
CONFIGS = [(3, 5, 1, 1), (1, 3, 1, 0), (3, 9, 1, 1), (3, 3, 2, 1), (2, 3, 1, 0), (3, 5, 1, 0)]


@pytest.mark.parametrize("ratio", [0, 10**6], ids=["shifted", "all_pairs"])
@pytest.mark.parametrize("config", CONFIGS)
def test_spatial_correlation_matches_loop_reference(feats, config, ratio, monkeypatch):
    monkeypatch.setattr(cv, "_ALL_PAIRS_MAX_RATIO", ratio)
    kernel_size, patch_size, stride, padding = config
    got = spatial_correlation(*feats, kernel_size, patch_size, stride, padding)
    expected = naive_correlation(*feats, kernel_size, patch_size, stride, padding)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_spatial_correlation_of_constant_maps_counts_overlaps():
    ones = torch.ones(1, 2, 4, 4, dtype=torch.float64)
    out = spatial_correlation(ones, ones, kernel_size=3, patch_size=3, stride=1, padding=1)
    # Zero displacement at an interior position: 9 window cells x 2 channels.
    assert out[0, 1, 1, 1, 1] == 18
    # Corner (0, 0), displacement (-1, -1): window rows {0, 1} are inside, of which only row 1 stays inside when
    # shifted by -1; same for columns -> 1 cell x 2 channels.
    assert out[0, 0, 0, 0, 0] == 2
    # Displacement (+1, +1) at the corner: window rows {0, 1}, shifted rows {1, 2} all inside -> 2x2 cells.
    assert out[0, 2, 2, 0, 0] == 8


def test_default_layer_is_fast_path_for_kys_sizes():
    # The KYS configuration (18x18 maps, 19x19 displacements) takes the all-pairs path.
    assert 18 * 18 <= cv._ALL_PAIRS_MAX_RATIO * 19 * 19


def test_remap_matches_loop_reference():
    torch.manual_seed(1)
    vol = torch.randn(2, 25, 4, 6, dtype=torch.float64)
    torch.testing.assert_close(remap_cost_volume(vol), naive_remap(vol), rtol=0, atol=0)


def test_remap_zeroes_pairs_beyond_max_displacement():
    vol = torch.ones(1, 9, 5, 5)
    out = remap_cost_volume(vol)
    i, j, h, w = torch.meshgrid(*(torch.arange(5),) * 4, indexing="ij")
    near = ((i - h).abs() <= 1) & ((j - w).abs() <= 1)
    assert torch.equal(out[0], near.float())


def test_cost_volume_absolute_output_is_windowed_pair_correlation(feats):
    feat1, feat2 = feats
    layer = CostVolume(kernel_size=3, max_displacement=2, abs_coordinate_output=True)
    out = layer(feat1, feat2)
    assert out.shape == (2, 30, 5, 6)
    disp = naive_correlation(feat1, feat2, 3, 5, 1, 1)
    for b, i, j, h, w in itertools.product(range(2), range(5), range(6), range(5), range(6)):
        dy, dx = i - h, j - w
        expected = disp[b, dy + 2, dx + 2, h, w] if abs(dy) <= 2 and abs(dx) <= 2 else 0.0
        assert out[b, i * 6 + j, h, w] == pytest.approx(float(expected), abs=1e-12)


def test_cost_volume_displacement_output_shape(feats):
    out = CostVolume(kernel_size=3, max_displacement=1)(*feats)
    assert out.shape == (2, 9, 5, 6)
    torch.testing.assert_close(out, naive_correlation(*feats, 3, 3, 1, 1).reshape(2, 9, 5, 6))


def test_cost_volume_gradients():
    torch.manual_seed(2)
    feat1 = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    feat2 = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    layer = CostVolume(kernel_size=3, max_displacement=1, abs_coordinate_output=True)
    assert torch.autograd.gradcheck(layer, (feat1, feat2))


@pytest.mark.parametrize(
    "call",
    [
        lambda: spatial_correlation(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 4)),
        lambda: spatial_correlation(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3), patch_size=4),
        lambda: spatial_correlation(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3)),
        lambda: remap_cost_volume(torch.zeros(1, 8, 3, 3)),
        lambda: remap_cost_volume(torch.zeros(1, 16, 3, 3)),
        lambda: remap_cost_volume(torch.zeros(9, 3, 3)),
    ],
)
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
