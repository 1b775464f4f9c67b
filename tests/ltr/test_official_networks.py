"""The compatibility contract with the official networks, end to end.

For every listing in shared/spec/state_dicts: the constructor named there, called with the training kwargs,
gives exactly the listed keys, order, shapes and dtypes; a randomly initialised network saved in the official
checkpoint layout loads back through the safe loaders of both packages with identical weights.
"""

from __future__ import annotations

import functools
import importlib.util
from collections import OrderedDict

import pytest
import torch
from conftest import official_spec_names, read_state_dict_spec

from ltr.admin.checkpoint import save_checkpoint
from ltr.admin.loading import load_network as ltr_load_network
from ltr.admin.settings import Settings
from ltr.admin.stats import AverageMeter
from pytracking.utils.loading import load_network as pytracking_load_network

NAMES = official_spec_names() or ["dimp50"]  # without shared/ the single case skips with a reason


@functools.cache
def built(name: str) -> torch.nn.Module:
    spec = read_state_dict_spec(name)
    if importlib.util.find_spec(spec.constructor.rsplit(".", 1)[0]) is None:
        pytest.skip(f"{spec.constructor} is not implemented yet")
    torch.manual_seed(0)
    return spec.build()


@pytest.mark.parametrize("name", NAMES)
def test_constructor_reproduces_official_state_dict(name):
    spec = read_state_dict_spec(name)
    net = built(name)
    got = [(k, str(tuple(v.shape)), str(v.dtype).removeprefix("torch.")) for k, v in net.state_dict().items()]
    assert [g[0] for g in got] == [e[0] for e in spec.entries], "keys or their order differ"
    assert got == spec.entries


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_official_layout_round_trip_through_safe_loaders(name, tmp_path, monkeypatch):
    net = built(name)
    stats = OrderedDict(train=OrderedDict({"Loss/total": AverageMeter()}))
    stats["train"]["Loss/total"].update(0.5, 4)
    path = save_checkpoint(
        tmp_path / f"{type(net).__name__}_ep0001.pth.tar",
        epoch=1,
        actor_type="Actor",
        net_type=type(net).__name__,
        net=net,
        net_info=None,
        constructor=net.constructor,
        optimizer=None,
        stats=stats,
        settings=Settings(),
    )
    expected = net.state_dict()

    loaded, checkpoint = ltr_load_network(str(path))
    assert checkpoint["epoch"] == 1 and checkpoint["stats"]["train"]["Loss/total"].avg == 0.5
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path))
    tracking_net = pytracking_load_network(path.name)
    for candidate in (loaded, tracking_net):
        state = candidate.state_dict()
        assert list(state) == list(expected)
        assert all(torch.equal(state[k], expected[k]) for k in expected)
