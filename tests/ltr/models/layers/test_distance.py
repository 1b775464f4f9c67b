"""Tests for ltr.models.layers.distance."""

from __future__ import annotations

import math

import torch

from ltr.models.layers.distance import DistanceMap

F64 = torch.float64


def test_shape_and_no_state():
    dm = DistanceMap(num_bins=4, bin_displacement=0.5)
    out = dm(torch.zeros(3, 2), (6, 7))
    assert out.shape == (3, 4, 6, 7)
    assert dm.state_dict() == {}


def test_known_center_exact_bins():
    dm = DistanceMap(num_bins=3, bin_displacement=1.0)
    out = dm(torch.tensor([[2.0, 2.0]], dtype=F64), (5, 5))[0]
    # Centre cell: d = 0 -> all mass in bin 0.
    torch.testing.assert_close(out[:, 2, 2], torch.tensor([1.0, 0.0, 0.0], dtype=F64))
    # Direct neighbour: d = 1 -> bin 1.
    torch.testing.assert_close(out[:, 1, 2], torch.tensor([0.0, 1.0, 0.0], dtype=F64))
    # Diagonal: d = sqrt(2) -> split between bins 1 and 2.
    r = math.sqrt(2.0)
    torch.testing.assert_close(out[:, 1, 1], torch.tensor([0.0, 2.0 - r, r - 1.0], dtype=F64))
    # Corner: d = 2 sqrt(2) > num_bins - 1 -> last bin saturates at 1.
    torch.testing.assert_close(out[:, 0, 0], torch.tensor([0.0, 0.0, 1.0], dtype=F64))
    # Knight move: d = sqrt(5) -> last bin saturated, others zero.
    torch.testing.assert_close(out[:, 0, 1], torch.tensor([0.0, 0.0, 1.0], dtype=F64))


def test_fractional_center_and_displacement():
    dm = DistanceMap(num_bins=5, bin_displacement=0.5)
    center = torch.tensor([[1.0, 0.25]], dtype=F64)
    out = dm(center, torch.tensor([3, 3]))[0]
    # Cell (1, 1): d = 0.75 -> t = 1.5 -> bins 1 and 2 get 0.5 each.
    torch.testing.assert_close(out[:, 1, 1], torch.tensor([0.0, 0.5, 0.5, 0.0, 0.0], dtype=F64))
    # Cell (1, 0): d = 0.25 -> t = 0.5.
    torch.testing.assert_close(out[:, 1, 0], torch.tensor([0.5, 0.5, 0.0, 0.0, 0.0], dtype=F64))


def test_bins_sum_to_one_and_match_distance():
    torch.manual_seed(0)
    num_bins, disp = 6, 0.7
    dm = DistanceMap(num_bins, disp)
    center = torch.rand(4, 2, dtype=F64) * 4
    out = dm(center, (5, 5))
    torch.testing.assert_close(out.sum(dim=1), torch.ones(4, 5, 5, dtype=F64))
    assert (out >= 0).all() and (out <= 1).all()
    # Expected bin position equals d / disp where d is within the bins' range.
    yy, xx = torch.meshgrid(torch.arange(5, dtype=F64), torch.arange(5, dtype=F64), indexing="ij")
    dist = torch.sqrt((yy - center[:, 0, None, None]) ** 2 + (xx - center[:, 1, None, None]) ** 2)
    t = dist / disp
    mean_bin = (out * torch.arange(num_bins, dtype=F64).view(1, -1, 1, 1)).sum(dim=1)
    inside = t <= num_bins - 1
    assert inside.any() and (~inside).any()
    torch.testing.assert_close(mean_bin[inside], t[inside])
    torch.testing.assert_close(mean_bin[~inside], torch.full_like(mean_bin[~inside], num_bins - 1.0))


def test_center_viewed_as_pairs_and_dtype_follows_center():
    dm = DistanceMap(2)
    out = dm(torch.tensor([0.0, 0.0, 1.0, 1.0]), (2, 2))
    assert out.shape == (2, 2, 2, 2) and out.dtype == torch.float32
    torch.testing.assert_close(out[1, :, 1, 1], torch.tensor([1.0, 0.0]))
