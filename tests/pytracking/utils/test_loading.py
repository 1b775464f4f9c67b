"""Network lookup for tracking: network_path directories, forced backbone_pretrained=False, clear misses."""

import importlib
import os
import sys
import uuid
import warnings

import pytest
import torch

from ltr.admin.checkpoint import save_checkpoint
from ltr.admin.loading import CheckpointNotFoundError, UnsafeCheckpointError
from pytracking.utils.loading import load_network, network_dirs

TINY_NET_SOURCE = """
import torch

from ltr.admin.model_constructor import model_constructor


@model_constructor
def tiny_net(out_dim=3, gain=1.0, backbone_pretrained=True):
    net = torch.nn.Linear(2, out_dim)
    net.gain = gain
    net.backbone_pretrained = backbone_pretrained
    return net


@model_constructor
def plain_net():
    return torch.nn.Linear(2, 2)


class Payload:
    pass
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    name = f"tiny_track_net_{uuid.uuid4().hex[:10]}"
    src = tmp_path / "modules"
    src.mkdir()
    (src / f"{name}.py").write_text(TINY_NET_SOURCE)
    monkeypatch.syspath_prepend(str(src))
    yield importlib.import_module(name)
    sys.modules.pop(name, None)


def write_network(path, net, **extra):
    fields = dict(
        epoch=50,
        actor_type="Actor",
        net_type=type(net).__name__,
        net=net,
        net_info=None,
        constructor=net.constructor,
        optimizer=None,
        stats=None,
        settings=None,
    )
    fields.update(extra)
    return save_checkpoint(path, **fields)


def test_network_dirs_accepts_str_and_lists(tmp_path):
    assert network_dirs(str(tmp_path)) == [tmp_path]
    assert network_dirs([tmp_path / "a", "", str(tmp_path / "b")]) == [tmp_path / "a", tmp_path / "b"]


def test_relative_name_is_searched_in_network_path_str(tiny, tmp_path, monkeypatch):
    torch.manual_seed(0)
    net = tiny.tiny_net(gain=2.0)  # trained with an ImageNet-initialised backbone
    write_network(tmp_path / "nets" / "tiny.pth", net)
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path / "nets"))
    loaded = load_network("tiny.pth")
    assert loaded.backbone_pretrained is False
    assert loaded.gain == 2.0
    assert torch.equal(loaded.weight, net.weight) and torch.equal(loaded.bias, net.bias)
    assert load_network("tiny.pth", gain=5.0).gain == 5.0


def test_absolute_path_is_used_directly(tiny, tmp_path, monkeypatch):
    net = tiny.tiny_net()
    path = write_network(tmp_path / "elsewhere" / "tiny.pth", net)
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path / "nets"))
    assert torch.equal(load_network(str(path)).weight, net.weight)
    with pytest.raises(CheckpointNotFoundError, match="missing.pth"):
        load_network(str(tmp_path / "elsewhere" / "missing.pth"))


def test_directories_are_tried_in_order(tiny, tmp_path, monkeypatch):
    first, second = tiny.tiny_net(gain=1.0), tiny.tiny_net(gain=2.0)
    write_network(tmp_path / "b" / "only_b.pth", first)
    write_network(tmp_path / "b" / "both.pth", first)
    write_network(tmp_path / "c" / "both.pth", second)
    dirs = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join(map(str, dirs)))
    assert load_network("only_b.pth").gain == 1.0
    assert load_network("both.pth").gain == 1.0  # b comes before c


def test_list_from_local_settings_file(tiny, tmp_path):
    net = tiny.tiny_net(gain=3.0)
    write_network(tmp_path / "second" / "tiny.pth", net)
    dirs = [str(tmp_path / "first"), str(tmp_path / "second")]
    local = os.environ["PYTRACKING_LOCAL_FILE"]
    with open(local, "w") as f:
        f.write(
            "from pytracking.evaluation.environment import EnvSettings\n\n"
            "def local_env_settings():\n"
            "    s = EnvSettings()\n"
            f"    s.network_path = {dirs!r}\n"
            "    return s\n"
        )
    assert load_network("tiny.pth").gain == 3.0


def test_missing_network_names_file_dirs_and_remedy(tmp_path, monkeypatch):
    dirs = [tmp_path / "x", tmp_path / "y"]
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join(map(str, dirs)))
    with pytest.raises(CheckpointNotFoundError) as info:
        load_network("dimp50.pth")
    message = str(info.value)
    assert "'dimp50.pth'" in message
    for d in dirs:
        assert str(d) in message
    assert "python -m pytracking.download_networks dimp50.pth" in message
    assert "PYTRACKING_NETWORK_PATH" in message
    assert isinstance(info.value, FileNotFoundError)


def test_factory_without_backbone_parameter_loads_quietly(tiny, tmp_path, monkeypatch):
    net = tiny.plain_net()
    write_network(tmp_path / "plain.pth", net)
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_network("plain.pth")
    assert torch.equal(loaded.weight, net.weight)
    with pytest.warns(UserWarning, match="'bogus'"):
        load_network("plain.pth", bogus=1)


def test_unsafe_file_needs_trust(tiny, tmp_path, monkeypatch):
    net = tiny.tiny_net()
    write_network(tmp_path / "t.pth", net, net_info=tiny.Payload())
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path))
    with pytest.raises(UnsafeCheckpointError, match="Payload"):
        load_network("t.pth")
    assert isinstance(load_network("t.pth", trust=True).info, tiny.Payload)
