"""Tests for ResNet-18 + VGG-M conv1 (ECO features)."""

from __future__ import annotations

import logging

import pytest
import torch

from ltr.models.backbone import resnet18, resnet18_vggmconv1


def test_vggconv1_is_conv_relu_lrn_closed_form():
    torch.manual_seed(0)
    net = resnet18_vggmconv1(output_layers=["vggconv1"]).double().eval()
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    out = net(x)
    assert list(out) == ["vggconv1"]
    y = torch.relu(torch.nn.functional.conv2d(x, net.vggmconv1.weight, net.vggmconv1.bias, stride=2, padding=3))
    # Cross-channel LRN: b_c = a_c / (k + alpha / n * sum_{|c' - c| <= 2} a_c'^2) ** beta, n = 5.
    sq = torch.nn.functional.pad(y**2, (0, 0, 0, 0, 2, 2))
    window = sum(sq[:, i : i + 96] for i in range(5))
    expected = y / (2.0 + 5e-4 / 5 * window) ** 0.75
    assert out["vggconv1"].shape == (1, 96, 8, 8)
    torch.testing.assert_close(out["vggconv1"], expected, rtol=1e-12, atol=1e-12)


def test_resnet_outputs_equal_plain_resnet18():
    torch.manual_seed(0)
    plain = resnet18(output_layers=["conv1", "layer3"]).eval()
    net = resnet18_vggmconv1(output_layers=["vggconv1", "layer3"]).eval()
    net.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        out = net(x)
        ref = plain(x)
        assert list(out) == ["vggconv1", "layer3"]
        torch.testing.assert_close(out["layer3"], ref["layer3"], rtol=0, atol=0)
        assert list(net(x, ["conv1"])) == ["conv1"]
    assert net.out_feature_strides("vggconv1") == 2 and net.out_feature_channels("vggconv1") == 96
    assert net.out_feature_strides()["layer3"] == 16 and net.out_feature_channels()["vggconv1"] == 96


def test_layout_and_frozen_vgg_branch():
    net = resnet18_vggmconv1(frozen_layers=["vggmconv1", "conv1"]).train()
    sd = net.state_dict()
    assert sd["vggmconv1.weight"].shape == (96, 3, 7, 7) and sd["vggmconv1.bias"].shape == (96,)
    assert sd["fc.weight"].shape == (1000, 512)
    lrn = net.vgglrn
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 5e-4, 0.75, 2.0)
    assert not net.vggmconv1.weight.requires_grad and not net.conv1.weight.requires_grad
    assert not net.vggmconv1.training and net.layer1.training


def test_path_loading_is_non_strict_and_logs(tmp_path, caplog):
    torch.manual_seed(2)
    source = resnet18_vggmconv1().state_dict()
    source.pop("vggmconv1.bias")
    source["extra.weight"] = torch.zeros(1)
    path = tmp_path / "resnet18_vggmconv1.pth"
    torch.save(source, path)
    with caplog.at_level(logging.WARNING, logger="ltr.models.backbone.resnet18_vggm"):
        net = resnet18_vggmconv1(path=path)
    assert torch.equal(net.vggmconv1.weight, source["vggmconv1.weight"])
    assert torch.equal(net.layer2[1].bn2.running_var, source["layer2.1.bn2.running_var"])
    assert "vggmconv1.bias" in caplog.text and "extra.weight" in caplog.text


def test_invalid_layer():
    with pytest.raises(ValueError, match="vggconv1"):
        resnet18_vggmconv1(output_layers=["vggmconv1"])
