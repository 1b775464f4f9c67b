"""Tests for the Mask R-CNN-layout ResNet (LWL backbone)."""

from __future__ import annotations

import pytest
import torch
from conftest import listing, read_state_dict_spec

from ltr.models.backbone import resnet_mrcnn
from ltr.models.backbone.resnet import Bottleneck, conv1x1

LAYERS = ["conv1", "layer1", "layer2", "layer3", "layer4"]


@pytest.fixture(scope="module")
def r50() -> resnet_mrcnn.ResNet:
    torch.manual_seed(0)
    return resnet_mrcnn.resnet50(output_layers=LAYERS).eval()


@pytest.mark.parametrize("spec", ["lwl_stage2", "lwl_boxinit"])
def test_state_dict_matches_lwl_checkpoints(r50, spec):
    expected = read_state_dict_spec(spec).part("feature_extractor.")
    assert expected, f"no backbone entries in {spec}.txt"
    assert listing(r50) == expected


def test_layout_stride_on_1x1_and_no_classifier(r50):
    assert not hasattr(r50, "fc") and not hasattr(r50, "avgpool")
    first = r50.layer2[0]
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)
    assert first.downsample[0].stride == (2, 2)
    assert r50.layer1[0].downsample[0].stride == (1, 1)  # channel change 64 -> 256 at stride 1
    assert r50.layer3[0].conv1.stride == (2, 2) and r50.layer4[0].conv1.stride == (2, 2)


def test_outputs_conv1_after_maxpool(r50):
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        out = r50(x)
        stem = r50.maxpool(torch.relu(r50.bn1(r50.conv1(x))))
        torch.testing.assert_close(out["conv1"], stem)
        torch.testing.assert_close(out["layer1"], r50.layer1(stem))
    assert list(out) == LAYERS
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "conv1": (1, 64, 16, 16),
        "layer1": (1, 256, 16, 16),
        "layer2": (1, 512, 8, 8),
        "layer3": (1, 1024, 4, 4),
        "layer4": (1, 2048, 2, 2),
    }
    assert r50.out_feature_strides() == {"conv1": 4, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
    assert r50.out_feature_channels() == {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}
    assert r50.out_feature_channels("layer3") == 1024 and r50.out_feature_strides("conv1") == 4


def test_early_stop_and_validation(r50):
    called = []
    hook = r50.layer3.register_forward_hook(lambda *args: called.append(1))
    try:
        out = r50(torch.randn(1, 3, 32, 32), ["layer2", "conv1"])
    finally:
        hook.remove()
    assert list(out) == ["conv1", "layer2"] and called == []
    with pytest.raises(ValueError, match="choose from"):
        r50(torch.randn(1, 3, 32, 32), ["fc"])


def test_stride_in_1x1_bottleneck_equals_subsampled_input():
    torch.manual_seed(0)
    ds_strided = torch.nn.Sequential(conv1x1(16, 32, 2), torch.nn.BatchNorm2d(32))
    caffe = Bottleneck(16, 8, stride=2, downsample=ds_strided, stride_in_1x1=True).double().eval()
    ds_plain = torch.nn.Sequential(conv1x1(16, 32, 1), torch.nn.BatchNorm2d(32))
    plain = Bottleneck(16, 8, stride=1, downsample=ds_plain).double().eval()
    plain.load_state_dict(caffe.state_dict())
    x = torch.randn(1, 16, 10, 10, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(caffe(x), plain(x[..., ::2, ::2]), rtol=1e-12, atol=1e-12)


def test_resnet101_and_frozen_layers():
    net = resnet_mrcnn.resnet101(frozen_layers=["conv1", "bn1", "layer1"]).train()
    assert len(net.layer3) == 23
    assert not net.layer1.training and net.layer2.training
    assert not any(p.requires_grad for p in net.layer1.parameters())
    assert all(p.requires_grad for p in net.layer4.parameters())


def test_pretrained_path_and_true(tmp_path):
    torch.manual_seed(3)
    source = resnet_mrcnn.resnet50(inplanes=8)  # narrow, to keep the file small
    path = tmp_path / "mrcnn_r50.pth"
    torch.save(source.state_dict(), path)
    net = resnet_mrcnn.resnet50(pretrained=path, inplanes=8)
    for key, value in net.state_dict().items():
        assert torch.equal(value, source.state_dict()[key]), key
    with pytest.raises(ValueError, match="pretrained=False"):
        resnet_mrcnn.resnet50(pretrained=True)
