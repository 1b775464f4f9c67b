"""Network lookup for tracking: network_path directories, checkpoint directories, forced backbone_pretrained=False,
clear misses."""

import importlib
import os
import sys
import uuid
import warnings

import pytest
import torch

from ltr.admin.checkpoint import save_network
from ltr.admin.loading import CheckpointNotFoundError, UnsafeCheckpointError
from ltr.models.bbreg.atom import atom_resnet18
from pytracking.features.deep import ATOMResNet18
from pytracking.features.net_wrappers import check_networks
from pytracking.parameter.atom import atom_prob_ml
from pytracking.utils.loading import find_network, load_network, network_dirs

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


def write_network(path, net, epoch=50, net_info=None):
    return save_network(path, net, epoch=epoch, actor_type="Actor", net_info=net_info)


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
    # A name download_networks does not know gets no download command that would fail.
    with pytest.raises(CheckpointNotFoundError) as info:
        load_network("atom_prob_ml")
    message = str(info.value)
    assert "download_networks atom_prob_ml" not in message
    assert "not one of the files" in message and "train it with ltr" in message


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


# ------------------------------------------------------------------------------------- directories of checkpoints


def write_training_checkpoints(directory, nets):
    """Save ``{epoch: net}`` as ltr training does (``<net_type>_ep<epoch:04d>.pth.tar``), latest epoch first so that
    the newest file (by time) is the earliest epoch: only the sorted name may decide."""
    for epoch in sorted(nets, reverse=True):
        net = nets[epoch]
        write_network(directory / f"{type(net).__name__}_ep{epoch:04d}.pth.tar", net, epoch=epoch)
    return directory


def test_directory_loads_latest_checkpoint_absolute_and_via_network_path(tiny, tmp_path, monkeypatch):
    torch.manual_seed(0)
    early, late = tiny.tiny_net(gain=1.0), tiny.tiny_net(gain=2.0)
    directory = write_training_checkpoints(tmp_path / "nets" / "tiny_run", {9: early, 10: late})
    (directory / "notes.txt").write_text("not a checkpoint")
    assert sorted(p.name for p in directory.iterdir())[:2] == ["Linear_ep0009.pth.tar", "Linear_ep0010.pth.tar"]

    assert find_network(str(directory)) == directory
    loaded = load_network(str(directory))
    assert loaded.gain == 2.0 and loaded.backbone_pretrained is False
    assert torch.equal(loaded.weight, late.weight) and torch.equal(loaded.bias, late.bias)
    assert not torch.equal(loaded.weight, early.weight)

    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "nets")]))
    assert find_network("tiny_run") == directory
    loaded = load_network("tiny_run", gain=5.0)
    assert loaded.gain == 5.0
    assert torch.equal(loaded.weight, late.weight) and torch.equal(loaded.bias, late.bias)


def test_lookup_passes_over_directory_without_checkpoints(tiny, tmp_path, monkeypatch):
    net = tiny.tiny_net(gain=3.0)
    (tmp_path / "a" / "run").mkdir(parents=True)
    write_network(tmp_path / "a" / "run" / "Linear_ep0001.pth", net)  # not *.pth.tar: not a training checkpoint
    write_training_checkpoints(tmp_path / "b" / "run", {1: net})
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    assert find_network("run") == tmp_path / "b" / "run"
    assert load_network("run").gain == 3.0


def test_directory_without_checkpoints_names_it_and_the_fix(tmp_path, monkeypatch):
    empty = tmp_path / "nets" / "atom_prob_ml"
    empty.mkdir(parents=True)
    (empty / "ATOMnet_ep0050.pth").write_bytes(b"")  # wrong extension: ignored like ltr's loader does

    with pytest.raises(CheckpointNotFoundError) as info:
        load_network(str(empty))
    message = str(info.value)
    assert str(empty) in message
    assert "'*.pth.tar'" in message and "Copy the network's training checkpoint(s) into it" in message
    assert isinstance(info.value, FileNotFoundError)

    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join([str(tmp_path / "x"), str(tmp_path / "nets")]))
    with pytest.raises(CheckpointNotFoundError) as info:
        find_network("atom_prob_ml")
    message = str(info.value)
    assert str(empty) in message and "'*.pth.tar'" in message
    assert str(tmp_path / "x") not in message  # only the offending directory is named
    with pytest.raises(CheckpointNotFoundError, match="atom_prob_ml"):
        load_network("atom_prob_ml")


def test_atom_prob_ml_parameters_load_network_from_directory(tmp_path, monkeypatch):
    torch.manual_seed(0)
    # A small IoU-Net: the constructor arguments are stored and used again on loading.
    nets = {
        ep: atom_resnet18(iou_input_dim=(16, 16), iou_inter_dim=(16, 16), backbone_pretrained=False) for ep in (49, 50)
    }
    directory = write_training_checkpoints(tmp_path / "nets" / "atom_prob_ml", nets)
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path / "nets"))

    params = atom_prob_ml.parameters()
    params.use_gpu = False
    (feature,) = params.features.features
    assert isinstance(feature, ATOMResNet18) and feature.net_path == "atom_prob_ml"
    feature.use_gpu = False
    assert check_networks(params) == [directory]

    params.features.initialize()
    loaded = feature.net.net.state_dict()
    for key, value in nets[50].state_dict().items():
        assert torch.equal(loaded[key].cpu(), value), key
    key = "bb_regressor.conv3_1r.0.weight"
    assert not torch.equal(loaded[key].cpu(), nets[49].state_dict()[key])
    assert feature.iounet_feature_layers == ["layer2", "layer3"]

    with torch.no_grad():
        (x,) = feature.extract(torch.rand(1, 3, 64, 64) * 255)
    assert x.shape == (1, 256, 4, 4)
