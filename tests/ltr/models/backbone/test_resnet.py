"""Tests for the torchvision-layout ResNet backbones: checkpoint layout, outputs, dilation, pretrained loading."""

from __future__ import annotations

import math
import os
import urllib.error

import pytest
import torch
import torchvision
from conftest import listing, read_state_dict_spec

from ltr.models.backbone import resnet18, resnet50, resnet101, resnet_baby
from ltr.models.backbone.resnet import BasicBlock, Bottleneck, ResNet, make_res_layer

ALL_LAYERS = ["conv1", "layer1", "layer2", "layer3", "layer4", "fc"]
SPATIAL = ALL_LAYERS[:-1]


@pytest.fixture(scope="module")
def r18() -> ResNet:
    torch.manual_seed(0)
    return resnet18(output_layers=ALL_LAYERS).eval()


@pytest.fixture(scope="module")
def r50() -> ResNet:
    torch.manual_seed(0)
    return resnet50(output_layers=ALL_LAYERS).eval()


@pytest.mark.parametrize(
    ("model", "spec", "prefix"),
    [
        ("r50", "dimp50", "feature_extractor."),
        ("r50", "super_dimp", "feature_extractor."),
        ("r50", "prdimp50", "feature_extractor."),
        ("r50", "kys", "backbone_feature_extractor."),
        ("r18", "dimp18", "feature_extractor."),
        ("r18", "prdimp18", "feature_extractor."),
        ("r18", "atom_default", "feature_extractor."),
    ],
)
def test_state_dict_matches_official_checkpoints(model, spec, prefix, request):
    expected = read_state_dict_spec(spec).part(prefix)
    assert expected, f"no {prefix!r} entries in {spec}.txt"
    assert listing(request.getfixturevalue(model)) == expected


def test_resnet101_layout():
    net = resnet101()
    sd = net.state_dict()
    assert len([k for k in sd if k.startswith("layer3.") and k.endswith(".conv1.weight")]) == 23
    assert sum(p.numel() for p in net.parameters()) == 44_549_160  # torchvision's resnet101 count
    assert list(sd)[-2:] == ["fc.weight", "fc.bias"] and sd["fc.weight"].shape == (1000, 2048)


@pytest.mark.parametrize(
    ("model", "channels"),
    [("r18", [64, 64, 128, 256, 512, 1000]), ("r50", [64, 256, 512, 1024, 2048, 1000])],
)
def test_output_shapes_strides_and_channels(model, channels, request):
    net = request.getfixturevalue(model)
    out = net(torch.randn(1, 3, 64, 64))
    assert list(out) == ALL_LAYERS
    assert [out[k].shape[1] for k in ALL_LAYERS] == channels
    assert out["fc"].shape == (1, 1000)
    assert net.out_feature_channels() == dict(zip(ALL_LAYERS, channels))
    assert net.out_feature_strides() == {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
    for name in SPATIAL:
        stride = net.out_feature_strides(name)
        assert out[name].shape[2:] == (64 // stride, 64 // stride), name
        assert net.out_feature_channels(name) == out[name].shape[1]


def test_output_order_follows_computation_and_stops_early(r18):
    called = []
    hooks = [getattr(r18, n).register_forward_hook(lambda m, i, o, n=n: called.append(n)) for n in SPATIAL[1:]]
    try:
        out = r18(torch.randn(1, 3, 32, 32), output_layers=["layer2", "conv1"])
    finally:
        for h in hooks:
            h.remove()
    assert list(out) == ["conv1", "layer2"]
    assert called == ["layer1", "layer2"]


def test_conv1_output_is_before_maxpool(r18):
    x = torch.randn(1, 3, 32, 32)
    out = r18(x, ["conv1", "layer1"])
    torch.testing.assert_close(out["conv1"], torch.relu(r18.bn1(r18.conv1(x))))
    torch.testing.assert_close(out["layer1"], r18.layer1(r18.maxpool(out["conv1"])))


def test_default_output_layers_and_validation():
    net = resnet_baby().eval()
    assert list(net(torch.randn(1, 3, 32, 32))) == ["layer4"]
    net = resnet_baby(output_layers=["layer1", "layer3"]).eval()
    assert list(net(torch.randn(1, 3, 32, 32))) == ["layer1", "layer3"]
    with pytest.raises(ValueError, match="choose from"):
        net(torch.randn(1, 3, 32, 32), ["layer5"])
    with pytest.raises(ValueError, match="choose from"):
        resnet_baby(output_layers=[])
    with pytest.raises(ValueError, match="dilation_factor"):
        resnet_baby(dilation_factor=3)
    with pytest.raises(ValueError, match="no stride"):
        net.out_feature_strides("fc")


def test_resnet_baby_widths_and_backward():
    torch.manual_seed(0)
    net = resnet_baby(output_layers=["layer3", "fc"], inplanes=8).train()
    assert net.out_feature_channels() == {"conv1": 8, "layer1": 8, "layer2": 16, "layer3": 32, "layer4": 64, "fc": 1000}
    assert isinstance(net.layer1[0], BasicBlock) and net.fc.in_features == 64
    out = net(torch.randn(2, 3, 32, 32))
    assert out["layer3"].shape == (2, 32, 2, 2) and out["fc"].shape == (2, 1000)
    (out["layer3"].sum() + out["fc"].sum()).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    with pytest.raises(ValueError, match="no pretrained"):
        resnet_baby(pretrained=True)


def test_weight_initialisation():
    torch.manual_seed(0)
    net = resnet50()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and torch.equal(m.bias, torch.zeros_like(m.bias))
    w = net.layer4[0].conv2.weight.double()  # 512 x 512 x 3 x 3 samples: the std estimate is good to ~0.05 %
    assert w.std().item() == pytest.approx(math.sqrt(2 / (3 * 3 * 512)), rel=5e-3)
    assert abs(w.mean().item()) < 1e-4
    w1 = net.conv1.weight.double()
    assert w1.std().item() == pytest.approx(math.sqrt(2 / (7 * 7 * 64)), rel=3e-2)


def test_torchvision_state_dict_and_forward_compatibility():
    torch.manual_seed(0)
    tv = torchvision.models.resnet50(weights=None)
    # Non-trivial batch-norm statistics so that a mix-up of running stats would show.
    for m in tv.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    tv.eval()
    net = resnet50(output_layers=["layer4", "fc"])
    net.load_state_dict(tv.state_dict(), strict=True)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = net(x)
        y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
        y = tv.layer4(tv.layer3(tv.layer2(tv.layer1(y))))
        logits = tv(x)
    torch.testing.assert_close(out["layer4"], y, rtol=0, atol=0)
    torch.testing.assert_close(out["fc"], logits, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("factor", "strides"),
    [
        (2, {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 16}),
        (4, {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 8, "layer4": 8}),
        (8, {"conv1": 2, "layer1": 4, "layer2": 4, "layer3": 4, "layer4": 4}),
    ],
)
def test_dilation_replaces_strides_exactly(factor, strides):
    torch.manual_seed(0)
    plain = resnet18(output_layers=SPATIAL).double().eval()
    dilated = resnet18(output_layers=SPATIAL, dilation_factor=factor).double().eval()
    dilated.load_state_dict(plain.state_dict(), strict=True)
    assert dilated.out_feature_strides() == strides
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        ref, out = plain(x), dilated(x)
    for name in SPATIAL:
        assert out[name].shape[2:] == (32 // strides[name],) * 2, name
        # Dilation instead of stride computes the strided network densely: subsampling gives it back.
        step = 2 ** int(math.log2(plain.out_feature_strides(name) // strides[name]))
        torch.testing.assert_close(out[name][..., ::step, ::step], ref[name], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride_in_1x1", [False, True])
def test_bottleneck_stage_dilation_equals_dense_strided_stage(stride_in_1x1):
    torch.manual_seed(0)
    strided = make_res_layer(Bottleneck, 8, 4, 2, stride=2, stride_in_1x1=stride_in_1x1).double().eval()
    dense = make_res_layer(Bottleneck, 8, 4, 2, dilation=2, first_dilation=1, stride_in_1x1=stride_in_1x1)
    dense = dense.double().eval()
    dense.load_state_dict(strided.state_dict(), strict=True)
    x = torch.randn(1, 8, 12, 12, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(dense(x)[..., ::2, ::2], strided(x), rtol=1e-12, atol=1e-12)


def test_bottleneck_dilation_padding_keeps_size():
    block = Bottleneck(64, 16, dilation=4)
    assert block.conv2.dilation == (4, 4) and block.conv2.padding == (4, 4)
    assert block(torch.randn(1, 64, 9, 9)).shape == (1, 64, 9, 9)


# --- pretrained weights (never downloads: torch.hub's downloader is replaced) ------------------------------------


def _cache_file(torch_home) -> str:
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    return os.path.join(torch_home, "hub", "checkpoints", os.path.basename(url))


def test_pretrained_loads_from_torch_hub_cache(tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None).state_dict()
    os.makedirs(os.path.dirname(_cache_file(tmp_path)))
    torch.save(reference, _cache_file(tmp_path))

    net = resnet18(pretrained=True, frozen_layers=["conv1"])
    for key, value in net.state_dict().items():
        assert torch.equal(value, reference[key]), key
    assert not net.conv1.weight.requires_grad and net.layer1[0].conv1.weight.requires_grad


def test_pretrained_offline_error_explains_the_fix(tmp_path, monkeypatch):
    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(RuntimeError) as info:
        resnet18(pretrained=True)
    message = str(info.value)
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    for part in (
        "ResNet18_Weights.IMAGENET1K_V1",
        torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url,
        "TORCH_HOME",
        _cache_file(tmp_path),
        "pretrained=False",
        "backbone_pretrained=False",
    ):
        assert part in message, part
