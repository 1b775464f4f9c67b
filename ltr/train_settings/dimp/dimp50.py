"""DiMP-50: the original recipe for training DiMP with a ResNet-50 backbone (``dimp50.pth``).

As :mod:`~ltr.train_settings.dimp.dimp18` (data, crops, labels, losses, schedule) except for the network
(``dimpnet50``: no residual block in the classification features, 512 output channels), the batch size (10) and
two learning rates: the IoU-Net trains at the base rate 2e-4 and the backbone at 2e-5.

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`).
"""

from __future__ import annotations

from typing import Any

import torch.optim as optim

from ltr.models.tracking import dimpnet
from ltr.train_settings import common
from ltr.train_settings.dimp.dimp18 import dimp_actor, dimp_loaders, dimp_net_kwargs, dimp_settings
from ltr.trainers import LTRTrainer


def run(settings: Any) -> LTRTrainer:
    """Train DiMP-50 (see the module docstring); returns the trainer."""
    common.start(settings, "Default train settings for DiMP with ResNet50 as backbone.")
    common.setting(settings, "batch_size", 10)
    feature_sz, output_sz = dimp_settings(settings)
    train_data, val_data = common.take_standard_datasets(settings, (0.25, 1, 1, 1))
    loaders = dimp_loaders(settings, train_data, val_data, feature_sz, output_sz)

    kwargs = dimp_net_kwargs(settings, feature_sz)
    net = common.wrap_network(settings, dimpnet.dimpnet50(**kwargs, clf_feat_blocks=0, out_feature_dim=512))
    actor = dimp_actor(settings, net)
    # The IoU-Net trains at the base learning rate.
    optimizer = optim.Adam(
        [
            {"params": actor.net.classifier.filter_initializer.parameters(), "lr": 5e-5},
            {"params": actor.net.classifier.filter_optimizer.parameters(), "lr": 5e-4},
            {"params": actor.net.classifier.feature_extractor.parameters(), "lr": 5e-5},
            {"params": actor.net.bb_regressor.parameters()},
            {"params": actor.net.feature_extractor.parameters(), "lr": 2e-5},
        ],
        lr=2e-4,
    )
    lr_scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.2)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
