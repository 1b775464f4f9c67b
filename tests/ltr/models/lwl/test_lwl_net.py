"""Tests of the LWL network (ltr.models.lwl.lwl_net) and its components."""

import ast
import math
from collections import OrderedDict

import pytest
import torch
from conftest import read_state_dict_spec

from ltr.models.lwl.decoder import LWTLDecoder
from ltr.models.lwl.initializer import FilterInitializerZero
from ltr.models.lwl.label_encoder import ResidualDS16SW
from ltr.models.lwl.loss_residual_modules import LWTLResidual
from ltr.models.lwl.lwl_net import LWTLNet, steepest_descent_resnet50
from pytracking.libs.tensorlist import TensorList

# Constructor arguments of the released lwl_stage2.pth (header of the spec listing).
STAGE2_KWARGS = {
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
}


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return steepest_descent_resnet50(**STAGE2_KWARGS)


def test_spec_header_kwargs_are_the_ones_tested():
    assert read_state_dict_spec("lwl_stage2").kwargs == STAGE2_KWARGS


def test_listed_checkpoint_loads_strict():
    # Keys, order, shapes and dtypes are checked in tests/ltr/test_official_networks.py.
    entries = read_state_dict_spec("lwl_stage2").entries
    # A checkpoint with exactly the listed entries loads strictly.
    fake = OrderedDict(
        (k, torch.zeros(ast.literal_eval(shape), dtype=getattr(torch, dtype))) for k, shape, dtype in entries
    )
    net2 = steepest_descent_resnet50(**STAGE2_KWARGS)
    net2.load_state_dict(fake, strict=True)
    assert net2.target_model.filter_optimizer.residual_module.filter_reg.item() == 0.0


def test_structure_and_constructor(net):
    assert isinstance(net, LWTLNet)
    assert net.output_layers == ["layer1", "layer2", "layer3", "layer4"]
    assert net.constructor.fun_module == "ltr.models.lwl.lwl_net"
    assert net.constructor.fun_name == "steepest_descent_resnet50"
    assert net.constructor.kwds == STAGE2_KWARGS
    rebuilt = net.constructor.get()
    assert list(rebuilt.state_dict()) == list(net.state_dict())
    # Frozen backbone layers, learned filter regularization initialised to optim_init_reg.
    assert not net.feature_extractor.layer1[0].conv1.weight.requires_grad
    assert net.feature_extractor.layer2[0].conv1.weight.requires_grad
    assert net.target_model.filter_optimizer.residual_module.filter_reg.item() == pytest.approx(0.01)
    # Target-model feature block: 3x3 conv without bias then L2 norm to sqrt(1 / (512 * 3 * 3)) RMS.
    norm = net.target_model.feature_extractor[1]
    assert norm.scale == pytest.approx(math.sqrt(1.0 / (512 * 9)))
    assert net.target_model.feature_extractor[0].bias is None


def _inputs(n_train=2, n_test=2, n_seq=1, h=64, w=112, seed=0):
    gen = torch.Generator().manual_seed(seed)
    train = torch.randn(n_train, n_seq, 3, h, w, generator=gen) * 50
    test = torch.randn(n_test, n_seq, 3, h, w, generator=gen) * 50
    masks = torch.zeros(n_train, n_seq, h, w)
    masks[..., h // 4 : 3 * h // 4, w // 4 : w // 2] = 1.0
    return train, test, masks


def test_forward_shape_finite_and_backward(net):
    net.train()
    train, test, masks = _inputs(n_train=2, n_test=2, n_seq=1)
    scores = net(train, test, masks, num_refinement_iter=2)
    assert scores.shape == (2, 1, 64, 112)
    assert torch.isfinite(scores).all()
    scores.square().mean().backward()
    params = {
        "filter_reg": net.target_model.filter_optimizer.residual_module.filter_reg,
        "label_pred": net.label_encoder.label_pred[0].weight,
        "samp_w_pred": net.label_encoder.samp_w_pred.weight,
        "decoder": net.decoder.project.conv2.weight,
        "tm_features": net.target_model.feature_extractor[0].weight,
        "backbone_layer3": net.feature_extractor.layer3[0].conv1.weight,
    }
    for name, p in params.items():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert net.feature_extractor.conv1.weight.grad is None
    net.zero_grad(set_to_none=True)


def test_first_test_frame_does_not_depend_on_refinement_but_later_frames_do(net):
    net.eval()
    train, test, masks = _inputs(n_train=1, n_test=2, n_seq=2, h=96, w=160, seed=1)
    with torch.no_grad():
        no_update = net(train, test, masks, num_refinement_iter=0)
        update = net(train, test, masks, num_refinement_iter=2)
    assert no_update.shape == update.shape == (2, 2, 96, 160)
    torch.testing.assert_close(no_update[0], update[0])
    assert not torch.allclose(no_update[1], update[1])
    # Sequences are independent: segmenting the second alone gives the same scores.
    with torch.no_grad():
        alone = net(train[:, 1:], test[:, 1:], masks[:, 1:], num_refinement_iter=2)
    torch.testing.assert_close(alone, update[:, 1:], rtol=1e-4, atol=1e-4)


def test_few_shot_learner_reduces_its_loss_and_segment_target(net):
    net.eval()
    train, test, masks = _inputs(n_train=1, n_test=1, n_seq=1, seed=2)
    with torch.no_grad():
        feat = net.extract_backbone_features(train.reshape(-1, 3, 64, 112))
        feat_tm = net.extract_target_model_features(feat).reshape(1, 1, 512, 4, 7)
        label, sw = net.label_encoder(masks, feat_tm)
        filt, iterates, losses = net.target_model.get_filter(feat_tm, label, sw)
        assert filt.shape == (1, 16, 512, 3, 3) and len(iterates) == 6 and len(losses) == 6
        assert losses[-1] < losses[0]
        scores, encoding = net.segment_target(filt, feat_tm[0], feat)
    assert scores.shape == (1, 1, 64, 112) and encoding.shape == (1, 1, 16, 4, 7)


def test_label_encoder_shapes_and_initial_sample_weights():
    torch.manual_seed(0)
    enc = ResidualDS16SW(layer_dims=(16, 32, 64, 16), use_bn=False)
    masks = torch.rand(3, 2, 64, 112)
    label, sw = enc(masks)
    assert label.shape == sw.shape == (3, 2, 16, 4, 7)
    # samp_w_pred starts as the constant 1; label_pred ends with a ReLU.
    assert torch.equal(sw, torch.ones_like(sw))
    assert (label >= 0).all()
    with pytest.raises(ValueError):
        enc(masks[0])


def test_zero_initializer():
    init = FilterInitializerZero(filter_size=3, num_filters=16, feature_dim=512)
    out = init(torch.randn(2, 5, 512, 4, 4, dtype=torch.float64))
    assert out.shape == (5, 16, 512, 3, 3) and out.dtype == torch.float64 and not out.any()


def test_residual_module_values():
    res = LWTLResidual(init_filter_reg=0.5)
    feat = torch.zeros(2, 1, 1, 1, 3, dtype=torch.float64)
    feat[0, 0, 0, 0] = torch.tensor([1.0, 2.0, 3.0])
    feat[1, 0, 0, 0] = torch.tensor([0.0, 1.0, 0.0])
    filt = torch.tensor([2.0], dtype=torch.float64).reshape(1, 1, 1, 1, 1)
    label = torch.ones(2, 1, 1, 1, 3, dtype=torch.float64)
    data, reg = res(TensorList([filt]), feat=feat, label=label)
    # Uniform weight sqrt(1 / n_images): residual = (2 * feat - 1) / sqrt(2).
    torch.testing.assert_close(data, (2 * feat - label) / math.sqrt(2))
    torch.testing.assert_close(reg, torch.tensor([[[1.0]]], dtype=torch.float64))
    weights = torch.arange(6, dtype=torch.float64).reshape(2, 1, 1, 1, 3)
    data_w, _ = res(TensorList([filt]), feat=feat, label=label, sample_weight=weights)
    torch.testing.assert_close(data_w, weights * (2 * feat - label))


def test_decoder_intermediate_outputs():
    torch.manual_seed(0)
    channels = OrderedDict([("layer4", 32), ("layer3", 16), ("layer2", 8), ("layer1", 4)])
    dec = LWTLDecoder(in_channels=2, out_channels=8, ft_channels=channels, use_bn=True)
    feats = {name: torch.randn(3, c, 32 // s, 48 // s) for (name, c), s in zip(channels.items(), (32, 16, 8, 4))}
    scores = torch.randn(3, 1, 2, 2, 3)
    out, inter = dec(scores, feats, (32, 48), output_layers=("layer4_dec", "layer1_dec"))
    assert out.shape == (3, 1, 32, 48)
    assert list(inter) == ["layer4_dec", "layer1_dec"]
    assert inter["layer4_dec"].shape == (3, 32, 1, 1) and inter["layer1_dec"].shape == (3, 8, 8, 12)
    assert dec.out_feature_channels() == {"layer4_dec": 32, "layer3_dec": 16, "layer2_dec": 16, "layer1_dec": 8}
