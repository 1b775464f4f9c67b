"""PrDiMP-50: the original recipe for training probabilistic DiMP with a ResNet-50 backbone (``prdimp50.pth.tar``).

As :mod:`~ltr.train_settings.dimp.prdimp18` (data, KL processing, losses, optimizer, schedule) except for the
network (``klcedimpnet50``: no residual block in the classification features, 512 output channels) and the batch
size (10).

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`).
"""

from __future__ import annotations

from typing import Any

from ltr.models.tracking import dimpnet
from ltr.train_settings import common
from ltr.train_settings.dimp.prdimp18 import (
    prdimp_actor,
    prdimp_loaders,
    prdimp_net_kwargs,
    prdimp_optimizer,
    prdimp_settings,
)
from ltr.trainers import LTRTrainer


def run(settings: Any) -> LTRTrainer:
    """Train PrDiMP-50 (see the module docstring); returns the trainer."""
    common.start(settings, "Default train settings for PrDiMP with ResNet50 as backbone.")
    common.setting(settings, "batch_size", 10)
    feature_sz, output_sz = prdimp_settings(settings)
    loaders = prdimp_loaders(settings, feature_sz, output_sz)

    kwargs = prdimp_net_kwargs(settings, feature_sz)
    net = common.wrap_network(settings, dimpnet.klcedimpnet50(**kwargs, clf_feat_blocks=0, out_feature_dim=512))
    actor = prdimp_actor(net)
    optimizer, lr_scheduler = prdimp_optimizer(actor.net)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
