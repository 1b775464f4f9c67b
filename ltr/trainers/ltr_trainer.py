"""The standard trainer: cycles through the loaders, optimizes on the training ones, and logs statistics.

Progress lines have the original format, e.g.::

    [train: 3, 20 / 1000] FPS: 61.2 (64.0)  ,  Loss/total: 0.41230  ,  Loss/iou: 0.02911

(loader, epoch, batch / batches, average and last-batch frames per second, then the epoch averages of the
actor's statistics). On a terminal a tqdm progress bar shows the same statistics instead, and the last line of
each loader's epoch is printed. Only the main process prints and writes TensorBoard logs.
"""

from __future__ import annotations

import os
import sys
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn as nn

from ltr.admin import distributed
from ltr.admin.multigpu import unwrap
from ltr.admin.stats import AverageMeter, StatValue
from ltr.admin.tensorboard import TensorboardWriter
from ltr.trainers.base_trainer import BaseTrainer
from pytracking.libs.tensordict import TensorDict

__all__ = ["LTRTrainer"]

_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


class LTRTrainer(BaseTrainer):
    """Trainer for the LTR actors.

    Each epoch runs every loader whose ``epoch_interval`` divides the epoch number. A loader provides ``name``,
    ``training`` (optimize, or only evaluate with gradients off), ``epoch_interval``, ``batch_size``, ``len()``
    and iteration over ``TensorDict`` batches laid out ``(frames, batch, ...)``; an optional ``stack_dim`` tells
    where the batch dimension is, and a ``sampler`` with ``set_epoch`` is told the epoch first.

    Settings read (defaults in brackets): ``print_interval`` [10], ``print_stats`` [None: all],
    ``description`` [''], ``move_data_to_gpu`` [True], ``grad_clip_max_norm`` [None: no clipping],
    ``progress_bar`` [None: when stdout is a terminal], ``env.tensorboard_dir`` (TensorBoard logs go to
    ``<tensorboard_dir>/<project_path>``; off when empty), ``module_name`` and ``script_name``.

    Args:
        actor, loaders, optimizer, settings, lr_scheduler: see :class:`BaseTrainer`.
        freeze_backbone_bn_layers: keep the BatchNorm layers of ``net.feature_extractor`` in evaluation mode
            (running statistics frozen) while training.
        grad_clip_max_norm: clip the gradients' global 2-norm to this value before each step (overrides the
            setting of the same name).
    """

    def __init__(
        self,
        actor,
        loaders: Sequence,
        optimizer: torch.optim.Optimizer,
        settings,
        lr_scheduler=None,
        freeze_backbone_bn_layers: bool = False,
        grad_clip_max_norm: float | None = None,
    ):
        super().__init__(actor, loaders, optimizer, settings, lr_scheduler)
        self._set_default_settings()
        self.stats = OrderedDict((loader.name, None) for loader in self.loaders)

        self.tensorboard_writer: TensorboardWriter | None = None
        tensorboard_dir = getattr(getattr(settings, "env", None), "tensorboard_dir", None)
        if tensorboard_dir and distributed.is_main_process():
            directory = os.path.join(tensorboard_dir, getattr(settings, "project_path", "") or "")
            self.tensorboard_writer = TensorboardWriter(directory, [loader.name for loader in self.loaders])

        self.move_data_to_gpu = getattr(settings, "move_data_to_gpu", True)
        self.freeze_backbone_bn_layers = freeze_backbone_bn_layers
        if grad_clip_max_norm is None:
            grad_clip_max_norm = getattr(settings, "grad_clip_max_norm", None)
        self.grad_clip_max_norm = grad_clip_max_norm

    def _set_default_settings(self) -> None:
        defaults = {"print_interval": 10, "print_stats": None, "description": ""}
        for name, value in defaults.items():
            if getattr(self.settings, name, None) is None:
                setattr(self.settings, name, value)

    # ------------------------------------------------------------------------------------------------ epochs
    def train_epoch(self) -> None:
        """Run the due loaders, roll the statistics over to a new epoch and log them."""
        for loader in self.loaders:
            if self.epoch % loader.epoch_interval == 0:
                self.cycle_dataset(loader)
        self._stats_new_epoch()
        self._write_tensorboard()

    def cycle_dataset(self, loader) -> None:
        """One pass over ``loader``: forward (and, for a training loader, backward and step) on every batch."""
        self.actor.train(loader.training)
        if self.freeze_backbone_bn_layers:
            self._freeze_backbone_bn()
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)

        self._init_timing()
        bar = self._progress_bar(loader)
        try:
            with torch.set_grad_enabled(loader.training):
                for i, data in enumerate(loader, 1):
                    if not isinstance(data, TensorDict):
                        data = TensorDict(data)
                    if self.move_data_to_gpu:
                        data = data.to(self.device)
                    data["epoch"] = self.epoch
                    data["settings"] = self.settings

                    loss, stats = self.actor(data)
                    if loader.training:
                        self.optimizer.zero_grad()
                        loss.backward()
                        if self.grad_clip_max_norm:
                            torch.nn.utils.clip_grad_norm_(self.actor.net.parameters(), self.grad_clip_max_norm)
                        self.optimizer.step()

                    batch_size = self._batch_size(data, loader)
                    self._update_stats(stats, batch_size, loader)
                    self._print_stats(i, loader, batch_size, bar)
        finally:
            if bar is not None:
                bar.close()

    def _freeze_backbone_bn(self) -> None:
        backbone = getattr(unwrap(self.actor.net), "feature_extractor", None)
        if backbone is None:
            raise AttributeError("freeze_backbone_bn_layers needs a network with a 'feature_extractor' backbone.")
        for module in backbone.modules():
            if isinstance(module, _BATCHNORM):
                module.eval()

    @staticmethod
    def _batch_size(data: TensorDict, loader) -> int:
        stack_dim = getattr(loader, "stack_dim", None)
        images = data.get("train_images")
        if stack_dim is not None and isinstance(images, torch.Tensor):
            return images.shape[stack_dim]
        return loader.batch_size

    # -------------------------------------------------------------------------------------------- statistics
    def _update_stats(self, new_stats: Mapping[str, Any], batch_size: int, loader) -> None:
        loader_stats = self.stats.get(loader.name)
        if loader_stats is None:
            loader_stats = self.stats[loader.name] = OrderedDict()
        for name, value in new_stats.items():
            if name not in loader_stats:
                loader_stats[name] = AverageMeter()
            loader_stats[name].update(value, batch_size)

    def _stats_new_epoch(self) -> None:
        # The learning rate each parameter group used during this epoch (the scheduler steps after it).
        for loader in self.loaders:
            loader_stats = self.stats.get(loader.name)
            if not loader.training or loader_stats is None:
                continue
            for i, group in enumerate(self.optimizer.param_groups):
                name = f"LearningRate/group{i}"
                if name not in loader_stats:
                    loader_stats[name] = StatValue()
                loader_stats[name].update(group["lr"])
        for loader_stats in self.stats.values():
            for meter in (loader_stats or {}).values():
                if hasattr(meter, "new_epoch"):
                    meter.new_epoch()

    def _write_tensorboard(self) -> None:
        if self.tensorboard_writer is None:
            return
        if self.epoch == 1:
            self.tensorboard_writer.write_info(
                getattr(self.settings, "module_name", ""),
                getattr(self.settings, "script_name", ""),
                self.settings.description,
            )
        self.tensorboard_writer.write_epoch(self.stats, self.epoch)

    # -------------------------------------------------------------------------------------------------- output
    def _init_timing(self) -> None:
        self.num_frames = 0
        self.start_time = time.time()
        self.prev_time = self.start_time

    def _progress_bar(self, loader) -> Any:
        if not distributed.is_main_process():
            return None
        stream = self.log_stream or sys.stdout
        enabled = getattr(self.settings, "progress_bar", None)
        if enabled is None:
            enabled = bool(getattr(stream, "isatty", lambda: False)())
        if not enabled:
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=len(loader), desc=f"{loader.name} {self.epoch}", leave=False, file=stream)

    def format_stats(self, i: int, loader, average_fps: float, batch_fps: float) -> str:
        """The progress line after batch ``i`` of ``loader`` (see the module docstring)."""
        parts = [f"[{loader.name}: {self.epoch}, {i} / {len(loader)}] FPS: {average_fps:.1f} ({batch_fps:.1f})"]
        wanted = self.settings.print_stats
        for name, meter in (self.stats.get(loader.name) or {}).items():
            if (wanted is None or name in wanted) and hasattr(meter, "avg"):
                parts.append(f"{name}: {meter.avg:.5f}")
        return "  ,  ".join(parts)

    def _print_stats(self, i: int, loader, batch_size: int, bar: Any = None) -> None:
        self.num_frames += batch_size
        now = time.time()
        batch_fps = batch_size / max(now - self.prev_time, 1e-9)
        average_fps = self.num_frames / max(now - self.start_time, 1e-9)
        self.prev_time = now
        last = i == len(loader)
        if bar is not None:
            bar.update(1)
            if i % self.settings.print_interval == 0 or last:
                line = self.format_stats(i, loader, average_fps, batch_fps)
                bar.set_postfix_str(line.split("] ", 1)[1], refresh=False)
                if last:
                    bar.write(line, file=self.log_stream or sys.stdout)
            return
        if i % self.settings.print_interval == 0 or last:
            self._write(self.format_stats(i, loader, average_fps, batch_fps))
