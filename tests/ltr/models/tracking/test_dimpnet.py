"""Tests for ltr.models.tracking.dimpnet: the official constructors, forward and backward passes."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import read_state_dict_spec

from ltr.models.target_classifier.optimizer import (
    DiMPL2SteepestDescentGN,
    DiMPSteepestDescentGN,
    PrDiMPSteepestDescentNewton,
)
from ltr.models.tracking import dimpnet


@functools.cache
def build_from_spec(name: str) -> torch.nn.Module:
    spec = read_state_dict_spec(name)
    torch.manual_seed(0)
    return spec.build()


@pytest.mark.parametrize(
    "name,optimizer_cls", [("dimp50", DiMPSteepestDescentGN), ("prdimp18", PrDiMPSteepestDescentNewton)]
)
def test_constructor_recorded_and_attributes(name, optimizer_cls):
    spec = read_state_dict_spec(name)
    net = build_from_spec(name)
    assert f"{net.constructor.fun_module}.{net.constructor.fun_name}" == spec.constructor
    assert net.constructor.kwds == spec.kwargs
    assert isinstance(net.classifier.filter_optimizer, optimizer_cls)
    assert [n for n, _ in net.named_children()] == ["feature_extractor", "classifier", "bb_regressor"]
    assert net.classification_layer == ["layer3"]
    assert net.bb_regressor_layer == ["layer2", "layer3"]
    assert net.output_layers == ["layer2", "layer3"]
    assert net.classifier.filter_optimizer.num_iter == 5


def test_super_dimp_freezes_backbone_layers():
    net = build_from_spec("super_dimp")
    fe = net.feature_extractor
    for name in ("conv1", "bn1", "layer1", "layer2"):
        assert not any(p.requires_grad for p in getattr(fe, name).parameters()), name
    assert all(p.requires_grad for p in fe.layer3.parameters())


def training_batch(n_seq=2, size=128):
    torch.manual_seed(1)
    train_imgs = torch.randn(2, n_seq, 3, size, size)
    test_imgs = torch.randn(1, n_seq, 3, size, size)
    train_bb = torch.tensor([[40.0, 36.0, 48.0, 56.0], [20.0, 30.0, 64.0, 40.0]])[:, None].expand(2, n_seq, 4)
    proposals = train_bb[:1, :, None, :] + 4 * torch.randn(1, n_seq, 6, 4)
    return train_imgs, test_imgs, train_bb, proposals


@pytest.mark.parametrize("name", ["dimp18", "dimp50", "prdimp18", "prdimp50"])
def test_training_forward_backward(name):
    net = build_from_spec(name)
    net.train()
    net.zero_grad()
    train_imgs, test_imgs, train_bb, proposals = training_batch()
    target_scores, iou_pred = net(train_imgs, test_imgs, train_bb, proposals, num_iter=2)

    fs = 4  # filter_size of the trained networks: even, so scores have one extra row and column
    assert len(target_scores) == 3
    assert all(s.shape == (1, 2, 128 // 16 + (fs + 1) % 2, 128 // 16 + (fs + 1) % 2) for s in target_scores)
    assert iou_pred.shape == (1, 2, 6)
    assert all(torch.isfinite(s).all() for s in target_scores) and torch.isfinite(iou_pred).all()

    loss = sum(s.square().mean() for s in target_scores) + iou_pred.square().mean()
    loss.backward()
    clf = net.classifier
    learned = {
        "log_step_length": clf.filter_optimizer.log_step_length,
        "filter_reg": clf.filter_optimizer.filter_reg,
        "filter_conv": clf.filter_initializer.filter_conv.weight,
        "clf_feature_conv": next(p for n, p in clf.feature_extractor.named_parameters() if n.endswith("weight")),
        "iou_predictor": net.bb_regressor.iou_predictor.weight,
        "iou_fc34_3r": net.bb_regressor.fc34_3r[0].weight,
        "backbone_layer3": net.feature_extractor.layer3[0].conv1.weight,
    }
    if isinstance(clf.filter_optimizer, DiMPSteepestDescentGN):
        learned["label_map_predictor"] = clf.filter_optimizer.label_map_predictor.weight
        learned["target_mask_predictor"] = clf.filter_optimizer.target_mask_predictor[0].weight
    for key, p in learned.items():
        assert p.grad is not None, key
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, key
    net.zero_grad(set_to_none=True)


def test_feature_extraction_methods():
    net = build_from_spec("dimp18").eval()
    im = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        backbone = net.extract_backbone_features(im)
        assert list(backbone) == ["layer2", "layer3"]
        assert backbone["layer2"].shape == (2, 128, 12, 12) and backbone["layer3"].shape == (2, 256, 6, 6)
        assert net.get_backbone_clf_feat(backbone) is backbone["layer3"]
        assert net.get_backbone_bbreg_feat(backbone) == [backbone["layer2"], backbone["layer3"]]
        clf = net.extract_classification_feat(backbone)
        assert clf.shape == (2, 256, 6, 6)
        # InstanceL2Norm scale sqrt(1 / (256 * 4^2)): per-sample mean square 1 / (256 * 16).
        torch.testing.assert_close(clf.square().mean(dim=(1, 2, 3)), torch.full((2,), 1 / 4096), rtol=1e-3, atol=0)

        feats = net.extract_features(im)
        assert list(feats) == ["layer2", "layer3", "classification"]
        torch.testing.assert_close(feats["classification"], clf)
        only = net.extract_features(im, ["classification"])
        assert list(only) == ["classification"]
        assert list(net.extract_features(im, ["layer1"])) == ["layer1"]
        assert list(net.extract_backbone_features(im, ["layer1"])) == ["layer1"]


def test_default_constructors_and_variants():
    torch.manual_seed(0)
    net = dimpnet.dimpnet18(backbone_pretrained=False)
    opt = net.classifier.filter_optimizer
    assert opt.label_map_predictor.weight.shape == (1, 5, 1, 1)
    assert net.classifier.filter_size == 1
    assert net.constructor.kwds == {"backbone_pretrained": False}

    l2 = dimpnet.L2dimpnet18(backbone_pretrained=False, filter_size=4, optim_iter=1)
    assert isinstance(l2.classifier.filter_optimizer, DiMPL2SteepestDescentGN)
    assert list(l2.classifier.filter_optimizer.state_dict()) == ["log_step_length", "filter_reg"]
    train_imgs, test_imgs, train_bb, proposals = training_batch(n_seq=1, size=96)
    with torch.no_grad():
        scores, iou = l2.eval()(train_imgs, test_imgs, train_bb, proposals)
    assert len(scores) == 2 and scores[0].shape == (1, 1, 7, 7) and iou.shape == (1, 1, 6)

    frozen = dimpnet.klcedimpnet18(backbone_pretrained=False, train_feature_extractor=False, init_pool_square=True)
    assert not any(p.requires_grad for p in frozen.feature_extractor.parameters())
    assert frozen.classifier.filter_initializer.filter_pool.pool_square


def test_dimpnet_tiny_trains_and_reloads_through_its_constructor():
    torch.manual_seed(0)
    net = dimpnet.dimpnet_tiny()
    assert net.constructor.fun_name == "dimpnet_tiny"
    assert net.constructor.fun_module == "ltr.models.tracking.dimpnet"
    assert net.classifier.filter_size == 4
    train = torch.randn(2, 2, 3, 128, 128)
    test = torch.randn(1, 2, 3, 128, 128)
    boxes = torch.tensor([40.0, 36.0, 40.0, 48.0]).repeat(2, 2, 1)
    proposals = boxes[:1, :, None].repeat(1, 1, 4, 1) + torch.randn(1, 2, 4, 4)
    scores, iou = net(train, test, boxes, proposals)
    assert [s.shape for s in scores] == [(1, 2, 9, 9)] * 6  # initial filter + 5 steepest-descent iterates
    assert iou.shape == (1, 2, 4)
    (scores[-1].square().mean() + iou.square().mean()).backward()
    assert net.feature_extractor.layer3[0].conv1.weight.grad.abs().sum() > 0
    assert net.feature_extractor.layer4[0].conv1.weight.grad is None  # unused stage
    rebuilt = net.constructor.get()
    rebuilt.load_state_dict(net.state_dict())
