"""Distributed data-parallel training: one process per GPU (or several CPU processes), started by ``torchrun``.

``torchrun --nproc_per_node N -m ltr.run_training <module> <name>`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and joins the process
group (NCCL when CUDA is available, Gloo otherwise). Each process then

* trains on its own share of every epoch (:func:`distributed_sampler` / :func:`loader_kwargs` for the loaders),
* keeps a replica of the network wrapped by :func:`wrap_net` (``DistributedDataParallel``: gradients are
  averaged over the processes in ``backward``, so the replicas stay equal),
* and lets only the main process (rank 0) print, write TensorBoard logs and write checkpoints.

Without ``torchrun`` every helper here behaves as for a single process (rank 0 of 1), so code can call them
unconditionally. ``settings.batch_size`` is per process.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from ltr.admin.multigpu import ForwardAttributes

__all__ = [
    "DistributedNet",
    "all_gather_object",
    "barrier",
    "cleanup",
    "device_for_process",
    "distributed_sampler",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "init_distributed",
    "is_distributed",
    "is_main_process",
    "launched_by_torchrun",
    "loader_kwargs",
    "wrap_net",
]


def launched_by_torchrun(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the process was started by ``torchrun`` (``RANK`` and ``WORLD_SIZE`` are set)."""
    environ = os.environ if environ is None else environ
    return "RANK" in environ and "WORLD_SIZE" in environ


def is_distributed() -> bool:
    """Whether a default process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's global rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def get_local_rank() -> int:
    """This process's rank on its node (``LOCAL_RANK``; 0 when not set)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """True on rank 0, and in a non-distributed run."""
    return get_rank() == 0


def init_distributed(backend: str | None = None, timeout_s: float | None = None) -> bool:
    """Join the process group described by torchrun's environment variables.

    Args:
        backend: ``'nccl'`` / ``'gloo'``; default NCCL when CUDA is available, else Gloo.
        timeout_s: timeout of collective operations (torch's default when None).

    Returns:
        True when a process group is (now) initialised; False when not started by torchrun (nothing is done).
    """
    if is_distributed():
        return True
    if not launched_by_torchrun():
        return False
    if not dist.is_available():
        raise RuntimeError("Started by torchrun, but this PyTorch build has no torch.distributed support.")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        # Each process drives the GPU of its local rank; NCCL collectives and all_gather_object use it.
        torch.cuda.set_device(get_local_rank())
    kwargs: dict[str, Any] = {"backend": backend, "init_method": "env://"}
    if timeout_s is not None:
        kwargs["timeout"] = timedelta(seconds=timeout_s)
    dist.init_process_group(**kwargs)
    return True


def cleanup() -> None:
    """Leave the process group (no-op without one)."""
    if is_distributed():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op without a process group)."""
    if is_distributed():
        dist.barrier()


def all_gather_object(obj: Any) -> list[Any]:
    """Picklable ``obj`` of every process, indexed by rank (``[obj]`` without a process group)."""
    if not is_distributed():
        return [obj]
    gathered: list[Any] = [None] * get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def device_for_process(use_gpu: bool = True) -> torch.device:
    """The device this process trains on: ``cuda:LOCAL_RANK`` when distributed, ``cuda:0`` otherwise, or the CPU
    when CUDA is unavailable or ``use_gpu`` is False."""
    if not (use_gpu and torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", get_local_rank() if is_distributed() else 0)


def distributed_sampler(
    dataset: Dataset, shuffle: bool = True, seed: int = 0, drop_last: bool = False
) -> DistributedSampler | None:
    """A ``DistributedSampler`` giving this process its share of ``dataset``; None when not distributed.

    The trainer calls ``sampler.set_epoch(epoch)`` before every epoch, so the shuffle changes between epochs and
    is the same on every process.
    """
    if not is_distributed():
        return None
    return DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)


def loader_kwargs(dataset: Dataset, shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> dict[str, Any]:
    """Keyword arguments for a loader (``LTRLoader`` / ``DataLoader``) of ``dataset``.

    ``{'shuffle': shuffle}`` in a single process; with a process group, ``{'shuffle': False, 'sampler':
    DistributedSampler(...)}`` (a loader may not shuffle itself when given a sampler).
    """
    sampler = distributed_sampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
    if sampler is None:
        return {"shuffle": shuffle}
    return {"shuffle": False, "sampler": sampler}


class DistributedNet(ForwardAttributes, DistributedDataParallel):
    """``DistributedDataParallel`` that exposes the wrapped network's attributes (``net.constructor``, ...).

    Only calls of the wrapper itself (``net(...)``) set up the gradient averaging, so actors must run the
    training forward pass through ``self.net(...)``.
    """


def wrap_net(
    net: nn.Module,
    device: torch.device | str | None = None,
    find_unused_parameters: bool = False,
    broadcast_buffers: bool = True,
) -> nn.Module:
    """Wrap ``net`` in :class:`DistributedNet` when a process group exists; return it unchanged otherwise.

    Args:
        net: the network, already on ``device`` (an existing DDP wrapper is returned as is).
        device: the process's device (default: the device of the network's first parameter).
        find_unused_parameters: let DDP tolerate parameters that get no gradient in a step (e.g. a frozen
            branch that is still called); costs a graph traversal per step.
        broadcast_buffers: copy rank 0's buffers (BatchNorm statistics) to all processes before each forward.

    Returns:
        The wrapped (or unchanged) network.
    """
    if not is_distributed() or isinstance(net, DistributedDataParallel):
        return net
    if device is None:
        first = next(net.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    device_ids = None
    if device.type == "cuda":
        device_ids = [device.index if device.index is not None else torch.cuda.current_device()]
    kwargs: dict[str, Any] = {}
    if not broadcast_buffers:
        # Newer torch renamed the option (the old name still works there, with a FutureWarning).
        accepted = inspect.signature(DistributedDataParallel.__init__).parameters
        kwargs["forward_sync_buffers" if "forward_sync_buffers" in accepted else "broadcast_buffers"] = False
    return DistributedNet(net, device_ids=device_ids, find_unused_parameters=find_unused_parameters, **kwargs)
