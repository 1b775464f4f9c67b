"""Tests for Backbone: frozen layers keep requires_grad False and eval mode across train()/eval()."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from ltr.models.backbone import resnet_baby
from ltr.models.backbone.base import Backbone


class TwoLayer(Backbone):
    def __init__(self, frozen_layers=()):
        super().__init__(frozen_layers)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, 2, 1)
        self._freeze_layers()

    def forward(self, x):
        return self.head(self.bn(self.conv(x)))


def test_frozen_list_is_applied_at_construction_and_survives_train():
    net = TwoLayer(frozen_layers=["conv", "bn"])
    assert net.frozen_layers == ("conv", "bn")
    assert not net.conv.training and not net.bn.training and net.head.training
    net.eval()
    net.train()
    assert net.training and net.head.training
    assert not net.conv.training and not net.bn.training
    assert [p.requires_grad for p in net.parameters()] == [False, False, False, False, True, True]
    net.train(False)
    assert not any(m.training for m in net.modules())


def test_frozen_batchnorm_statistics_do_not_change_in_training():
    torch.manual_seed(0)
    net = TwoLayer(frozen_layers=["bn"]).train()
    before = net.bn.running_mean.clone()
    out = net(torch.randn(2, 3, 8, 8))
    assert torch.equal(net.bn.running_mean, before)
    assert net.bn.num_batches_tracked.item() == 0
    out.sum().backward()
    assert net.bn.weight.grad is None and net.conv.weight.grad is not None and net.head.weight.grad is not None


@pytest.mark.parametrize("spec", ["all", "ALL"])
def test_frozen_all(spec):
    net = TwoLayer(frozen_layers=spec).train()
    assert net.frozen_layers == "all"
    assert not any(p.requires_grad for p in net.parameters())
    assert [m.training for m in net.children()] == [False, False, False]


@pytest.mark.parametrize("spec", ["none", "None", (), []])
def test_frozen_none(spec):
    net = TwoLayer(frozen_layers=spec).train()
    assert net.frozen_layers == ()
    assert all(p.requires_grad for p in net.parameters())
    assert all(m.training for m in net.modules())


def test_invalid_frozen_layers():
    with pytest.raises(ValueError, match="valid names"):
        TwoLayer(frozen_layers=["conv", "layer9"])
    with pytest.raises(ValueError, match="'none', 'all'"):
        TwoLayer(frozen_layers="conv")


def test_resnet_frozen_stem_and_layer1():
    torch.manual_seed(0)
    net = resnet_baby(frozen_layers=["conv1", "bn1", "layer1"]).train()
    for name in ("conv1", "bn1", "layer1"):
        module = getattr(net, name)
        assert not any(m.training for m in module.modules()), name
        assert not any(p.requires_grad for p in module.parameters()), name
    for name in ("layer2", "layer3", "layer4", "fc"):
        module = getattr(net, name)
        assert all(m.training for m in module.modules()), name
        assert all(p.requires_grad for p in module.parameters()), name
    bn1_mean = net.bn1.running_mean.clone()
    layer1_mean = net.layer1[0].bn1.running_mean.clone()
    layer2_mean = net.layer2[0].bn1.running_mean.clone()
    net(torch.randn(2, 3, 32, 32), ["layer2"])
    assert torch.equal(net.bn1.running_mean, bn1_mean)
    assert torch.equal(net.layer1[0].bn1.running_mean, layer1_mean)
    assert not torch.equal(net.layer2[0].bn1.running_mean, layer2_mean)
