"""Tests for ltr.models.tracking.kysnet: constructor and structure, frozen parts, a tracking step, gradients."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import read_state_dict_spec

from ltr.models.kys.predictor_wrapper import PredictorWrapper
from ltr.models.kys.response_predictor import ResponsePredictor
from ltr.models.tracking import kysnet


@functools.cache
def trained_net() -> kysnet.KYSNet:
    spec = read_state_dict_spec("kys")
    torch.manual_seed(0)
    return spec.build()


@pytest.fixture
def net() -> kysnet.KYSNet:
    read_state_dict_spec("kys")  # skip when the shared spec is absent
    return trained_net()


def test_constructor_recorded_and_structure(net):
    spec = read_state_dict_spec("kys")
    assert f"{net.constructor.fun_module}.{net.constructor.fun_name}" == spec.constructor
    assert net.constructor.kwds == spec.kwargs
    assert [n for n, _ in net.named_children()] == [
        "backbone_feature_extractor",
        "dimp_classifier",
        "predictor",
        "bb_regressor",
    ]
    assert isinstance(net.predictor, PredictorWrapper)
    predictor = net.predictor.predictor
    assert isinstance(predictor, ResponsePredictor)
    assert predictor.conf_measure == "entropy" and predictor.dimp_thresh == 0.05
    assert net.predictor.cost_volume.max_displacement == 9 and net.predictor.cost_volume.abs_coordinate_output
    assert net.classification_layer == "layer3"
    assert net.bb_regressor_layer == ["layer2", "layer3"]
    assert net.output_layers == ["layer2", "layer3"]
    assert net.dimp_classifier.filter_optimizer.num_iter == 3
    assert net.motion_feat_extractor is None and net.train_iounet is False


def test_training_the_backbone_is_rejected_with_a_clear_error():
    with pytest.raises(ValueError, match="train_feature_extractor=False"):
        kysnet.kysnet_res50(backbone_pretrained=False, train_feature_extractor=True)
    with pytest.raises(ValueError, match="train_feature_extractor=False"):
        kysnet.KYSNet(
            torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity(), "layer3", [], True
        )


def test_frozen_backbone_and_train_mode(net):
    assert not any(p.requires_grad for p in net.backbone_feature_extractor.parameters())
    assert all(p.requires_grad for p in net.predictor.parameters())
    net.train()
    assert net.training and net.predictor.training and net.bb_regressor.training
    assert not net.backbone_feature_extractor.training and not net.dimp_classifier.training
    assert not any(m.training for m in net.backbone_feature_extractor.modules())
    net.eval()
    assert not net.predictor.training and not net.bb_regressor.training


def test_forward_is_not_a_single_pass(net):
    with pytest.raises(NotImplementedError):
        net(torch.zeros(1))


def test_tracking_step_on_small_images(net):
    net.eval()
    torch.manual_seed(1)
    train_imgs = torch.randn(2, 1, 3, 96, 96)
    train_bb = torch.tensor([[[30.0, 30.0, 36.0, 36.0]], [[28.0, 32.0, 40.0, 34.0]]])
    with torch.no_grad():
        filt = net.train_classifier(train_imgs, train_bb)
        assert filt.shape == (1, 512, 4, 4)

        feats = [net.extract_features(torch.randn(1, 3, 96, 96), ["layer2", "classification", "motion"])]
        feats.append(net.extract_features(torch.randn(1, 3, 96, 96), ["classification", "motion"]))
        assert list(feats[0]) == ["layer2", "classification", "motion"]
        assert feats[0]["classification"].shape == (1, 512, 6, 6)
        assert feats[0]["motion"].shape == (1, 1024, 6, 6)

        backbone = net.extract_backbone_features(torch.randn(1, 3, 96, 96))
        assert [t.shape[1] for t in net.get_backbone_bbreg_feat(backbone)] == [512, 1024]
        torch.testing.assert_close(net.get_motion_feat(backbone), backbone["layer3"])

        # DiMP scores: an even filter gives one extra row and column, which the tracker crops.
        scores = net.dimp_classifier.classify(filt, feats[1]["classification"].unsqueeze(1))
        assert scores.shape == (1, 1, 7, 7)
        scores = scores[..., :-1, :-1]
        label = torch.zeros(1, 6, 6)
        label[0, 3, 3] = 1.0
        out = net.predictor.predict_response(
            {
                "feat1": feats[0]["motion"],
                "feat2": feats[1]["motion"],
                "dimp_score_cur": scores,
                "label_prev": label,
                "state_prev": None,
            },
            dimp_thresh=0.05,
        )
    assert out["response"].shape == (1, 1, 6, 6) and out["state_cur"].shape == (1, 8, 6, 6)
    assert out["cost_volume"].shape == (1, 36, 6, 6)
    for value in (out["response"], out["state_cur"], *out["auxiliary_outputs"].values()):
        assert torch.isfinite(value).all()


def test_predictor_backward_reaches_only_trainable_parts(net):
    net.train()
    torch.manual_seed(2)
    feat_prev, feat_cur = torch.randn(2, 1024, 5, 5), torch.randn(2, 1024, 5, 5)
    data = {"input1": feat_prev, "input2": feat_cur, "dimp_score_cur": torch.rand(2, 5, 5)}
    first = net.predictor(dict(data, state_prev=None, label_prev=torch.rand(2, 5, 5)))
    second = net.predictor(dict(data, state_prev=first["state_cur"]))
    loss = second["response"].square().sum() + second["auxiliary_outputs"]["is_target_new"].square().sum()
    net.zero_grad()
    loss.backward()
    grads = [p.grad for p in net.predictor.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None for p in net.backbone_feature_extractor.parameters())
    net.eval()
