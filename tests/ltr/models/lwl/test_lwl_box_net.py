"""Tests of LWL with box initialisation (ltr.models.lwl.lwl_box_net) and the box label encoder."""

import ast
import math
from collections import OrderedDict

import pytest
import torch
from conftest import read_state_dict_spec

from ltr.models.lwl import lwl_net
from ltr.models.lwl.label_encoder import ResidualDS16FeatSWBoxCatMultiBlock
from ltr.models.lwl.lwl_box_net import LWTLBoxNet, steepest_descent_resnet50, steepest_descent_resnet50_from_checkpoint

BOXINIT_KWARGS = {
    "filter_size": 3,
    "num_filters": 16,
    "optim_iter": 5,
    "backbone_pretrained": False,
    "out_feature_dim": 512,
    "frozen_backbone_layers": ["conv1", "bn1", "layer1"],
    "label_encoder_dims": [16, 32, 64],
    "use_bn_in_label_enc": False,
    "clf_feat_blocks": 0,
    "final_conv": True,
    "backbone_type": "mrcnn",
    "box_label_encoder_dims": [64, 64],
    "final_bn": False,
}


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return steepest_descent_resnet50(**BOXINIT_KWARGS)


def test_spec_kwargs_and_listed_checkpoint_loads_strict(net):
    # Keys, order, shapes and dtypes are checked in tests/ltr/test_official_networks.py.
    spec = read_state_dict_spec("lwl_boxinit")
    assert spec.kwargs == BOXINIT_KWARGS
    fake = OrderedDict(
        (k, torch.full(ast.literal_eval(shape), 0.5).to(getattr(torch, dtype))) for k, shape, dtype in spec.entries
    )
    net.load_state_dict(fake, strict=True)
    assert net.box_label_encoder.label_pred[0].bias[0].item() == 0.5
    torch.manual_seed(0)
    net.load_state_dict(steepest_descent_resnet50(**BOXINIT_KWARGS).state_dict())


def test_structure(net):
    assert isinstance(net, LWTLBoxNet) and isinstance(net, lwl_net.LWTLNet)
    assert net.constructor.fun_module == "ltr.models.lwl.lwl_box_net"
    enc = net.box_label_encoder
    assert not enc.use_gauss  # factory default
    assert len(enc.res) == 2 and enc.res[0].conv1.in_channels == 513
    assert len(enc.label_pred) == 2  # conv + ReLU, no batch norm (final_bn=False)


def test_bbox_to_mask_and_gauss():
    enc = ResidualDS16FeatSWBoxCatMultiBlock(layer_dims=(4, 2), feat_dim=3, use_bn=False, final_bn=False)
    boxes = torch.tensor([[2.7, 1.2, 3.9, 2.0], [-2.0, -1.0, 4.0, 3.0]])
    mask = enc.bbox_to_mask(boxes, (4, 6))
    expected = torch.zeros(2, 1, 4, 6)
    expected[0, 0, 1:3, 2:5] = 1.0  # coordinates truncated: x 2..4, y 1..2
    expected[1, 0, 0:2, 0:2] = 1.0  # clipped at the image border
    torch.testing.assert_close(mask, expected)

    enc.gauss_scale = 0.25
    gauss = enc.bbox_to_gauss(torch.tensor([[4.0, 2.0, 8.0, 4.0]]), (9, 17))
    # Centre (8, 4), std (2, 1).
    assert gauss.shape == (1, 1, 9, 17)
    assert gauss[0, 0, 4, 8].item() == pytest.approx(1.0)
    assert gauss[0, 0, 4, 10].item() == pytest.approx(math.exp(-0.5))
    assert gauss[0, 0, 5, 8].item() == pytest.approx(math.exp(-0.5))


def test_box_encoder_shapes():
    torch.manual_seed(0)
    enc = ResidualDS16FeatSWBoxCatMultiBlock(layer_dims=(8, 8, 16), feat_dim=5, use_bn=False, final_bn=False)
    feat = torch.randn(6, 5, 4, 7)
    out2d = enc(torch.tensor([[8.0, 8.0, 30.0, 20.0]]).repeat(6, 1), feat, (64, 112))
    assert out2d.shape == (6, 1, 16, 4, 7)
    out3d = enc(torch.tensor([[8.0, 8.0, 30.0, 20.0]]).repeat(3, 2, 1), feat, torch.Size([3, 2, 3, 64, 112]))
    assert out3d.shape == (3, 2, 16, 4, 7)
    torch.testing.assert_close(out3d.reshape(6, 1, 16, 4, 7), out2d)
    assert (out2d >= 0).all()  # final ReLU


def _images(n, n_seq, h=64, w=112, seed=0):
    return torch.randn(n, n_seq, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 50


def test_segment_box_as_in_the_tracker(net):
    net.eval()
    im = _images(1, 1)[0]
    with torch.no_grad():
        feat = net.extract_backbone_features(im)
        scores = net.segment_box(torch.tensor([[20.0, 10.0, 40.0, 30.0]]), feat, im.shape[-2:])
    assert scores.shape == (1, 1, 64, 112) and torch.isfinite(scores).all()
    # The components the tracker calls directly give the same result.
    with torch.no_grad():
        feat_tm = net.extract_target_model_features(feat)
        enc = net.box_label_encoder(torch.tensor([[20.0, 10.0, 40.0, 30.0]]), feat_tm, im.shape[-2:])
        raw, _ = net.decoder(enc, feat, im.shape[-2:])
    torch.testing.assert_close(raw, scores)


def test_forward_trains_only_the_box_encoder(net):
    net.train()
    assert not net.decoder.training and not net.label_encoder.training and net.box_label_encoder.training
    assert not net.feature_extractor.training
    train, test = _images(1, 2, seed=1), _images(2, 2, seed=2)
    bb = torch.tensor([[[10.0, 8.0, 40.0, 30.0], [30.0, 20.0, 50.0, 40.0]]])
    test_scores, box_scores = net(train, test, bb)
    assert test_scores.shape == (2, 2, 64, 112) and box_scores.shape == (1, 2, 64, 112)
    assert torch.isfinite(test_scores).all() and torch.isfinite(box_scores).all()
    (test_scores.square().mean() + box_scores.square().mean()).backward()
    grads = [p.grad for p in net.box_label_encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    others = [net.feature_extractor, net.target_model, net.label_encoder, net.decoder]
    assert all(p.grad is None and not p.requires_grad for m in others for p in m.parameters())
    net.zero_grad(set_to_none=True)

    net.eval()
    assert not any(p.requires_grad for p in net.parameters())


def test_from_checkpoint_shares_the_lwl_modules():
    torch.manual_seed(0)
    base = lwl_net.steepest_descent_resnet50(
        **{k: v for k, v in BOXINIT_KWARGS.items() if "box" not in k and k != "final_bn"}
    )
    box_net = steepest_descent_resnet50_from_checkpoint(
        net=base, num_filters=16, box_label_encoder_dims=(64, 64), use_bn_in_label_enc=False
    )
    assert box_net.decoder is base.decoder and box_net.target_model is base.target_model
    assert [k for k in box_net.state_dict() if k.startswith("box_label_encoder")][
        0
    ] == "box_label_encoder.res.0.conv1.weight"
