"""LTRTrainer on a tiny network and in-memory data: resuming, fail-safe restarts, checkpoints, statistics, output."""

import io
import math
import re

import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset

import pytracking.utils.loading as pytracking_loading
from ltr.actors import AtomActor, BaseActor
from ltr.admin import checkpoint as ckpt_io
from ltr.admin import loading
from ltr.admin.checkpoint import CHECKPOINT_KEYS
from ltr.admin.loading import CheckpointFormatError, CheckpointNotFoundError, PickledSettings, safe_load
from ltr.admin.settings import Settings
from ltr.admin.stats import AverageMeter, StatValue
from ltr.train_settings.tests.tiny import TinyIoUNet, tiny_iou_net
from ltr.trainers import LTRTrainer
from pytracking.libs.tensordict import TensorDict

PROJECT = "ltr/toy/run"


class ToyDataset(Dataset):
    """``n`` fixed samples in the layout of ATOM's processing output (one train and one test frame)."""

    def __init__(self, n: int, image_sz: int = 16, num_proposals: int = 3, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.items = []
        for _ in range(n):
            box = torch.tensor([4.0, 4.0, 6.0, 6.0]) + torch.rand(4, generator=g)
            self.items.append(
                TensorDict(
                    train_images=torch.randn(1, 3, image_sz, image_sz, generator=g),
                    train_anno=box[None],
                    test_images=torch.randn(1, 3, image_sz, image_sz, generator=g),
                    test_anno=box[None],
                    test_proposals=box + torch.randn(1, num_proposals, 4, generator=g),
                    proposal_iou=2 * torch.rand(1, num_proposals, generator=g) - 1,
                )
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> TensorDict:
        return self.items[index]


class ToyLoader:
    """The attributes of ``LTRLoader`` the trainer uses; batches stacked on dim 1 in an order drawn from torch's
    global generator. ``fail_on=(pass, batch)`` raises once, at that batch of that pass over the data."""

    def __init__(self, name, dataset, batch_size, training=True, epoch_interval=1, shuffle=True, fail_on=None):
        self.name, self.dataset, self.batch_size = name, dataset, batch_size
        self.training, self.epoch_interval, self.shuffle = training, epoch_interval, shuffle
        self.stack_dim = 1
        self.fail_on = fail_on
        self.passes = 0

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        self.passes += 1
        n = len(self.dataset)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        for i in range(len(self)):
            if self.fail_on in ((self.passes, i + 1), "always"):
                if self.fail_on != "always":
                    self.fail_on = None
                raise RuntimeError("simulated loader crash")
            samples = [self.dataset[j] for j in order[i * self.batch_size : (i + 1) * self.batch_size].tolist()]
            yield TensorDict((k, torch.stack([s[k] for s in samples], dim=1)) for k in samples[0])


TRAIN_DATA, VAL_DATA = ToyDataset(8, seed=1), ToyDataset(4, seed=2)


def make_settings(workspace) -> Settings:
    settings = Settings()
    settings.env.workspace_dir = str(workspace) if workspace else ""
    settings.env.tensorboard_dir = ""
    settings.project_path = PROJECT
    settings.use_gpu = False
    return settings


def make_trainer(workspace, seed=0, fail_on=None, **kwargs) -> LTRTrainer:
    torch.manual_seed(seed)
    net = tiny_iou_net(dropout=0.5)
    loaders = [
        ToyLoader("train", TRAIN_DATA, batch_size=3, fail_on=fail_on),
        ToyLoader("val", VAL_DATA, batch_size=4, training=False, epoch_interval=2, shuffle=False),
    ]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = LTRTrainer(
        AtomActor(net, nn.MSELoss()), loaders, optimizer, make_settings(workspace), scheduler, **kwargs
    )
    trainer.log_stream = io.StringIO()
    return trainer


def assert_same_training_state(a: LTRTrainer, b: LTRTrainer) -> None:
    """Bitwise equality of weights, buffers, optimizer state, scheduler state and statistics."""
    sa, sb = a.actor.net.state_dict(), b.actor.net.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    oa, ob = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert oa["param_groups"] == ob["param_groups"]
    for i in oa["state"]:
        for k, v in oa["state"][i].items():
            assert torch.equal(v, ob["state"][i][k]), (i, k)
    assert a.lr_scheduler.state_dict() == b.lr_scheduler.state_dict()
    assert a.epoch == b.epoch
    for loader in ("train", "val"):
        ha = {k: m.history for k, m in a.stats[loader].items()}
        hb = {k: m.history for k, m in b.stats[loader].items()}
        assert ha == hb


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted 4-epoch run and the torch RNG state right after it."""
    trainer = make_trainer(tmp_path_factory.mktemp("reference"))
    trainer.train(4)
    return trainer, torch.get_rng_state()


# ------------------------------------------------------------------------------------------- resume / fail-safe
def test_crash_in_epoch_3_resumes_bit_exactly(tmp_path, reference):
    ref, ref_rng = reference
    trainer = make_trainer(tmp_path, fail_on=(3, 2))  # the loader raises at batch 2 of epoch 3
    trainer.train(4)
    out = trainer.log_stream.getvalue()
    assert "Training crashed at epoch 3" in out and "simulated loader crash" in out
    assert "Restarting training from last epoch" in out and out.rstrip().endswith("Finished training!")
    assert trainer.loaders[0].passes == 5  # epochs 1, 2, 3 (crashed), 3 again, 4
    assert_same_training_state(trainer, ref)
    assert torch.equal(torch.get_rng_state(), ref_rng)
    # The state after epoch 2 was saved identically in both runs.
    a = safe_load(ref.checkpoint_dir / "TinyIoUNet_ep0002.pth.tar")
    b = safe_load(trainer.checkpoint_dir / "TinyIoUNet_ep0002.pth.tar")
    assert all(torch.equal(a["net"][k], b["net"][k]) for k in a["net"])
    assert a["lr_scheduler"] == b["lr_scheduler"]


def test_killed_run_resumes_in_a_new_trainer(tmp_path, reference):
    ref, ref_rng = reference
    first = make_trainer(tmp_path)
    first.train(2)
    # A new process: other initial weights and random state, then resume from the latest checkpoint (epoch 2).
    second = make_trainer(tmp_path, seed=123)
    second.train(4, load_latest=True)
    assert second.loaders[0].passes == 2
    assert_same_training_state(second, ref)
    assert torch.equal(torch.get_rng_state(), ref_rng)


def test_crash_before_any_checkpoint_restarts_from_the_initial_state(reference):
    ref, _ = reference
    trainer = make_trainer(None, fail_on=(1, 3))  # no checkpoints at all: the in-memory start state is used
    trainer.train(4)
    assert "Training crashed at epoch 1" in trainer.log_stream.getvalue()
    assert_same_training_state(trainer, ref)


def test_fail_safe_off_raises_and_fail_safe_gives_up_after_ten_attempts(tmp_path):
    trainer = make_trainer(tmp_path, fail_on=(1, 1))
    with pytest.raises(RuntimeError, match="simulated loader crash"):
        trainer.train(2, fail_safe=False)
    assert trainer.loaders[0].passes == 1

    trainer = make_trainer(None, fail_on="always")
    with pytest.raises(RuntimeError, match="simulated loader crash"):
        trainer.train(2)
    assert trainer.loaders[0].passes == 10
    assert trainer.log_stream.getvalue().count("Training crashed") == 9


def test_failed_checkpoint_write_leaves_no_partial_file(tmp_path, monkeypatch):
    real_save = torch.save

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("simulated disk full")

    trainer = make_trainer(tmp_path)
    trainer.train(1)
    monkeypatch.setattr(ckpt_io.torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        trainer.train(2, fail_safe=False)
    directory = trainer.checkpoint_dir
    assert sorted(p.name for p in directory.iterdir()) == ["TinyIoUNet_ep0001.pth.tar"]  # no .tmp, no epoch 2
    monkeypatch.setattr(ckpt_io.torch, "save", real_save)
    assert safe_load(directory / "TinyIoUNet_ep0001.pth.tar")["epoch"] == 1


def test_failed_checkpoint_write_is_retried_by_fail_safe(tmp_path, monkeypatch, reference):
    ref, _ = reference
    real_save = torch.save
    calls = []

    def save_failing_at_epoch_3(obj, f, *args, **kwargs):
        calls.append(obj["epoch"])
        if calls.count(3) == 1 and obj["epoch"] == 3:
            f.write(b"half a checkpoint")
            raise OSError("simulated disk full")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(ckpt_io.torch, "save", save_failing_at_epoch_3)
    trainer = make_trainer(tmp_path)
    trainer.train(4)
    assert calls == [1, 2, 3, 3, 4]
    assert sorted(p.name for p in trainer.checkpoint_dir.iterdir()) == [
        f"TinyIoUNet_ep000{i}.pth.tar" for i in range(1, 5)
    ]
    assert_same_training_state(trainer, ref)


# ------------------------------------------------------------------------------------------------- checkpoints
def test_checkpoint_contents_and_loading(reference):
    ref, _ = reference
    path = ref.checkpoint_dir / "TinyIoUNet_ep0004.pth.tar"
    assert path == ref.checkpoint_dir.parents[3] / "checkpoints" / PROJECT / path.name
    state = safe_load(path)
    assert set(state) == set(CHECKPOINT_KEYS) | {"lr_scheduler", "rng_state"}
    assert (state["epoch"], state["actor_type"], state["net_type"]) == (4, "AtomActor", "TinyIoUNet")
    assert state["constructor"].fun_name == "tiny_iou_net" and state["constructor"].kwds == {"dropout": 0.5}
    assert isinstance(state["settings"], PickledSettings) and state["settings"].project_path == PROJECT
    assert state["lr_scheduler"]["last_epoch"] == 4 and len(state["rng_state"]) == 1
    train_stats = state["stats"]["train"]
    assert isinstance(train_stats["Loss/total"], AverageMeter) and len(train_stats["Loss/total"].history) == 4
    assert isinstance(train_stats["LearningRate/group0"], StatValue)
    assert train_stats["LearningRate/group0"].history == pytest.approx([1e-2, 5e-3, 2.5e-3, 1.25e-3])
    assert len(state["stats"]["val"]["Loss/total"].history) == 2  # epochs 2 and 4

    net = pytracking_loading.load_network(str(path))
    assert type(net) is TinyIoUNet
    reference_state = ref.actor.net.state_dict()
    assert all(torch.equal(v, reference_state[k]) for k, v in net.state_dict().items())
    latest, ckpt = loading.load_network(network_dir=ref.checkpoint_dir)
    assert ckpt["epoch"] == 4 and torch.equal(latest.bb_regressor[0].weight, net.bb_regressor[0].weight)


def test_load_checkpoint_by_epoch_path_directory_and_fields(reference):
    ref, _ = reference
    trainer = make_trainer(None, seed=5)
    directory = ref.checkpoint_dir
    assert trainer.load_checkpoint() is False  # checkpointing off: nothing to resume
    assert trainer.load_checkpoint(directory / "TinyIoUNet_ep0002.pth.tar") is True
    assert trainer.epoch == 2 and trainer.lr_scheduler.last_epoch == 2
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(2.5e-3)
    assert trainer.load_checkpoint(directory) and trainer.epoch == 4

    partial = make_trainer(None, seed=5)
    partial.load_checkpoint(directory, fields=["net"])
    assert partial.epoch == 0 and partial.lr_scheduler.last_epoch == 0
    assert torch.equal(partial.actor.net.bb_regressor[0].weight, ref.actor.net.bb_regressor[0].weight)

    by_epoch = make_trainer(directory.parents[3])  # same workspace and project path as the reference run
    assert by_epoch.load_checkpoint(3) and by_epoch.epoch == 3
    with pytest.raises(CheckpointNotFoundError):
        by_epoch.load_checkpoint(7)


def test_load_checkpoint_rejects_another_network_and_accepts_official_files(tmp_path, reference):
    ref, _ = reference
    src = ref.checkpoint_dir / "TinyIoUNet_ep0003.pth.tar"
    other = LTRTrainer(
        BaseActor(nn.Linear(2, 2), None),
        [],
        torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0),
        make_settings(None),
    )
    with pytest.raises(CheckpointFormatError, match="TinyIoUNet"):
        other.load_checkpoint(src)

    # An official-style file: no scheduler state and no random states.
    state = safe_load(src)
    official = tmp_path / "official.pth.tar"
    ckpt_io.save_checkpoint(official, **{k: state[k] for k in CHECKPOINT_KEYS})
    trainer = make_trainer(None, seed=7)
    rng_before = torch.get_rng_state()
    assert trainer.load_checkpoint(official)
    assert trainer.epoch == 3 and trainer.lr_scheduler.last_epoch == 3
    assert torch.equal(torch.get_rng_state(), rng_before)


# --------------------------------------------------------------------------------------- loop, stats and output
class ScriptedActor(BaseActor):
    """Loss ``scale * sum(weight)``; stat ``Loss/a`` = batch number, ``Loss/b`` = 10; records what it sees."""

    def __init__(self, scale=1.0):
        super().__init__(nn.Linear(1, 1, bias=False), None)
        nn.init.zeros_(self.net.weight)
        self.scale, self.seen, self.grad_enabled = scale, [], []

    def __call__(self, data):
        self.seen.append(data)
        self.grad_enabled.append(torch.is_grad_enabled())
        loss = self.scale * self.net.weight.sum()
        return loss, {"Loss/a": float(len(self.seen)), "Loss/b": 10.0}


def scripted_trainer(actor, loaders, lr=1.0, **kwargs):
    settings = make_settings(None)
    for name, value in kwargs.pop("settings", {}).items():
        setattr(settings, name, value)
    trainer = LTRTrainer(actor, loaders, torch.optim.SGD(actor.net.parameters(), lr=lr), settings, **kwargs)
    trainer.log_stream = io.StringIO()
    return trainer


def test_statistics_are_weighted_by_batch_size_and_learning_rate_recorded():
    actor = ScriptedActor()
    train = ToyLoader("train", TRAIN_DATA, batch_size=3)  # batches of 3, 3, 2
    val = ToyLoader("val", VAL_DATA, batch_size=4, training=False, epoch_interval=2)
    trainer = scripted_trainer(actor, [train, val])
    trainer.epoch = 1
    trainer.train_epoch()
    assert trainer.stats["val"] is None
    stats = trainer.stats["train"]
    assert stats["Loss/a"].history == [pytest.approx((1 * 3 + 2 * 3 + 3 * 2) / 8)]
    assert stats["Loss/b"].history == [10.0] and stats["LearningRate/group0"].history == [1.0]
    assert actor.grad_enabled == [True] * 3
    assert all(d["epoch"] == 1 and d["settings"] is trainer.settings for d in actor.seen)
    assert actor.net.weight.item() == pytest.approx(-3.0)  # three SGD steps of gradient 1

    trainer.epoch = 2
    trainer.train_epoch()
    assert actor.grad_enabled[3:] == [True] * 3 + [False] and torch.is_grad_enabled()
    assert trainer.stats["val"]["Loss/a"].history == [7.0]
    assert "LearningRate/group0" not in trainer.stats["val"]


def test_batch_size_falls_back_to_the_loader_attribute():
    actor = ScriptedActor()
    loader = ToyLoader("train", TRAIN_DATA, batch_size=3)
    del loader.stack_dim
    trainer = scripted_trainer(actor, [loader])
    trainer.epoch = 1
    trainer.train_epoch()
    assert trainer.stats["train"]["Loss/a"].history == [pytest.approx(2.0)]  # every batch counted as 3


def test_progress_lines_have_the_original_format():
    trainer = scripted_trainer(
        ScriptedActor(), [ToyLoader("train", TRAIN_DATA, batch_size=3)], settings={"print_interval": 2}
    )
    trainer.epoch = 1
    trainer.train_epoch()
    lines = trainer.log_stream.getvalue().splitlines()
    fps = r"FPS: \d+\.\d \(\d+\.\d\)"
    assert len(lines) == 2
    assert re.fullmatch(rf"\[train: 1, 2 / 3\] {fps}  ,  Loss/a: 1\.50000  ,  Loss/b: 10\.00000", lines[0])
    assert re.fullmatch(rf"\[train: 1, 3 / 3\] {fps}  ,  Loss/a: 1\.87500  ,  Loss/b: 10\.00000", lines[1])

    trainer = scripted_trainer(
        ScriptedActor(), [ToyLoader("train", TRAIN_DATA, batch_size=8)], settings={"print_stats": ["Loss/b"]}
    )
    trainer.epoch = 4
    trainer.train_epoch()
    assert re.fullmatch(rf"\[train: 4, 1 / 1\] {fps}  ,  Loss/b: 10\.00000\n", trainer.log_stream.getvalue())


def test_progress_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    trainer = scripted_trainer(ScriptedActor(), [ToyLoader("train", TRAIN_DATA, batch_size=3)])
    trainer.log_stream = Terminal()
    trainer.epoch = 1
    trainer.train_epoch()
    out = trainer.log_stream.getvalue()
    assert "\r" in out  # the bar redraws in place
    assert re.search(r"\[train: 1, 3 / 3\] FPS: .*Loss/a: 1\.87500", out)
    assert "[train: 1, 1 / 3]" not in out  # intermediate lines go to the bar, not the log


def test_gradient_clipping():
    for clip, expected in ((None, -1000.0), (1.0, -1.0)):
        actor = ScriptedActor(scale=1000.0)
        trainer = scripted_trainer(actor, [ToyLoader("train", TRAIN_DATA, batch_size=8)], grad_clip_max_norm=clip)
        trainer.epoch = 1
        trainer.train_epoch()
        assert actor.net.weight.item() == pytest.approx(expected, rel=1e-6)
    actor = ScriptedActor(scale=1000.0)
    trainer = scripted_trainer(
        actor, [ToyLoader("train", TRAIN_DATA, batch_size=8)], settings={"grad_clip_max_norm": 2.0}
    )
    trainer.epoch = 1
    trainer.train_epoch()
    assert actor.net.weight.item() == pytest.approx(-2.0, rel=1e-6)


def test_move_data_to_gpu_setting():
    for move in (True, False):

        class Recording(ToyLoader):
            def __iter__(self):
                for batch in super().__iter__():
                    self.yielded.append(batch)
                    yield batch

        loader = Recording("train", TRAIN_DATA, batch_size=8)
        loader.yielded = []
        actor = ScriptedActor()
        trainer = scripted_trainer(actor, [loader], settings={"move_data_to_gpu": move})
        trainer.epoch = 1
        trainer.train_epoch()
        assert (actor.seen[0] is loader.yielded[0]) is not move


def test_freeze_backbone_bn_layers():
    trainer = make_trainer(None, freeze_backbone_bn_layers=True)
    net = trainer.actor.net
    bn = net.feature_extractor[1]
    mean_before = bn.running_mean.clone()
    trainer.epoch = 1
    trainer.cycle_dataset(trainer.loaders[0])
    assert not bn.training and net.bb_regressor.training
    assert torch.equal(bn.running_mean, mean_before)
    assert not torch.equal(net.feature_extractor[0].weight, make_trainer(None).actor.net.feature_extractor[0].weight)

    unfrozen = make_trainer(None)
    unfrozen.epoch = 1
    unfrozen.cycle_dataset(unfrozen.loaders[0])
    assert not torch.equal(unfrozen.actor.net.feature_extractor[1].running_mean, mean_before)


def test_sampler_is_told_the_epoch():
    class Sampler:
        epochs = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    loader = ToyLoader("train", TRAIN_DATA, batch_size=8)
    loader.sampler = Sampler()
    trainer = scripted_trainer(ScriptedActor(), [loader])
    trainer.train(3)
    assert loader.sampler.epochs == [1, 2, 3]


def test_checkpointing_needs_a_project_path(tmp_path):
    settings = make_settings(tmp_path)
    del settings.project_path
    with pytest.raises(ValueError, match="project_path"):
        LTRTrainer(ScriptedActor(), [], torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), settings)
