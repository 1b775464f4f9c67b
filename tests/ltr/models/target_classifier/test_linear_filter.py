"""Tests for ltr.models.target_classifier.linear_filter."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from ltr.models.layers.filter import apply_filter
from ltr.models.target_classifier.features import residual_basic_block
from ltr.models.target_classifier.initializer import FilterInitializerLinear, FilterInitializerZero
from ltr.models.target_classifier.linear_filter import LinearFilter
from ltr.models.target_classifier.optimizer import DiMPSteepestDescentGN


def make_filter(num_iter=2, init_weights="default", channels=16, filter_size=2):
    torch.manual_seed(0)
    feature_block = residual_basic_block(
        feature_dim=channels,
        num_blocks=1,
        final_conv=True,
        norm_scale=math.sqrt(1 / (channels * filter_size**2)),
        out_dim=channels,
    )
    return LinearFilter(
        filter_size=filter_size,
        filter_initializer=FilterInitializerLinear(
            filter_size=filter_size, feature_dim=channels, filter_norm=False, init_weights=init_weights
        ),
        filter_optimizer=DiMPSteepestDescentGN(num_iter=num_iter, num_dist_bins=10, bin_displacement=0.5),
        feature_extractor=feature_block,
    )


def test_children_order_and_reinit():
    lf = make_filter()
    assert [name for name, _ in lf.named_children()] == ["filter_initializer", "filter_optimizer", "feature_extractor"]
    keys = list(lf.state_dict())
    assert keys[0] == "filter_initializer.filter_conv.weight"
    assert keys[2] == "filter_optimizer.log_step_length"
    assert keys[-1] == "feature_extractor.1.weight"
    bn = lf.feature_extractor[0].bn1
    assert torch.equal(bn.weight, torch.ones(16)) and torch.equal(bn.bias, torch.zeros(16))
    conv = lf.feature_extractor[1]
    expected_std = math.sqrt(2.0 / (9 * 16))
    assert abs(conv.weight.std().item() - expected_std) < 0.1 * expected_std


def test_zero_initialised_initializer_is_kept():
    lf = make_filter(init_weights="zero")
    assert lf.filter_initializer.filter_conv.weight.abs().sum() == 0


def test_forward_returns_scores_per_iterate():
    lf = make_filter(num_iter=3).eval()
    n_train, n_test, n_seq = 2, 1, 3
    train_feat = torch.randn(n_train * n_seq, 16, 8, 8)
    test_feat = torch.randn(n_test * n_seq, 16, 8, 8)
    train_bb = torch.tensor([32.0, 40.0, 48.0, 40.0]).expand(n_train, n_seq, 4)
    scores = lf(train_feat, test_feat, train_bb)
    assert len(scores) == 4
    assert all(s.shape == (n_test, n_seq, 9, 9) for s in scores)  # even filter: one extra row and column

    # Same result from 5-D inputs, and each score map is the classification of the test features by an iterate.
    scores5 = lf(train_feat.view(n_train, n_seq, 16, 8, 8), test_feat.view(n_test, n_seq, 16, 8, 8), train_bb)
    for a, b in zip(scores, scores5):
        torch.testing.assert_close(a, b)
    clf_train = lf.extract_classification_feat(train_feat, n_seq)
    clf_test = lf.extract_classification_feat(test_feat, n_seq)
    assert clf_train.shape == (n_train, n_seq, 16, 8, 8)
    _, iterates, losses = lf.get_filter(clf_train, train_bb)
    assert len(losses) == 4
    torch.testing.assert_close(scores[-1], lf.classify(iterates[-1], clf_test))
    torch.testing.assert_close(lf.classify(iterates[0], clf_test), apply_filter(clf_test, iterates[0]))


def test_forward_passes_optimizer_kwargs():
    lf = make_filter(num_iter=3).eval()
    train_bb = torch.tensor([32.0, 40.0, 48.0, 40.0]).expand(2, 1, 4)
    scores = lf(torch.randn(2, 16, 8, 8), torch.randn(1, 16, 8, 8), train_bb, num_iter=1)
    assert len(scores) == 2


def test_without_optimizer_or_feature_extractor():
    lf = LinearFilter(filter_size=1, filter_initializer=FilterInitializerZero(filter_size=1, feature_dim=4))
    feat = torch.randn(2, 3, 4, 5, 5)
    single = feat[0]
    assert lf.extract_classification_feat(single) is single
    weights, iterates, losses = lf.get_filter(feat, torch.zeros(2, 3, 4))
    assert iterates == [weights] and losses is None
    assert weights.shape == (3, 4, 1, 1)


def test_train_bb_must_be_3d():
    lf = make_filter()
    with pytest.raises(ValueError, match="train_bb"):
        lf(torch.randn(2, 16, 8, 8), torch.randn(2, 16, 8, 8), torch.zeros(2, 4))


def test_gradients_reach_all_learned_parts():
    lf = make_filter(num_iter=2)
    train_bb = torch.tensor([32.0, 40.0, 48.0, 40.0]).expand(2, 2, 4)
    scores = lf(torch.randn(4, 16, 8, 8), torch.randn(2, 16, 8, 8), train_bb)
    sum(s.square().mean() for s in scores).backward()
    for name, p in lf.named_parameters():
        if isinstance(dict(lf.named_modules()).get(name.rsplit(".", 1)[0]), nn.BatchNorm2d):
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert lf.filter_optimizer.filter_reg.grad.abs().sum() > 0
    assert lf.filter_optimizer.label_map_predictor.weight.grad.abs().sum() > 0
