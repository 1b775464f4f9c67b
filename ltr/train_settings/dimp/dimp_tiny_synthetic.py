"""Tiny DiMP trained from scratch on the synthetic benchmark, on a CPU, in under an hour (this project's recipe).

Network: :func:`~ltr.models.tracking.dimpnet.dimpnet_tiny` (a DiMP-18 whose backbone is 16/32/64 channels wide,
random initialisation). Data: the ``synthetic_train`` split of the embedded synthetic benchmark
(:class:`~ltr.dataset.SyntheticTracking`; 600 sequences of 60-120 frames at 320x240, rendered into the cache on
first use, about 2 GB and a few minutes), sequences 0-569 for training and 570-599 for validation; the
evaluation split ``synthetic`` is not touched. Samples of 3 train and 3 test frames at most 30 frames apart,
DiMP processing with crops of 4x the target size at 128 px (8x8 features at stride 16), jitter (2.5, 0.25) in
train and (3.5, 0.5) in test frames (DiMP's jitter scaled to the smaller search area), 8 IoU proposals per test
frame, Gaussian labels of sigma 1/4 of the target size. Loss: DiMP-18's (hinge 100 / 100 / 400 over the filter
iterates plus IoU MSE). Adam at 1e-3 for every parameter (everything is learned from scratch) and the rate
divided by 5 after 60 % and again after 85 % of the epochs.

Timing (2-core development CPU, shared with other jobs: load average about 3.5): 1.0-1.1 s per iteration of 16
samples (about 15 samples/s; the network's forward and backward pass take about 0.9 s of it, the loader worker
prepares a batch in about 0.2 s in parallel), with one torch thread and one loader worker. The defaults, 20 epochs
of 2000 samples (2500 iterations) with a validation pass of 200 samples every 5th epoch, thus take about 45
minutes. A 4-epoch run of 800 samples per epoch took 227 s; ``Loss/total`` fell from 7.40 to 5.72-5.89
(``Loss/iou`` 0.279 -> 0.210, ``Loss/target_clf`` 0.917 -> 0.851).

``torch_threads`` [1] sets ``torch.set_num_threads`` for the run: on two busy cores a second torch thread made the
iterations ten times slower instead of faster.

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`); extra ones here: ``torch_threads``,
``synthetic_root`` (cache folder of the synthetic splits; default that of the evaluation side),
``synthetic_params`` (generation parameters of the split, e.g. ``{'num_sequences': 1200}`` for more training
sequences; the last ``num_val_sequences`` [30] sequences are held out for validation).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.optim as optim

from ltr.dataset import SyntheticTracking
from ltr.models.tracking import dimpnet
from ltr.train_settings import common
from ltr.train_settings.dimp.dimp18 import dimp_actor, dimp_loaders
from ltr.trainers import LTRTrainer

SPLIT = "synthetic_train"


def synthetic_datasets(settings: Any) -> tuple[list[tuple[Any, float]], list[tuple[Any, float]]]:
    """The training and validation parts of the ``synthetic_train`` split (the last ``num_val_sequences``
    sequences validate)."""
    params = dict(settings.synthetic_params)
    # Generation in worker processes does not change the rendered split (nor its cache key).
    params.setdefault("num_workers", max(1, settings.num_workers))
    full = SyntheticTracking(root=settings.synthetic_root, split=SPLIT, **params)
    num_sequences = full.get_num_sequences()
    num_val = min(settings.num_val_sequences, num_sequences - 1)
    train_ids = list(range(num_sequences - num_val))
    val_ids = list(range(num_sequences - num_val, num_sequences))
    # The split exists now: the two parts only read it.
    train = SyntheticTracking(root=Path(full.root).parent, split=SPLIT, seq_ids=train_ids, generate=False)
    val = SyntheticTracking(root=Path(full.root).parent, split=SPLIT, seq_ids=val_ids, generate=False)
    return [(train, 1.0)], [(val, 1.0)]


def run(settings: Any) -> LTRTrainer:
    """Train the tiny DiMP from scratch on synthetic sequences (see the module docstring); returns the trainer."""
    common.start(settings, "Tiny DiMP (16-channel ResNet-18) trained from scratch on the synthetic benchmark.")
    common.setting(settings, "batch_size", 16)
    common.setting(settings, "num_workers", 1)
    common.setting(settings, "print_interval", 10)
    torch.set_num_threads(common.setting(settings, "torch_threads", 1))
    feature_sz, output_sz = common.crop_settings(settings, search_area_factor=4.0, feature_sz=8)
    common.setting(settings, "output_sigma_factor", 1 / 4)
    common.setting(settings, "target_filter_sz", 4)
    common.setting(settings, "center_jitter_factor", {"train": 2.5, "test": 3.5})
    common.setting(settings, "scale_jitter_factor", {"train": 0.25, "test": 0.5})
    common.setting(settings, "hinge_threshold", 0.05)
    samples_per_epoch = common.setting(settings, "samples_per_epoch", 2000)
    common.setting(settings, "val_samples_per_epoch", max(samples_per_epoch // 10, settings.batch_size))
    common.setting(settings, "val_epoch_interval", 5)
    epochs = common.setting(settings, "max_epochs", 20)
    common.setting(settings, "synthetic_root", None)
    common.setting(settings, "synthetic_params", {})
    common.setting(settings, "num_val_sequences", 30)

    built: dict[str, list] = {}

    def recipe_datasets(kind: str) -> list[tuple[Any, float]]:
        if not built:
            built["train"], built["val"] = synthetic_datasets(settings)
        return built[kind]

    train_data = common.take_datasets(settings, "train", lambda: recipe_datasets("train"))
    val_data = common.take_datasets(settings, "val", lambda: recipe_datasets("val"))
    loaders = dimp_loaders(settings, train_data, val_data, feature_sz, output_sz)

    init_gauss_sigma = common.output_sigma(settings) * feature_sz
    net = dimpnet.dimpnet_tiny(filter_size=settings.target_filter_sz, init_gauss_sigma=init_gauss_sigma)
    actor = dimp_actor(settings, common.wrap_network(settings, net))

    optimizer = optim.Adam(actor.net.parameters(), lr=common.setting(settings, "learning_rate", 1e-3))
    milestones = sorted({max(1, math.ceil(0.6 * epochs)), max(1, math.ceil(0.85 * epochs))})
    lr_scheduler = optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.2)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=epochs)
