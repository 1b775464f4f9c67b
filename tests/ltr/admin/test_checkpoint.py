"""Release files: the network-only export of a training checkpoint."""

import hashlib

import torch

from ltr.admin.checkpoint import CHECKPOINT_KEYS, export_network, save_checkpoint
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
