"""ATOM: the original recipe for training ATOM's IoU-Net on a frozen ResNet-18 (``atom_default.pth``).

Data: LaSOT, GOT-10k vottrain, TrackingNet sets 0-3 and COCO sampled 1 : 1 : 1 : 1, ``1000 * batch_size``
samples per epoch of one train and one test frame at most 50 frames apart (``'interval'`` sampling); validation
on GOT-10k votval (``500 * batch_size`` samples, every 5th epoch). Crops of 5x the target size at 288 px; the
train crop is centred on the target (no jitter), the test crop jittered by (4.5, 0.5); 16 IoU proposals per test
frame. Loss: MSE of the predicted IoUs. Adam on the IoU-Net only (1e-3), StepLR(15, 0.2), 50 epochs, batch 64.

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`).
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn
import torch.optim as optim

from ltr.actors import AtomActor
from ltr.data import processing, sampler
from ltr.models.bbreg import atom as atom_models
from ltr.train_settings import common
from ltr.trainers import LTRTrainer


def run(settings: Any) -> LTRTrainer:
    """Train ATOM's IoU-Net (see the module docstring); returns the trainer."""
    common.start(settings, "ATOM IoUNet with default settings, but additionally using GOT10k for training.")
    batch_size = common.setting(settings, "batch_size", 64)
    common.setting(settings, "num_workers", 8)
    common.setting(settings, "print_interval", 1)
    _, output_sz = common.crop_settings(settings, search_area_factor=5.0, feature_sz=18)
    common.setting(settings, "center_jitter_factor", {"train": 0, "test": 4.5})
    common.setting(settings, "scale_jitter_factor", {"train": 0, "test": 0.5})
    common.setting(settings, "samples_per_epoch", 1000 * batch_size)
    common.setting(settings, "val_samples_per_epoch", 500 * batch_size)
    common.setting(settings, "val_epoch_interval", 5)

    train_data, val_data = common.take_standard_datasets(settings, (1, 1, 1, 1))
    proposal_params = {"min_iou": 0.1, "boxes_per_frame": 16, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]}
    processing_pair = common.sequence_processing(
        settings,
        processing.ATOMProcessing,
        output_sz,
        common.imagenet_transforms(settings),
        proposal_params=proposal_params,
    )
    loaders = common.make_loaders(settings, sampler.ATOMSampler, train_data, val_data, *processing_pair, max_gap=50)

    net = atom_models.atom_resnet18(backbone_pretrained=common.setting(settings, "backbone_pretrained", True))
    net = common.wrap_network(settings, net)
    actor = AtomActor(net=net, objective=nn.MSELoss())
    # Only the IoU predictor is trained; the backbone stays at its ImageNet weights.
    optimizer = optim.Adam(actor.net.bb_regressor.parameters(), lr=1e-3)
    lr_scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.2)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
