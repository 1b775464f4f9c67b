"""Checkpoint writing and safe loading, on a tiny network factory defined in a temporary module."""

import importlib
import os
import sys
import types
import uuid
from collections import OrderedDict

import pytest
import torch

from ltr.admin import loading
from ltr.admin.checkpoint import CHECKPOINT_KEYS, checkpoint_path, save_checkpoint
from ltr.admin.loading import (
    CheckpointError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    PickledEnvironmentSettings,
    PickledSettings,
    UnsafeCheckpointError,
    load_network,
    load_pretrained,
    load_weights,
    safe_load,
    torch_load_legacy,
)
from ltr.admin.model_constructor import NetConstructor
from ltr.admin.settings import Settings
from ltr.admin.stats import AverageMeter, StatValue

TINY_NET_SOURCE = '''
import torch

from ltr.admin.model_constructor import model_constructor


class TinyNet(torch.nn.Module):
    def __init__(self, in_dim, out_dim):
        super().__init__()
        self.fc = torch.nn.Linear(in_dim, out_dim)
        self.register_buffer("offset", torch.zeros(out_dim))


@model_constructor
def tiny_net(in_dim=2, out_dim=3, gain=1.0, backbone_pretrained=True):
    net = TinyNet(in_dim, out_dim)
    net.gain = gain
    net.backbone_pretrained = backbone_pretrained
    return net


def not_a_factory(*args, **kwargs):
    return TinyNet(2, 3)


class Payload:
    """Any class outside the checkpoint allowlist."""
'''


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A freshly written, importable module holding the tiny_net factory."""
    name = f"tiny_net_{uuid.uuid4().hex[:10]}"
    src = tmp_path / "modules"
    src.mkdir()
    (src / f"{name}.py").write_text(TINY_NET_SOURCE)
    monkeypatch.syspath_prepend(str(src))
    module = importlib.import_module(name)
    yield module
    sys.modules.pop(name, None)


def make_stats():
    loss = AverageMeter()
    loss.update(2.0, 4)
    loss.update(1.0, 4)
    loss.new_epoch()
    loss.update(0.5, 2)
    lr = StatValue()
    lr.update(1e-3)
    return OrderedDict(
        train=OrderedDict([("Loss/total", loss), ("LearningRate/group0", lr)]),
        val=OrderedDict([("Loss/total", AverageMeter())]),
    )


def make_settings():
    settings = Settings()
    settings.batch_size = 26
    settings.project_path = "ltr/tiny/tiny_default"
    settings.normalize_mean = [0.485, 0.456, 0.406]
    return settings


def save(path, model, epoch=1, **overrides):
    fields = dict(
        epoch=epoch,
        actor_type="TinyActor",
        net_type=type(model).__name__,
        net=model,
        net_info={"note": "tiny"},
        constructor=model.constructor,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        stats=make_stats(),
        settings=make_settings(),
    )
    fields.update(overrides)
    return save_checkpoint(path, **fields)


def seeded_net(tiny, seed, **kwargs):
    torch.manual_seed(seed)
    return tiny.tiny_net(**kwargs)


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ---------------------------------------------------------------- saving


def test_checkpoint_path_layout(tmp_path):
    p = checkpoint_path(tmp_path, "ltr/dimp/dimp50", "DiMPnet", 7)
    assert p == os.path.join(str(tmp_path), "checkpoints", "ltr", "dimp", "dimp50", "DiMPnet_ep0007.pth.tar")


def test_save_checkpoint_official_layout(tiny, tmp_path):
    net = seeded_net(tiny, 0)
    path = save(tmp_path / "ck" / "TinyNet_ep0001.pth.tar", net, extra={"lr_scheduler": {"last_epoch": 1}})
    assert sorted(os.listdir(path.parent)) == ["TinyNet_ep0001.pth.tar"]  # no temporary left behind
    raw = torch.load(path, weights_only=False)
    assert list(raw) == [*CHECKPOINT_KEYS, "lr_scheduler"]
    assert raw["epoch"] == 1 and raw["net_type"] == "TinyNet" and raw["actor_type"] == "TinyActor"
    assert list(raw["net"]) == ["offset", "fc.weight", "fc.bias"]
    assert set(raw["optimizer"]) == {"state", "param_groups"}
    assert type(raw["settings"].env).__module__ == "ltr.admin.local"  # the layout official files have
    with pytest.raises(ValueError, match="epoch"):
        save(tmp_path / "x.pth.tar", net, extra={"epoch": 3})


def test_save_checkpoint_unwraps_data_parallel(tiny, tmp_path):
    net = seeded_net(tiny, 0)
    path = save(tmp_path / "a.pth.tar", net, net=torch.nn.DataParallel(net))
    assert list(safe_load(path)["net"]) == ["offset", "fc.weight", "fc.bias"]


def test_save_checkpoint_is_atomic(tiny, tmp_path, monkeypatch):
    net = seeded_net(tiny, 0)
    target = tmp_path / "ck" / "TinyNet_ep0002.pth.tar"
    target.parent.mkdir()
    target.write_bytes(b"previous checkpoint")

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save(target, net)
    assert sorted(os.listdir(target.parent)) == [target.name]
    assert target.read_bytes() == b"previous checkpoint"

    fresh = tmp_path / "other" / "TinyNet_ep0003.pth.tar"
    with pytest.raises(OSError):
        save(fresh, net)
    assert os.listdir(fresh.parent) == []


# ---------------------------------------------------------------- safe loading


def test_safe_load_restores_stats_settings_and_constructor(tiny, tmp_path):
    net = seeded_net(tiny, 1, gain=0.5)
    path = save(tmp_path / "TinyNet_ep0001.pth.tar", net)
    before = set(torch.serialization.get_safe_globals())
    ck = safe_load(path)
    assert set(torch.serialization.get_safe_globals()) == before  # the allowlist is not left installed

    loss = ck["stats"]["train"]["Loss/total"]
    assert isinstance(ck["stats"], OrderedDict) and isinstance(ck["stats"]["train"], OrderedDict)
    assert isinstance(loss, AverageMeter)
    assert loss.history == [1.5]
    assert (loss.sum, loss.count, loss.avg, loss.val) == (1.0, 2, 0.5, 0.5)
    lr = ck["stats"]["train"]["LearningRate/group0"]
    assert isinstance(lr, StatValue) and lr.history == [1e-3]

    settings = ck["settings"]
    assert isinstance(settings, PickledSettings)
    assert settings.batch_size == 26 and settings.normalize_mean == [0.485, 0.456, 0.406]
    assert settings.use_gpu is True
    assert isinstance(settings.env, PickledEnvironmentSettings)
    assert settings.env.workspace_dir == make_settings().env.workspace_dir

    c = ck["constructor"]
    assert isinstance(c, NetConstructor)
    assert (c.fun_module, c.fun_name, c.args, c.kwds) == (tiny.__name__, "tiny_net", (), {"gain": 0.5})
    assert ck["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert torch_load_legacy(path)["epoch"] == 1


def test_safe_load_accepts_numpy_values(tmp_path):
    np = pytest.importorskip("numpy")
    path = tmp_path / "np.pth"
    torch.save({"x": np.float64(2.5), "a": np.arange(3, dtype=np.int32), "i": np.int64(7)}, path)
    loaded = safe_load(path)
    assert loaded["x"] == 2.5 and loaded["i"] == 7
    assert loaded["a"].dtype == np.int32 and loaded["a"].tolist() == [0, 1, 2]


def test_unexpected_class_is_refused_unless_trusted(tiny, tmp_path):
    net = seeded_net(tiny, 0)
    path = save(tmp_path / "TinyNet_ep0001.pth.tar", net, net_info=tiny.Payload())
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_load(path)
    message = str(info.value)
    assert str(path) in message and f"{tiny.__name__}.Payload" in message and "trust=True" in message
    assert info.value.global_name == f"{tiny.__name__}.Payload"
    with pytest.raises(UnsafeCheckpointError):
        load_network(path)
    net2, ck = load_network(path, trust=True)
    assert isinstance(ck["net_info"], tiny.Payload)
    assert_same_weights(net, net2)


class _CallsPrint:
    def __reduce__(self):
        return (print, ("unpickling ran code",))


def test_code_execution_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"net": {}, "x": _CallsPrint()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"'builtins\.print'") as info:
        safe_load(path)
    assert info.value.global_name == "builtins.print"
    assert capsys.readouterr().out == ""


def test_factory_must_be_a_model_constructor(tiny, tmp_path):
    net = seeded_net(tiny, 2)
    rogue = NetConstructor("not_a_factory", tiny.__name__, (), {})
    path = save(tmp_path / "r.pth.tar", net, constructor=rogue)
    with pytest.raises(UnsafeCheckpointError, match="not a @model_constructor"):
        load_network(path)
    net2, _ = load_network(path, trust=True)
    assert_same_weights(net, net2)


def test_factory_module_outside_ltr_must_be_imported(tiny, tmp_path):
    net = seeded_net(tiny, 3)
    path = save(tmp_path / "m.pth.tar", net)
    del sys.modules[tiny.__name__]
    with pytest.raises(UnsafeCheckpointError, match=tiny.__name__):
        load_network(path)
    assert tiny.__name__ not in sys.modules  # refused before importing it
    net2, _ = load_network(path, constructor_module=tiny.__name__)
    assert_same_weights(net, net2)
    del sys.modules[tiny.__name__]
    net3, _ = load_network(path, trust=True)
    assert_same_weights(net, net3)


# ---------------------------------------------------------------- load_network


def test_load_network_by_file_dir_and_epoch(tiny, tmp_path):
    nets = {ep: seeded_net(tiny, 10 + ep) for ep in (1, 2, 3)}
    for ep, net in nets.items():
        save(tmp_path / "run" / f"TinyNet_ep{ep:04d}.pth.tar", net, epoch=ep)

    by_file, ck = load_network(tmp_path / "run" / "TinyNet_ep0002.pth.tar")
    assert ck["epoch"] == 2
    assert_same_weights(by_file, nets[2])
    assert by_file.info == {"note": "tiny"}
    assert by_file.constructor is ck["constructor"]

    latest, ck = load_network(str(tmp_path / "run"))
    assert ck["epoch"] == 3
    assert_same_weights(latest, nets[3])

    first, ck = load_network(tmp_path / "run", checkpoint=1)
    assert ck["epoch"] == 1
    assert_same_weights(first, nets[1])

    relative, ck = load_network(tmp_path / "run", checkpoint="TinyNet_ep0003.pth.tar")
    assert ck["epoch"] == 3
    absolute, ck = load_network(checkpoint=str(tmp_path / "run" / "TinyNet_ep0001.pth.tar"))
    assert ck["epoch"] == 1

    with pytest.raises(CheckpointNotFoundError, match="_ep0009"):
        load_network(tmp_path / "run", checkpoint=9)
    with pytest.raises(TypeError):
        load_network(tmp_path / "run", checkpoint=True)


def test_load_network_argument_overrides(tiny, tmp_path):
    net = seeded_net(tiny, 4, gain=0.5)
    path = save(tmp_path / "k.pth.tar", net)
    net2, ck = load_network(path, gain=4.0)
    assert net2.gain == 4.0
    assert net2.constructor.kwds == {"gain": 4.0}
    with pytest.warns(UserWarning, match="'bogus' is not a parameter of"):
        net3, _ = load_network(path, bogus=1)
    assert net3.gain == 0.5

    torch.manual_seed(5)
    positional = tiny.tiny_net(2, 3, 0.25)  # stored as args, not kwds
    path = save(tmp_path / "p.pth.tar", positional)
    net4, _ = load_network(path, gain=8.0)
    assert net4.gain == 8.0
    assert net4.constructor.args == (2, 3, 8.0)
    assert_same_weights(net4, positional)

    with pytest.raises(CheckpointError, match="do not fit") as info:
        load_network(path, out_dim=5)  # strict loading
    assert str(path) in str(info.value)


def test_constructor_name_overrides(tiny, tmp_path):
    net = seeded_net(tiny, 6)
    stale = NetConstructor("old_name", "ltr.no_such_module", (), {})
    path = save(tmp_path / "o.pth.tar", net, constructor=stale)
    with pytest.raises(CheckpointError, match="ltr.no_such_module"):
        load_network(path)
    net2, _ = load_network(path, constructor_fun_name="tiny_net", constructor_module=tiny.__name__)
    assert_same_weights(net, net2)


def _legacy_module(monkeypatch, dotted, cls_name):
    """Register a stand-in module so that pickle writes the legacy class name."""
    parts = dotted.split(".")
    for i in range(1, len(parts)):
        monkeypatch.setitem(sys.modules, ".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    module = types.ModuleType(dotted)
    cls = type(cls_name, (), {"__module__": dotted})
    setattr(module, cls_name, cls)
    monkeypatch.setitem(sys.modules, dotted, module)
    return cls


def _legacy_object(cls, **attrs):
    obj = cls.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


@pytest.mark.parametrize("trust", [False, True])
def test_legacy_dlframework_names(tiny, tmp_path, monkeypatch, trust):
    net = seeded_net(tiny, 7, gain=3.0)
    path = tmp_path / "legacy.pth"
    with monkeypatch.context() as m:
        base = "dlframework.common.utils"
        ctor = _legacy_module(m, f"{base}.model_constructor", "NetConstructor")
        meter = _legacy_module(m, f"{base}.stats", "AverageMeter")
        settings_cls = _legacy_module(m, f"{base}.settings", "Settings")
        env_cls = _legacy_module(m, f"{base}.local", "EnvironmentSettings")
        env = _legacy_object(env_cls, workspace_dir="/old/workspace")
        constructor = _legacy_object(
            ctor, fun_name="tiny_net", fun_module="dlframework." + tiny.__name__, args=(), kwds={"gain": 3.0}
        )
        stats = OrderedDict(train=OrderedDict(loss=_legacy_object(meter, avg=0.25, history=[0.5])))
        save(
            path,
            net,
            constructor=constructor,
            stats=stats,
            settings=_legacy_object(settings_cls, env=env, batch_size=10),
            optimizer=None,
        )
    assert b"dlframework.common.utils.model_constructor" in _pickle_bytes(path)
    assert not any(k == "dlframework" or k.startswith("dlframework.") for k in sys.modules)

    net2, ck = load_network(path, trust=trust)
    assert_same_weights(net, net2)
    assert net2.gain == 3.0
    assert isinstance(ck["constructor"], NetConstructor) and ck["constructor"].fun_module == tiny.__name__
    loss = ck["stats"]["train"]["loss"]
    assert isinstance(loss, AverageMeter) and loss.history == [0.5]
    assert isinstance(ck["settings"], PickledSettings) and ck["settings"].batch_size == 10
    assert isinstance(ck["settings"].env, PickledEnvironmentSettings)
    assert ck["settings"].env.workspace_dir == "/old/workspace"
    assert not any(k == "dlframework" or k.startswith("dlframework.") for k in sys.modules)


def _pickle_bytes(path):
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))


def test_load_pretrained_uses_workspace(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("LTR_WORKSPACE_DIR", str(tmp_path / "ws"))
    net = seeded_net(tiny, 8)
    save(checkpoint_path(tmp_path / "ws", "ltr/tiny/tiny_default", "TinyNet", 4), net, epoch=4)
    net2, ck = load_pretrained("tiny", "tiny_default")
    assert ck["epoch"] == 4
    assert_same_weights(net, net2)
    net3, _ = load_pretrained("tiny", "tiny_default", checkpoint=4, gain=2.0)
    assert net3.gain == 2.0


# ---------------------------------------------------------------- load_weights and errors


def test_load_weights_from_checkpoint_and_state_dict(tiny, tmp_path):
    net = seeded_net(tiny, 9)
    full = save(tmp_path / "full.pth.tar", net)
    bare = tmp_path / "bare.pth"
    torch.save(net.state_dict(), bare)
    for path in (full, bare):
        target = seeded_net(tiny, 99)
        assert load_weights(target, path) is target
        assert_same_weights(target, net)
    with pytest.raises(CheckpointFormatError, match="load_weights"):
        load_network(bare)
    target = tiny.tiny_net(out_dim=4)
    with pytest.raises(RuntimeError):
        load_weights(target, bare)
    partial = tmp_path / "partial.pth"
    torch.save({"fc.weight": net.fc.weight.detach()}, partial)
    target = seeded_net(tiny, 99)
    load_weights(target, partial, strict=False)
    assert torch.equal(target.fc.weight, net.fc.weight)


def test_wrong_kind_of_file(tmp_path):
    path = tmp_path / "opt.pth"
    torch.save({"epoch": 3, "optimizer": {"state": {}}}, path)
    with pytest.raises(CheckpointFormatError) as info:
        load_network(path)
    message = str(info.value)
    assert str(path) in message and "['epoch', 'optimizer']" in message and "'constructor'" in message
    with pytest.raises(CheckpointFormatError, match="no network weights"):
        load_weights(torch.nn.Linear(1, 1), path)
    weights_only = tmp_path / "w.pth"
    torch.save({"net": {"w": torch.zeros(1)}}, weights_only)
    with pytest.raises(CheckpointFormatError, match="lacks \\['constructor'\\].*load_weights"):
        load_network(weights_only)
    listed = tmp_path / "list.pth"
    torch.save([1, 2], listed)
    with pytest.raises(CheckpointFormatError, match="holds a list"):
        load_network(listed)


def test_missing_files_are_named(tmp_path):
    missing = tmp_path / "nope.pth.tar"
    with pytest.raises(CheckpointNotFoundError, match="nope.pth.tar") as info:
        safe_load(missing)
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nodir")):
        load_network(tmp_path / "nodir")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(CheckpointNotFoundError, match=r"No checkpoint matching '\*\.pth\.tar'"):
        load_network(tmp_path / "empty_dir")
    with pytest.raises(CheckpointNotFoundError, match="is a directory"):
        safe_load(tmp_path / "empty_dir")


@pytest.mark.parametrize("trust", [False, True])
@pytest.mark.parametrize("kind", ["truncated", "empty", "html", "garbage"])
def test_corrupt_files_say_redownload(tmp_path, kind, trust):
    good = tmp_path / "good.pth"
    torch.save({"net": {"w": torch.arange(100.0)}}, good)
    data = good.read_bytes()
    contents = {
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "html": b"<!DOCTYPE html><html>Google Drive - virus scan warning</html>",
        "garbage": bytes(range(256)) * 4,
    }
    bad = tmp_path / f"{kind}.pth"
    bad.write_bytes(contents[kind])
    with pytest.raises(CorruptCheckpointError) as info:
        safe_load(bad, trust=trust)
    message = str(info.value)
    assert str(bad) in message and "download" in message
    assert isinstance(info.value.__cause__, Exception)


def test_allowlist_maps_current_and_legacy_names():
    assert loading.checkpoint_globals()["ltr.admin.local.EnvironmentSettings"] is PickledEnvironmentSettings
    names = loading.checkpoint_globals()
    assert names["dlframework.common.utils.model_constructor.NetConstructor"] is NetConstructor
    assert names["dlframework.common.utils.stats.StatValue"] is StatValue
    assert names["ltr.admin.settings.Settings"] is PickledSettings


def test_trusted_load_maps_other_legacy_names(tmp_path, monkeypatch):
    path = tmp_path / "fn.pth"
    with monkeypatch.context() as m:
        module = types.ModuleType("dlframework.common.utils.stats")
        m.setitem(sys.modules, "dlframework", types.ModuleType("dlframework"))
        m.setitem(sys.modules, "dlframework.common", types.ModuleType("dlframework.common"))
        m.setitem(sys.modules, "dlframework.common.utils", types.ModuleType("dlframework.common.utils"))
        m.setitem(sys.modules, module.__name__, module)

        def topk_accuracy():
            pass

        topk_accuracy.__module__ = module.__name__
        topk_accuracy.__qualname__ = "topk_accuracy"
        module.topk_accuracy = topk_accuracy
        torch.save({"metric": topk_accuracy}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"'dlframework\.common\.utils\.stats\.topk_accuracy'"):
        safe_load(path)
    from ltr.admin.stats import topk_accuracy as current

    assert safe_load(path, trust=True)["metric"] is current
