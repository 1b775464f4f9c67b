"""The training loop skeleton: epochs, checkpoints every epoch, and restarting after a crash.

Checkpoints use the official layout (``ltr.admin.checkpoint``) at
``{workspace_dir}/checkpoints/{settings.project_path}/{NetType}_ep{epoch:04d}.pth.tar``, written atomically. Beyond
the official keys they hold ``lr_scheduler`` (the scheduler's state_dict) and ``rng_state`` (the torch / CUDA /
numpy / Python random generator states of every process), so that resuming from a checkpoint continues exactly
as the uninterrupted run would have: the same weights, optimizer state, learning rates, and random draws.
``ltr.admin.loading.load_network`` reads these files like the official ones.
"""

from __future__ import annotations

import copy
import os
import random
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from ltr.admin import checkpoint as ckpt_io
from ltr.admin import distributed
from ltr.admin.loading import CheckpointFormatError, CheckpointNotFoundError, safe_load
from ltr.admin.multigpu import unwrap

__all__ = ["BaseTrainer", "capture_rng_state", "restore_rng_state"]

MAX_ATTEMPTS = 10


def capture_rng_state() -> dict[str, Any]:
    """The states of the torch (CPU and, when in use, CUDA), numpy and Python ``random`` generators."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda, "numpy": np.random.get_state(), "python": random.getstate()}


def restore_rng_state(state: dict[str, Any]) -> None:
    """Set the generators to a state from :func:`capture_rng_state` (CUDA only when the device count matches)."""
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    np.random.set_state(tuple(state["numpy"]))
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))


class BaseTrainer:
    """Runs ``train_epoch`` for each epoch, steps the learning-rate scheduler and saves a checkpoint.

    Args:
        actor: the :class:`ltr.actors.BaseActor` (its network is moved to :attr:`device`, and wrapped in
            ``DistributedDataParallel`` when a process group is initialised).
        loaders: the data loaders, run in order each epoch.
        optimizer: optimizer over the network's parameters.
        settings: the run's ``Settings``: ``env.workspace_dir`` (checkpoints are off when it is empty),
            ``project_path``, ``use_gpu``, optionally ``device``, ``find_unused_parameters`` (DDP) and
            ``trust_checkpoint`` (load checkpoints without the safety allowlist).
        lr_scheduler: stepped once after every epoch.

    Attributes:
        epoch: the last finished epoch (0 before training).
        stats: statistics saved with each checkpoint (filled by subclasses).
        device: where the network and the batches live.
    """

    def __init__(self, actor, loaders: Sequence, optimizer: torch.optim.Optimizer, settings, lr_scheduler=None):
        self.actor = actor
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.loaders = list(loaders)
        self.update_settings(settings)

        self.epoch = 0
        self.stats: Any = {}
        self.log_stream: TextIO | None = None  # None: sys.stdout at the time of writing

        self.device = getattr(settings, "device", None)
        if self.device is None:
            self.device = distributed.device_for_process(getattr(settings, "use_gpu", True))
        self.device = torch.device(self.device)
        self.actor.to(self.device)
        if distributed.is_distributed():
            self.actor.net = distributed.wrap_net(
                self.actor.net,
                self.device,
                find_unused_parameters=bool(getattr(settings, "find_unused_parameters", False)),
            )
        # State at the start of training, kept only while no checkpoint exists to restart from.
        self._initial_state: dict[str, Any] | None = None

    def update_settings(self, settings=None) -> None:
        """Adopt ``settings`` (or re-read the current ones) and derive the checkpoint directory."""
        if settings is not None:
            self.settings = settings
        workspace = getattr(getattr(self.settings, "env", None), "workspace_dir", None)
        if workspace:
            project_path = getattr(self.settings, "project_path", None)
            if not project_path:
                raise ValueError(
                    "settings.project_path is not set (e.g. 'ltr/dimp/dimp50'); it names the checkpoint directory. "
                    "Set it, or set settings.env.workspace_dir = '' to train without checkpoints."
                )
            self._checkpoint_dir: Path | None = Path(workspace) / "checkpoints" / project_path
        else:
            self._checkpoint_dir = None

    @property
    def checkpoint_dir(self) -> Path | None:
        """Where this run's checkpoints go (None when checkpointing is off)."""
        return self._checkpoint_dir

    # ------------------------------------------------------------------------------------------------ training
    def train_epoch(self) -> None:
        """Run one epoch (implemented by subclasses)."""
        raise NotImplementedError

    def train(self, max_epochs: int, load_latest: bool = False, fail_safe: bool = True) -> None:
        """Train up to epoch ``max_epochs``, saving a checkpoint after each epoch.

        Args:
            max_epochs: the last epoch to run.
            load_latest: first resume from this run's latest checkpoint, if there is one.
            fail_safe: when an epoch raises, restore the latest checkpoint (or the state training started
                from, when none has been written yet) and continue; after 10 failed attempts the error is
                raised. In a multi-process run errors are always raised, since the other processes cannot
                follow a single process's restart: use ``torchrun --max-restarts`` with ``load_latest=True``.
        """
        retry = fail_safe and distributed.get_world_size() == 1
        self._initial_state = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                if load_latest and not self.load_checkpoint():
                    if self._initial_state is not None:
                        self._restore_state(self._initial_state)
                if retry and self._initial_state is None and self._latest_checkpoint() is None:
                    self._initial_state = self._capture_state()
                for epoch in range(self.epoch + 1, max_epochs + 1):
                    self.epoch = epoch
                    self.train_epoch()
                    if self.lr_scheduler is not None:
                        self.lr_scheduler.step()
                    if self._checkpoint_dir is not None:
                        self.save_checkpoint()
                        self._initial_state = None
                break
            except Exception:
                if not retry or attempt == MAX_ATTEMPTS:
                    raise
                self._write(f"Training crashed at epoch {self.epoch} (attempt {attempt} of {MAX_ATTEMPTS}).")
                self._write("Traceback for the error!")
                self._write(traceback.format_exc().rstrip())
                self._write("Restarting training from last epoch ...")
                load_latest = True
        self._write("Finished training!")

    def _write(self, line: str) -> None:
        if distributed.is_main_process():
            stream = self.log_stream or sys.stdout
            stream.write(line + "\n")
            stream.flush()

    # ------------------------------------------------------------------------------------------ in-memory state
    def _capture_state(self) -> dict[str, Any]:
        net = unwrap(self.actor.net)
        state = {
            "epoch": self.epoch,
            "net": {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "stats": copy.deepcopy(self.stats),
            "rng_state": capture_rng_state(),
        }
        if self.lr_scheduler is not None:
            state["lr_scheduler"] = copy.deepcopy(self.lr_scheduler.state_dict())
        return state

    def _restore_state(self, state: dict[str, Any]) -> None:
        # Copies, so that the optimizer's in-place updates never reach the saved state.
        unwrap(self.actor.net).load_state_dict(state["net"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        if self.lr_scheduler is not None and "lr_scheduler" in state:
            self.lr_scheduler.load_state_dict(copy.deepcopy(state["lr_scheduler"]))
        self.stats = copy.deepcopy(state["stats"])
        self.epoch = state["epoch"]
        restore_rng_state(state["rng_state"])

    # ------------------------------------------------------------------------------------------- checkpoints
    def _net_type(self) -> str:
        return type(unwrap(self.actor.net)).__name__

    def _latest_checkpoint(self, directory: Path | None = None) -> Path | None:
        directory = self._checkpoint_dir if directory is None else directory
        if directory is None or not directory.is_dir():
            return None
        found = sorted(directory.glob(f"{self._net_type()}_ep*.pth.tar"))
        return found[-1] if found else None

    def save_checkpoint(self) -> Path | None:
        """Write this epoch's checkpoint (main process only; every process must call it).

        Returns:
            The path written, or None on other processes and when checkpointing is off.
        """
        # Every process's generator states are stored, so each resumes its own random stream.
        rng_states = distributed.all_gather_object(capture_rng_state())
        if self._checkpoint_dir is None:
            return None
        path = None
        if distributed.is_main_process():
            net = unwrap(self.actor.net)
            extra: dict[str, Any] = {"rng_state": rng_states}
            if self.lr_scheduler is not None:
                extra["lr_scheduler"] = self.lr_scheduler.state_dict()
            path = ckpt_io.save_checkpoint(
                ckpt_io.checkpoint_path(
                    self.settings.env.workspace_dir, self.settings.project_path, type(net).__name__, self.epoch
                ),
                epoch=self.epoch,
                actor_type=type(self.actor).__name__,
                net_type=type(net).__name__,
                net=net,
                net_info=getattr(net, "info", None),
                constructor=getattr(net, "constructor", None),
                optimizer=self.optimizer,
                stats=self.stats,
                settings=self.settings,
                extra=extra,
            )
        distributed.barrier()  # nobody reads the directory before the file is complete
        return path

    def _resolve_checkpoint(self, checkpoint: int | str | os.PathLike | None) -> Path | None:
        net_type = self._net_type()
        if checkpoint is None:
            return self._latest_checkpoint()
        if isinstance(checkpoint, bool):
            raise TypeError("checkpoint must be None, an epoch number or a path, not a bool.")
        if isinstance(checkpoint, int):
            if self._checkpoint_dir is None:
                raise CheckpointNotFoundError("Checkpointing is off (settings.env.workspace_dir is empty).")
            path = self._checkpoint_dir / f"{net_type}_ep{checkpoint:04d}.pth.tar"
        elif isinstance(checkpoint, (str, os.PathLike)):
            path = Path(os.path.expanduser(os.fspath(checkpoint)))
            if path.is_dir():
                latest = self._latest_checkpoint(path)
                if latest is None:
                    raise CheckpointNotFoundError(f"No {net_type}_ep*.pth.tar checkpoint in {path}")
                return latest
        else:
            raise TypeError(f"checkpoint must be None, an epoch number or a path, not {type(checkpoint).__name__}.")
        if not path.is_file():
            raise CheckpointNotFoundError(f"Checkpoint file not found: {path}")
        return path

    def load_checkpoint(
        self,
        checkpoint: int | str | os.PathLike | None = None,
        fields: Sequence[str] | None = None,
        ignore_fields: Sequence[str] | None = None,
        load_constructor: bool = False,
    ) -> bool:
        """Restore the training state from a checkpoint.

        Args:
            checkpoint: None for this run's latest checkpoint, an epoch number, a file, or a directory (its
                latest checkpoint).
            fields: the entries to restore (default all): ``net``, ``optimizer``, ``lr_scheduler``, ``epoch``,
                ``stats``, ``rng_state``.
            ignore_fields: entries not to restore (default ``['settings']``; ``constructor``, ``net_type``,
                ``actor_type`` and ``net_info`` are never restored as trainer state).
            load_constructor: also set ``net.constructor`` from the checkpoint.

        Returns:
            True when a checkpoint was loaded; False when ``checkpoint`` is None and none exists yet.

        Raises:
            CheckpointNotFoundError: an explicitly named checkpoint does not exist.
            CheckpointFormatError: the checkpoint is of another network class.
        """
        path = self._resolve_checkpoint(checkpoint)
        if path is None:
            return False
        state = safe_load(path, map_location="cpu", trust=bool(getattr(self.settings, "trust_checkpoint", False)))
        net = unwrap(self.actor.net)
        net_type = type(net).__name__
        if state.get("net_type") != net_type:
            raise CheckpointFormatError(
                f"{path} holds a {state.get('net_type')!r} network, but this trainer trains a {net_type!r}."
            )
        fields = list(state) if fields is None else list(fields)
        ignore = {"settings"} if ignore_fields is None else set(ignore_fields)
        ignore |= {"constructor", "net_type", "actor_type", "net_info"}
        for key in fields:
            if key in ignore or key not in state:
                continue
            value = state[key]
            if key == "net":
                net.load_state_dict(value)
            elif key == "optimizer":
                self.optimizer.load_state_dict(value)
            elif key == "lr_scheduler":
                if self.lr_scheduler is not None and value is not None:
                    self.lr_scheduler.load_state_dict(value)
            elif key == "epoch":
                self.epoch = int(value)
            elif key == "stats":
                self.stats = value
            elif key == "rng_state":
                self._restore_rng_states(value, path)
        if "epoch" in fields and "lr_scheduler" not in state and self.lr_scheduler is not None:
            # An official checkpoint has no scheduler state: the epoch count is all it needs (the learning rates
            # themselves come back with the optimizer's param_groups).
            self.lr_scheduler.last_epoch = self.epoch
        if load_constructor and state.get("constructor") is not None:
            net.constructor = state["constructor"]
        if state.get("net_info") is not None:
            net.info = state["net_info"]
        return True

    def _restore_rng_states(self, states: Any, path: Path) -> None:
        rank, world = distributed.get_rank(), distributed.get_world_size()
        if isinstance(states, (list, tuple)) and len(states) == world:
            restore_rng_state(states[rank])
        else:
            count = len(states) if isinstance(states, (list, tuple)) else "?"
            self._write(
                f"Note: {path.name} holds random states of {count} processes, this run has {world}; "
                f"the random streams are not restored."
            )
