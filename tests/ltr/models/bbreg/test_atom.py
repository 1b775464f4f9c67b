"""Tests for the ATOM network and its factories."""

from __future__ import annotations

import pickle

import pytest
import torch
from conftest import listing, read_state_dict_spec

from ltr.models.bbreg.atom import ATOMnet, atom_resnet18, atom_resnet50
from ltr.models.bbreg.atom_iou_net import AtomIoUNet


@pytest.fixture(scope="module")
def atom18() -> ATOMnet:
    torch.manual_seed(0)
    return atom_resnet18(backbone_pretrained=False)


def test_atom_resnet18_is_the_listed_constructor_call(atom18):
    # The full listing is checked in tests/ltr/test_official_networks.py; here: the spec header is this call.
    spec = read_state_dict_spec("atom_default")
    assert spec.constructor == "ltr.models.bbreg.atom.atom_resnet18"
    assert spec.kwargs == {"backbone_pretrained": False}
    assert atom18.constructor.kwds == spec.kwargs
    assert len(spec.entries) == 201
    assert sum(p.numel() for p in atom18.parameters()) == 17285033


def test_atom_resnet18_checkpoint_roundtrip(atom18):
    """A state dict from one instance loads strictly into a freshly constructed one."""
    torch.manual_seed(1)
    other = atom_resnet18(backbone_pretrained=False)
    other.load_state_dict(atom18.state_dict(), strict=True)
    for (k, a), b in zip(atom18.state_dict().items(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_atom_resnet50_matches_dimp50_backbone_and_regressor():
    dimp50 = read_state_dict_spec("dimp50")
    expected = [e for e in dimp50.entries if e[0].startswith(("feature_extractor.", "bb_regressor."))]
    torch.manual_seed(0)
    net = atom_resnet50(backbone_pretrained=False)
    assert listing(net) == expected
    assert net.bb_regressor.conv3_1r[0].in_channels == 512 and net.bb_regressor.conv4_1r[0].in_channels == 1024


def test_constructor_is_recorded(atom18):
    c = atom18.constructor
    assert (c.fun_module, c.fun_name) == ("ltr.models.bbreg.atom", "atom_resnet18")
    assert c.args == () and c.kwds == {"backbone_pretrained": False}
    # The pickled constructor rebuilds an equivalent network.
    rebuilt = pickle.loads(pickle.dumps(c)).get()
    assert isinstance(rebuilt, ATOMnet)
    assert listing(rebuilt) == listing(atom18)


def test_structure_and_frozen_backbone(atom18):
    assert [name for name, _ in atom18.named_children()] == ["feature_extractor", "bb_regressor"]
    assert isinstance(atom18.bb_regressor, AtomIoUNet)
    assert atom18.bb_regressor_layer == ["layer2", "layer3"]
    assert not any(p.requires_grad for p in atom18.feature_extractor.parameters())
    assert all(p.requires_grad for p in atom18.bb_regressor.parameters())


def test_extractor_grad_true_keeps_backbone_trainable():
    from ltr.models.backbone.resnet import resnet_baby

    net = ATOMnet(resnet_baby(), AtomIoUNet(input_dim=(32, 64)), ["layer2", "layer3"], extractor_grad=True)
    assert all(p.requires_grad for p in net.parameters())


def test_forward_backward(atom18):
    torch.manual_seed(0)
    n_train, n_test, n_seq, n_prop = 2, 1, 2, 9
    train_imgs = torch.randn(n_train, n_seq, 3, 128, 128)
    test_imgs = torch.randn(n_test, n_seq, 3, 128, 128)
    train_bb = torch.tensor([[30.0, 40.0, 50.0, 40.0], [20.0, 25.0, 60.0, 70.0]]).expand(n_train, n_seq, 4)
    g = torch.linspace(-8, 8, 3)
    shifts = torch.stack(torch.meshgrid(g, g, indexing="ij"), dim=-1).reshape(n_prop, 2)
    proposals = train_bb[0][:, None, :].repeat(1, n_prop, 1)
    proposals[..., :2] += shifts
    proposals = proposals.unsqueeze(0)  # (n_test, n_seq, P, 4)

    net = atom18.train()
    net.zero_grad(set_to_none=True)
    iou = net(train_imgs, test_imgs, train_bb, proposals)
    assert iou.shape == (n_test, n_seq, n_prop)
    assert torch.isfinite(iou).all()
    iou.square().mean().backward()
    assert all(p.grad is None for p in net.feature_extractor.parameters())
    grads = [p.grad for p in net.bb_regressor.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0

    # Same numbers as feeding the backbone features to the regressor directly.
    net.eval()
    with torch.no_grad():
        iou_eval = net(train_imgs, test_imgs, train_bb, proposals)
        feats_train = net.extract_backbone_features(train_imgs.flatten(0, 1))
        feats_test = net.extract_features(test_imgs.flatten(0, 1), ["layer2", "layer3"])
        assert list(feats_train) == ["layer2", "layer3"]
        assert feats_train["layer2"].shape == (n_train * n_seq, 128, 16, 16)
        assert feats_train["layer3"].shape == (n_train * n_seq, 256, 8, 8)
        direct = net.bb_regressor(list(feats_train.values()), list(feats_test.values()), train_bb, proposals)
    torch.testing.assert_close(iou_eval, direct, rtol=0, atol=0)
    net.train()
