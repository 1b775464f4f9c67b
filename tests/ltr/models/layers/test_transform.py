"""Tests for ltr.models.layers.transform."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from ltr.models.layers.transform import InterpCat, interpolate


def test_interpolate_is_noop_for_matching_size():
    x = torch.randn(1, 2, 4, 5)
    assert interpolate(x, (4, 5)) is x
    assert interpolate(x, torch.Size([4, 5])) is x
    assert interpolate(x, torch.tensor([4, 5])) is x


def test_interpolate_resizes_bilinearly():
    x = torch.arange(4.0).view(1, 1, 2, 2)
    out = interpolate(x, [4, 4])
    torch.testing.assert_close(out, F.interpolate(x, (4, 4), mode="bilinear", align_corners=False))
    # align_corners=False: the top-left output pixel equals the top-left input pixel (edge clamping).
    assert out[0, 0, 0, 0] == 0.0 and out[0, 0, 3, 3] == 3.0


def test_interp_cat_resizes_to_smallest_map_and_keeps_order():
    torch.manual_seed(0)
    fine = torch.randn(2, 3, 8, 8)
    coarse = torch.randn(2, 5, 4, 4)
    out = InterpCat()(OrderedDict(layer2=fine, layer3=coarse))
    assert out.shape == (2, 8, 4, 4)
    torch.testing.assert_close(out[:, :3], F.interpolate(fine, (4, 4), mode="bilinear", align_corners=False))
    assert torch.equal(out[:, 3:], coarse)


def test_interp_cat_accepts_sequence_and_same_size_is_plain_cat():
    a, b = torch.randn(1, 2, 3, 3), torch.randn(1, 1, 3, 3)
    assert torch.equal(InterpCat()([a, b]), torch.cat([a, b], dim=1))
    with pytest.raises(ValueError):
        InterpCat()([])
