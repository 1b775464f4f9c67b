"""TensorboardWriter: what is written per epoch, lazy import, and the trainer's use of it."""

import io
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from ltr.actors import AtomActor
from ltr.admin.settings import Settings
from ltr.admin.stats import AverageMeter, StatValue
from ltr.admin.tensorboard import TensorboardWriter
from ltr.train_settings.tests.tiny import GeneratedBoxDataset, GeneratedLoader, tiny_iou_net
from ltr.trainers import LTRTrainer


class FakeWriter:
    def __init__(self, log, directory):
        self.log, self.directory = log, directory
        log.append(("open", directory))

    def add_scalar(self, name, value, step):
        self.log.append(("scalar", self.directory, name, value, step))

    def add_text(self, name, text):
        self.log.append(("text", self.directory, name, text))

    def flush(self):
        pass

    def close(self):
        self.log.append(("close", self.directory))


def fake_factory(log):
    return lambda directory: FakeWriter(log, directory)


def meter(*epochs):
    m = AverageMeter()
    for values in epochs:
        for v in values:
            m.update(v, 2)
        m.new_epoch()
    return m


def test_write_epoch_and_info():
    log = []
    writer = TensorboardWriter("/tb/run", ["train", "val"], writer_factory=fake_factory(log))
    lr = StatValue()
    lr.update(0.1)
    stats = OrderedDict(train=OrderedDict([("Loss/total", meter([1.0, 3.0], [5.0])), ("LearningRate/group0", lr)]))
    stats["val"] = None
    writer.write_epoch(stats, epoch=2)
    stale = meter([1.0])
    stale.new_epoch()  # an epoch without updates: nothing new to write
    writer.write_epoch(OrderedDict(val=OrderedDict([("Loss/total", stale)])), epoch=3)
    writer.write_info("dimp", "dimp50", "a run")
    writer.close()
    assert log == [
        ("open", "/tb/run/train"),
        ("scalar", "/tb/run/train", "Loss/total", 5.0, 2),
        ("scalar", "/tb/run/train", "LearningRate/group0", 0.1, 2),
        ("open", "/tb/run/info"),
        ("text", "/tb/run/info", "Module_name", "dimp"),
        ("text", "/tb/run/info", "Script_name", "dimp50"),
        ("text", "/tb/run/info", "Description", "a run"),
        ("close", "/tb/run/train"),
        ("close", "/tb/run/info"),
    ]


def test_missing_tensorboard_disables_the_writer_with_one_warning(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    writer = TensorboardWriter(tmp_path, ["train"])
    with pytest.warns(UserWarning, match="TensorBoard logging is off"):
        writer.write_info("m", "s")
    assert not writer.enabled
    writer.write_epoch({"train": {"Loss/total": meter([1.0])}}, 1)  # silently nothing
    assert not any(tmp_path.iterdir())


def test_real_summary_writer(tmp_path):
    pytest.importorskip("tensorboard")
    writer = TensorboardWriter(tmp_path, ["train"])
    writer.write_epoch({"train": {"Loss/total": meter([1.0])}}, 1)
    writer.close()
    assert list((tmp_path / "train").glob("events.out.tfevents.*"))


def test_trainer_logs_each_epoch(tmp_path):
    settings = Settings()
    settings.env.workspace_dir = ""
    settings.env.tensorboard_dir = str(tmp_path / "tb")
    settings.project_path = "ltr/toy/tb"
    settings.module_name, settings.script_name = "toy", "tb"
    torch.manual_seed(0)
    net = tiny_iou_net()
    loaders = [
        GeneratedLoader("train", GeneratedBoxDataset(4, image_sz=16), batch_size=2),
        GeneratedLoader("val", GeneratedBoxDataset(2, image_sz=16), training=False, batch_size=2, epoch_interval=2),
    ]
    trainer = LTRTrainer(AtomActor(net, nn.MSELoss()), loaders, torch.optim.SGD(net.parameters(), lr=0.5), settings)
    trainer.log_stream = io.StringIO()
    log = []
    trainer.tensorboard_writer._factory = fake_factory(log)
    trainer.train(3)
    base = str(tmp_path / "tb" / "ltr/toy/tb")
    scalars = [
        (d.removeprefix(base), name, step) for kind, d, *rest in log if kind == "scalar" for name, _, step in [rest]
    ]
    train = [("/train", n, e) for e in (1, 2, 3) for n in ("Loss/total", "Loss/iou", "LearningRate/group0")]
    assert scalars == train[:6] + [("/val", "Loss/total", 2), ("/val", "Loss/iou", 2)] + train[6:]
    texts = [entry[2:] for entry in log if entry[0] == "text"]
    assert texts[:2] == [("Module_name", "toy"), ("Script_name", "tb")]
    assert [e[3] for e in log if e[0] == "scalar" and e[2] == "LearningRate/group0"] == [0.5, 0.5, 0.5]
