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
from ltr.train_settings.dimp.prdimp18 import prdimp_actor, prdimp_loaders, prdimp_optimizer, prdimp_settings
from ltr.trainers import LTRTrainer


def run(settings: Any) -> LTRTrainer:
    """Train PrDiMP-50 (see the module docstring); returns the trainer."""
    common.start(settings, "Default train settings for PrDiMP with ResNet50 as backbone.")
    common.setting(settings, "batch_size", 10)
    feature_sz, output_sz = prdimp_settings(settings)
    loaders = prdimp_loaders(settings, feature_sz, output_sz)

    output_sigma = settings.output_sigma_factor / settings.search_area_factor
    net = dimpnet.klcedimpnet50(
        filter_size=settings.target_filter_sz,
        backbone_pretrained=common.setting(settings, "backbone_pretrained", True),
        optim_iter=5,
        clf_feat_norm=True,
        clf_feat_blocks=0,
        final_conv=True,
        out_feature_dim=512,
        optim_init_step=1.0,
        optim_init_reg=0.05,
        optim_min_reg=0.05,
        gauss_sigma=output_sigma * feature_sz,
        alpha_eps=0.05,
        normalize_label=True,
        init_initializer="zero",
    )
    net = common.wrap_network(settings, net)
    actor = prdimp_actor(net)
    optimizer, lr_scheduler = prdimp_optimizer(actor.net)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
