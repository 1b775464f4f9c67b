"""Tests for the IoU-Net box regressor: checkpoint layout, shapes, gradients, the tracking-time path, init."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
from conftest import listing, read_state_dict_spec

from ltr.models.bbreg import AtomIoUNet
from ltr.models.layers.prroi_pool import prroi_pool2d

IMG = 128  # image side: layer2 is 16x16 (stride 8), layer3 8x8 (stride 16)


def make_features(n: int, input_dim=(128, 256), dtype=torch.float64, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(n, input_dim[0], IMG // 8, IMG // 8, generator=g, dtype=dtype),
        torch.randn(n, input_dim[1], IMG // 16, IMG // 16, generator=g, dtype=dtype),
    ]


def make_boxes(*shape: int, seed: int = 1, dtype=torch.float64) -> torch.Tensor:
    """Random ``[x, y, w, h]`` boxes inside a 128x128 image."""
    g = torch.Generator().manual_seed(seed)
    wh = 16 + 48 * torch.rand(*shape, 2, generator=g, dtype=dtype)
    xy = (IMG - wh) * torch.rand(*shape, 2, generator=g, dtype=dtype)
    return torch.cat((xy, wh), dim=-1)


@pytest.fixture
def net() -> AtomIoUNet:
    torch.manual_seed(0)
    return AtomIoUNet().double().eval()


@pytest.mark.parametrize(("input_dim", "spec"), [((512, 1024), "dimp50"), ((128, 256), "dimp18")])
def test_state_dict_matches_official_listing(input_dim, spec):
    expected = read_state_dict_spec(spec).part("bb_regressor.")
    assert len(expected) > 0
    assert listing(AtomIoUNet(input_dim=input_dim)) == expected


def test_children_registration_order():
    names = [name for name, _ in AtomIoUNet().named_children()]
    assert names == [
        "conv3_1r",
        "conv3_1t",
        "conv3_2t",
        "prroi_pool3r",
        "prroi_pool3t",
        "fc3_1r",
        "conv4_1r",
        "conv4_1t",
        "conv4_2t",
        "prroi_pool4r",
        "prroi_pool4t",
        "fc34_3r",
        "fc34_4r",
        "fc3_rt",
        "fc4_rt",
        "iou_predictor",
    ]
    m = AtomIoUNet()
    pools = [(p.pooled_height, p.pooled_width, p.spatial_scale) for p in (m.prroi_pool3r, m.prroi_pool3t)]
    pools += [(p.pooled_height, p.pooled_width, p.spatial_scale) for p in (m.prroi_pool4r, m.prroi_pool4t)]
    assert pools == [(3, 3, 1 / 8), (5, 5, 1 / 8), (1, 1, 1 / 16), (3, 3, 1 / 16)]


def test_custom_prediction_dims_shape_layers():
    m = AtomIoUNet(pred_input_dim=(64, 32), pred_inter_dim=(16, 8))
    assert m.conv3_2t[0].out_channels == 64 and m.conv4_2t[0].out_channels == 32
    assert m.fc34_3r[0].out_channels == 64 and m.fc34_4r[0].out_channels == 32
    assert m.fc3_rt.linear.weight.shape == (16, 64 * 25)
    assert m.fc4_rt.linear.weight.shape == (8, 32 * 9)
    assert m.iou_predictor.weight.shape == (1, 24)


def test_initialisation_statistics():
    torch.manual_seed(0)
    m = AtomIoUNet()
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    assert len(bns) == 11  # 9 conv blocks + the two LinearBlocks
    weights = torch.cat([bn.weight.detach() for bn in bns])
    assert weights.min() >= 0 and weights.max() < 1
    # U(0, 1): mean 1/2, std 1/sqrt(12); 2688 samples.
    assert abs(weights.mean().item() - 0.5) < 0.03
    assert abs(weights.std().item() - 1 / math.sqrt(12)) < 0.02
    assert all(bool((bn.bias == 0).all()) for bn in bns)

    weighted = [mod for mod in m.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))]
    assert all(bool((mod.bias == 0).all()) for mod in weighted)
    # Kaiming normal, fan_in mode: std sqrt(2 / fan_in).
    for mod in (m.conv3_2t[0], m.conv4_1r[0], m.fc3_rt.linear, m.fc34_3r[0]):
        fan_in = mod.weight[0].numel()
        w = mod.weight.detach()
        assert abs(w.mean().item()) < 0.05 * math.sqrt(2 / fan_in)
        assert w.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)


def test_forward_shapes_backward_and_flattened_input():
    torch.manual_seed(0)
    m = AtomIoUNet().train()
    n_train, n_test, n_seq, n_prop = 2, 1, 2, 9
    feat1 = [f.float().view(n_train, n_seq, *f.shape[1:]) for f in make_features(n_train * n_seq, seed=2)]
    feat2 = [f.float().view(n_test, n_seq, *f.shape[1:]) for f in make_features(n_test * n_seq, seed=3)]
    bb1 = make_boxes(n_train, n_seq, seed=4).float()
    proposals = make_boxes(n_test, n_seq, n_prop, seed=5).float()

    iou = m(feat1, feat2, bb1, proposals)
    assert iou.shape == (n_test, n_seq, n_prop)
    assert torch.isfinite(iou).all()
    iou.square().mean().backward()
    grads = {name: p.grad for name, p in m.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["conv3_1r.0.weight"].abs().sum() > 0 and grads["conv4_1t.0.weight"].abs().sum() > 0

    # 4-D (image-major flattened) features give the same result.
    m.eval()
    with torch.no_grad():
        five_d = m(feat1, feat2, bb1, proposals)
        four_d = m([f.flatten(0, 1) for f in feat1], [f.flatten(0, 1) for f in feat2], bb1, proposals)
    torch.testing.assert_close(four_d, five_d, rtol=0, atol=0)


def test_forward_uses_first_train_image_only(net):
    n_train, n_test, n_seq = 2, 1, 2
    feat1 = [f.view(n_train, n_seq, *f.shape[1:]) for f in make_features(n_train * n_seq, seed=2)]
    feat2 = [f.view(n_test, n_seq, *f.shape[1:]) for f in make_features(n_test * n_seq, seed=3)]
    bb1 = make_boxes(n_train, n_seq, seed=4)
    proposals = make_boxes(n_test, n_seq, 4, seed=5)
    with torch.no_grad():
        ref = net(feat1, feat2, bb1, proposals)
        feat1_changed = [f.clone() for f in feat1]
        for f in feat1_changed:
            f[1] = 7.0
        bb1_changed = bb1.clone()
        bb1_changed[1] = 3.0
        changed = net(feat1_changed, feat2, bb1_changed, proposals)
        feat1_first_changed = [f.clone() for f in feat1]
        feat1_first_changed[0][0] += 1.0
        first_changed = net(feat1_first_changed, feat2, bb1, proposals)
    torch.testing.assert_close(changed, ref, rtol=0, atol=0)
    assert (first_changed - ref).abs().max() > 1e-6


def test_tracking_path_equals_forward(net):
    """get_modulation / get_iou_feat / predict_iou per (test image, sequence) reproduce the batched forward."""
    n_train, n_test, n_seq, n_prop = 2, 3, 2, 5
    feat1 = [f.view(n_train, n_seq, *f.shape[1:]) for f in make_features(n_train * n_seq, seed=6)]
    feat2 = [f.view(n_test, n_seq, *f.shape[1:]) for f in make_features(n_test * n_seq, seed=7)]
    bb1 = make_boxes(n_train, n_seq, seed=8)
    proposals = make_boxes(n_test, n_seq, n_prop, seed=9)
    with torch.no_grad():
        batched = net(feat1, feat2, bb1, proposals)
        for s in range(n_seq):
            modulation = net.get_modulation([f[0, s : s + 1] for f in feat1], bb1[0, s : s + 1])
            assert [tuple(v.shape) for v in modulation] == [(1, 256, 1, 1), (1, 256, 1, 1)]
            for t in range(n_test):
                iou_feat = net.get_iou_feat([f[t, s : s + 1] for f in feat2])
                assert [tuple(v.shape) for v in iou_feat] == [(1, 256, 16, 16), (1, 256, 8, 8)]
                single = net.predict_iou(modulation, iou_feat, proposals[t, s : s + 1])
                assert single.shape == (1, n_prop)
                torch.testing.assert_close(single[0], batched[t, s], rtol=1e-10, atol=1e-12)


def test_predict_iou_pools_proposals_as_corner_boxes(net):
    """A proposal [x, y, w, h] is pooled as the roi [batch, x, y, x + w, y + h] on its own image."""
    feat = make_features(2, seed=10)
    with torch.no_grad():
        modulation = net.get_modulation(feat, torch.tensor([[10.0, 20.0, 40.0, 30.0], [50.0, 40.0, 30.0, 60.0]]))
        c3, c4 = net.get_iou_feat(make_features(2, seed=11))
        proposals = torch.tensor([[[8.0, 16.0, 32.0, 24.0]], [[60.0, 30.0, 40.0, 50.0]]], dtype=torch.float64)
        got = net.predict_iou(modulation, (c3, c4), proposals)

        rois = torch.tensor([[0.0, 8.0, 16.0, 40.0, 40.0], [1.0, 60.0, 30.0, 100.0, 80.0]], dtype=torch.float64)
        r3 = prroi_pool2d(c3 * modulation[0], rois, 5, 5, 1 / 8)
        r4 = prroi_pool2d(c4 * modulation[1], rois, 3, 3, 1 / 16)
        expected = net.iou_predictor(torch.cat((net.fc3_rt(r3), net.fc4_rt(r4)), dim=1)).view(2, 1)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_modulation_depends_on_reference_box(net):
    feat = make_features(1, seed=12)
    with torch.no_grad():
        a = net.get_modulation(feat, torch.tensor([[10.0, 10.0, 40.0, 40.0]], dtype=torch.float64))
        b = net.get_modulation(feat, torch.tensor([[60.0, 50.0, 40.0, 40.0]], dtype=torch.float64))
    assert all(torch.isfinite(v).all() for v in a + b)
    assert (a[0] - b[0]).abs().max() > 1e-6 and (a[1] - b[1]).abs().max() > 1e-6


def test_predict_iou_gradient_wrt_proposals(net):
    feat = make_features(2, seed=13)
    with torch.no_grad():
        modulation = net.get_modulation(feat, make_boxes(2, seed=14))
        iou_feat = net.get_iou_feat(make_features(2, seed=15))
    proposals = make_boxes(2, 6, seed=16).requires_grad_(True)
    iou = net.predict_iou(modulation, iou_feat, proposals)
    assert iou.shape == (2, 6)
    iou.sum().backward()
    grad = proposals.grad
    assert torch.isfinite(grad).all()
    assert (grad.abs().sum(dim=-1) > 0).all()  # every box gets a non-zero refinement direction

    # The analytic gradient matches a central finite difference (float64) for one coordinate.
    with torch.no_grad():
        delta = torch.zeros_like(proposals)
        delta[1, 2, 2] = 1e-5
        fd = (
            net.predict_iou(modulation, iou_feat, proposals + delta)[1, 2]
            - net.predict_iou(modulation, iou_feat, proposals - delta)[1, 2]
        ) / 2e-5
    assert grad[1, 2, 2].item() == pytest.approx(fd.item(), rel=1e-4, abs=1e-8)


def test_prepared_iou_prediction_equals_predict_iou_in_values_and_box_gradients(net):
    feats = make_features(2, seed=6)
    with torch.no_grad():
        modulation = net.get_modulation(make_features(2, seed=7), make_boxes(2, seed=8))
        iou_feat = net.get_iou_feat(feats)
    predict = net.prepare_iou_prediction(modulation, iou_feat)
    boxes = make_boxes(2, 7, seed=9)
    b1, b2 = boxes.clone().requires_grad_(True), boxes.clone().requires_grad_(True)
    iou1, iou2 = predict(b1), net.predict_iou(modulation, iou_feat, b2)
    assert iou1.shape == (2, 7)
    torch.testing.assert_close(iou1, iou2, rtol=0, atol=1e-12)
    (g1,) = torch.autograd.grad(iou1.sum(), b1)
    (g2,) = torch.autograd.grad(iou2.sum(), b2)
    torch.testing.assert_close(g1, g2, rtol=0, atol=1e-12)
    assert g1.abs().sum() > 0
    # value_and_grad: the same IoUs and the gradient of their sum, without autograd.
    iou3, g3 = predict.value_and_grad(boxes)
    torch.testing.assert_close(iou3, iou2.detach(), rtol=0, atol=1e-12)
    torch.testing.assert_close(g3, g2, rtol=0, atol=1e-12)


def test_prepared_iou_prediction_float32_and_weight_changes():
    torch.manual_seed(1)
    net = AtomIoUNet().eval()  # float32: the folded head runs on oneDNN where the build has it
    feats = make_features(1, dtype=torch.float32, seed=3)
    with torch.no_grad():
        modulation = net.get_modulation(
            make_features(1, dtype=torch.float32, seed=4), make_boxes(1, dtype=torch.float32)
        )
        iou_feat = net.get_iou_feat(feats)
    boxes = make_boxes(1, 10, seed=5, dtype=torch.float32)

    def check() -> None:
        iou, grad = net.prepare_iou_prediction(modulation, iou_feat).value_and_grad(boxes)
        ref_boxes = boxes.clone().requires_grad_(True)
        ref = net.predict_iou(modulation, iou_feat, ref_boxes)
        (ref_grad,) = torch.autograd.grad(ref.sum(), ref_boxes)
        torch.testing.assert_close(iou, ref.detach(), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(grad, ref_grad, rtol=1e-3, atol=1e-5)

    check()
    # The folded weights are cached per network; changing a weight or a batch-norm statistic in place (an optimiser
    # step, load_state_dict) must not leave a stale copy in use.
    with torch.no_grad():
        net.fc3_rt.linear.weight.mul_(-0.5)
        net.fc4_rt.bn.running_mean.add_(0.3)
    check()
