"""Release files: network-only checkpoints, written directly or exported from a training checkpoint."""

import hashlib

import torch

from ltr.admin.checkpoint import CHECKPOINT_KEYS, export_network, save_checkpoint, save_network
from ltr.admin.loading import safe_load
from ltr.models.tracking.dimpnet import dimpnet_tiny
from pytracking.utils.loading import load_network


def test_export_network_keeps_the_network_only_and_loads_back(tmp_path):
    torch.manual_seed(0)
    net = dimpnet_tiny()
    optimizer = torch.optim.Adam(net.parameters())
    train, test = torch.randn(1, 2, 3, 64, 64), torch.randn(1, 2, 3, 64, 64)
    boxes = torch.tensor([8.0, 8, 30, 30]).repeat(1, 2, 1)
    net(train, test, boxes, boxes[:, :, None])[1].sum().backward()
    optimizer.step()
    full = save_checkpoint(
        tmp_path / "DiMPnet_ep0003.pth.tar", epoch=3, actor_type="DiMPActor", net_type="DiMPnet", net=net,
        net_info=None, constructor=net.constructor, optimizer=optimizer, stats=None, settings=None,
    )  # fmt: skip
    out, digest = export_network(full, tmp_path / "release" / "tiny.pth.tar", half=True)
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()
    assert out.stat().st_size < full.stat().st_size / 2
    state = safe_load(out)
    assert set(state) == set(CHECKPOINT_KEYS)
    assert state["optimizer"] is None and state["epoch"] == 3 and state["net_type"] == "DiMPnet"
    assert all(v.dtype == torch.float16 for v in state["net"].values() if torch.is_floating_point(v))
    loaded = load_network(out)
    for (name, a), b in zip(net.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert b.dtype == a.dtype, name
        torch.testing.assert_close(b, a.half().to(a.dtype), rtol=0, atol=0)


def test_save_network_writes_the_release_layout_from_the_network(tmp_path):
    torch.manual_seed(0)
    net = dimpnet_tiny()
    # A wrapper is dropped: the class name, constructor and weight names are those of the network inside.
    out = save_network(tmp_path / "nets" / "tiny.pth", torch.nn.DataParallel(net), epoch=7, actor_type="DiMPActor")
    state = safe_load(out)
    assert list(state) == list(CHECKPOINT_KEYS)
    assert state["epoch"] == 7 and state["actor_type"] == "DiMPActor" and state["net_type"] == "DiMPnet"
    assert state["net_info"] is None and state["optimizer"] is None
    assert state["stats"] is None and state["settings"] is None
    assert state["constructor"].fun_name == net.constructor.fun_name
    assert state["constructor"].kwds == net.constructor.kwds
    assert list(state["net"]) == list(net.state_dict())
    loaded = load_network(out)
    assert type(loaded).__name__ == "DiMPnet"
    for (name, a), b in zip(net.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_save_network_stores_a_state_dict_with_the_given_fields(tmp_path):
    weights = {"weight": torch.ones(2, 2), "steps": torch.tensor(3)}
    out = save_network(
        tmp_path / "w.pth", weights, epoch=None, actor_type=None, net_type="Linear", net_info={"note": "x"}
    )
    state = safe_load(out)
    assert state["net_type"] == "Linear" and state["constructor"] is None and state["net_info"] == {"note": "x"}
    assert state["epoch"] is None and state["actor_type"] is None
    assert state["net"].keys() == weights.keys()
    assert all(torch.equal(state["net"][k], v) for k, v in weights.items())
