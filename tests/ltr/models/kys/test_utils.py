"""Tests for ltr.models.kys.utils: feature translation and DiMP score jittering."""

from __future__ import annotations

import torch

from ltr.models.kys.utils import CenterShiftFeatures, DiMPScoreJittering, shift_features


def test_zero_shift_is_identity():
    torch.manual_seed(0)
    feat = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(shift_features(feat, torch.zeros(2, 2)), feat)


def test_one_cell_shift_moves_content_and_zero_fills():
    torch.manual_seed(1)
    feat = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    # One cell is 2/W wide in normalised coordinates; output x samples input x + t.
    out = shift_features(feat, torch.tensor([[2 / 5, 0.0], [0.0, -2 / 4]], dtype=torch.float64))
    torch.testing.assert_close(out[0, :, :, :-1], feat[0, :, :, 1:])
    assert (out[0, :, :, -1] == 0).all()
    torch.testing.assert_close(out[1, :, 1:], feat[1, :, :-1])
    assert (out[1, :, 0] == 0).all()


def test_half_cell_shift_interpolates():
    feat = torch.arange(5, dtype=torch.float64).view(1, 1, 1, 5).expand(1, 1, 3, 5).contiguous()
    out = shift_features(feat, torch.tensor([[1 / 5, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(out[0, 0, 1, :-1], torch.tensor([0.5, 1.5, 2.5, 3.5], dtype=torch.float64))
    assert out[0, 0, 1, -1] == 2.0  # half of the last value, half of the zero outside


def test_center_shift_moves_target_to_map_centre():
    feat = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    feat[0, 0, 1, 0] = 1.0
    # Box centred on cell (row 1, col 0) at stride 16: centre (8, 24) px.
    anno = torch.tensor([0.0, 16.0, 16.0, 16.0], dtype=torch.float64)
    out = CenterShiftFeatures(feature_stride=16)(feat, anno)
    expected = torch.zeros_like(feat)
    expected[0, 0, 2, 2] = 1.0
    torch.testing.assert_close(out, expected)


def _scores_and_labels():
    label = torch.zeros(3, 4, 4)
    label[:, 1, 1] = 1.0
    score = torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(2)) * 0.5
    score[:, 1, 1] = 0.8
    score[:, 3, 2] = 0.6  # strongest background peak
    return score, label


def test_jitter_noop_keeps_scores_and_gradients():
    score, label = _scores_and_labels()
    score.requires_grad_()
    out = DiMPScoreJittering()(score, label)
    assert torch.equal(out, score)
    out.sum().backward()
    assert torch.equal(score.grad, torch.ones_like(score))


def test_jitter_zeroes_maps():
    score, label = _scores_and_labels()
    out = DiMPScoreJittering(p_zero=1.0)(score, label)
    assert out.shape == score.shape and (out == 0).all()


def test_jitter_enhances_distractor_to_fraction_of_target_peak():
    score, label = _scores_and_labels()
    jitter = DiMPScoreJittering(
        p_zero=1.0,  # maps that get a distractor are never zeroed
        distractor_ratio=0.5,
        p_distractor=1.0,
        max_distractor_enhance_factor=0.9,
        min_distractor_enhance_factor=0.9,
    )
    source = score.clone().requires_grad_()
    out = jitter(source, label)
    expected = score.clone()
    expected[:, 3, 2] = 0.9 * 0.8
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert (source.grad == 0).all()  # corrupted maps carry no gradient


def test_jitter_requires_distractor_ratio():
    score, label = _scores_and_labels()
    # 0.6 / 0.8 = 0.75 < 0.9: no distractor; maps are left unchanged.
    out = DiMPScoreJittering(distractor_ratio=0.9, p_distractor=1.0)(score, label)
    assert torch.equal(out, score)
