"""Multi-GPU / distributed helpers: single-process behaviour, and a one-process Gloo group for the DDP code path."""

import io

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.utils.data import DistributedSampler

from ltr.actors import AtomActor
from ltr.admin import distributed
from ltr.admin.loading import safe_load
from ltr.admin.multigpu import MultiGPU, is_multi_gpu, unwrap
from ltr.admin.settings import Settings
from ltr.train_settings.tests.tiny import GeneratedBoxDataset, GeneratedLoader, tiny_iou_net
from ltr.trainers import LTRTrainer


def test_single_process_defaults(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert not distributed.is_distributed()
    assert (distributed.get_rank(), distributed.get_world_size(), distributed.get_local_rank()) == (0, 1, 0)
    assert distributed.is_main_process()
    assert distributed.init_distributed() is False  # not started by torchrun: nothing happens
    assert not distributed.is_distributed()
    assert distributed.all_gather_object({"a": 1}) == [{"a": 1}]
    distributed.barrier()
    distributed.cleanup()
    data = list(range(10))
    assert distributed.distributed_sampler(data) is None
    assert distributed.loader_kwargs(data, shuffle=True) == {"shuffle": True}
    net = nn.Linear(2, 2)
    assert distributed.wrap_net(net) is net
    assert distributed.device_for_process(use_gpu=False) == torch.device("cpu")
    assert distributed.launched_by_torchrun({"RANK": "0", "WORLD_SIZE": "2"})
    assert not distributed.launched_by_torchrun({"LOCAL_RANK": "0"})
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert distributed.get_local_rank() == 3


def test_multigpu_wrapper_passes_attributes_through():
    net = tiny_iou_net()
    wrapped = MultiGPU(net)
    assert wrapped.dim == 1
    assert wrapped.constructor is net.constructor and wrapped.bb_regressor is net.bb_regressor
    assert is_multi_gpu(wrapped) and not is_multi_gpu(net)
    assert unwrap(wrapped) is net and unwrap(MultiGPU(wrapped)) is net and unwrap(net) is net
    with pytest.raises(AttributeError):
        wrapped.no_such_attribute  # noqa: B018


@pytest.fixture
def gloo_group(tmp_path, monkeypatch):
    """A one-process Gloo group, as torchrun would set it up."""
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "0")  # any free port (one process: nobody else needs to find it)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert distributed.init_distributed(timeout_s=60)
    try:
        yield
    finally:
        distributed.cleanup()


def test_trainer_in_a_process_group_wraps_the_net_and_saves_it_unwrapped(tmp_path, gloo_group, monkeypatch):
    assert distributed.is_distributed() and dist.get_backend() == "gloo"
    assert distributed.init_distributed() is True  # already initialised
    data = GeneratedBoxDataset(8, image_sz=16)
    kwargs = distributed.loader_kwargs(data, shuffle=True, seed=3)
    assert kwargs["shuffle"] is False and isinstance(kwargs["sampler"], DistributedSampler)
    loader = GeneratedLoader("train", data, batch_size=4, **kwargs)

    settings = Settings()
    settings.env.workspace_dir = str(tmp_path)
    settings.env.tensorboard_dir = ""
    settings.project_path = "ltr/toy/ddp"
    torch.manual_seed(0)
    net = tiny_iou_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    trainer = LTRTrainer(AtomActor(net, nn.MSELoss()), [loader], optimizer, settings)
    trainer.log_stream = io.StringIO()
    assert isinstance(trainer.actor.net, distributed.DistributedNet)
    assert trainer.actor.net.constructor is net.constructor and unwrap(trainer.actor.net) is net

    trainer.train(1)
    state = safe_load(tmp_path / "checkpoints" / "ltr/toy/ddp" / "TinyIoUNet_ep0001.pth.tar")
    assert state["net"].keys() == net.state_dict().keys()  # no 'module.' prefix
    assert len(state["rng_state"]) == 1
    assert "Finished training!" in trainer.log_stream.getvalue()

    # With several processes a failure is not retried in-process (the others could not follow).
    class FailingLoader:
        name, training, epoch_interval, batch_size = "train", True, 1, 4

        def __len__(self):
            return 1

        def __iter__(self):
            raise RuntimeError("simulated loader crash")

    trainer.loaders = [FailingLoader()]
    monkeypatch.setattr(distributed, "get_world_size", lambda: 2)
    with pytest.raises(RuntimeError, match="simulated loader crash"):
        trainer.train(2)
    assert "Training crashed" not in trainer.log_stream.getvalue()


def test_wrap_net_options(gloo_group):
    net = nn.Linear(2, 2)
    wrapped = distributed.wrap_net(net, "cpu", find_unused_parameters=True, broadcast_buffers=False)
    assert isinstance(wrapped, distributed.DistributedNet) and wrapped.find_unused_parameters
    assert distributed.wrap_net(wrapped) is wrapped
    assert unwrap(wrapped) is net
