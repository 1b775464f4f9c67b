"""PrDiMP-18: the original recipe for training probabilistic DiMP with a ResNet-18 backbone (``prdimp18.pth.tar``).

Data as DiMP-18 (LaSOT, GOT-10k vottrain, TrackingNet 0-3, COCO at 0.25 : 1 : 1 : 1; 26000 samples per epoch;
validation on GOT-10k votval, 5000 samples every 5th epoch) but with frames up to 200 apart. Processing:
:class:`~ltr.data.processing.KLDiMPProcessing` with 128 box proposals from a two-component Gaussian mixture
(sigmas 0.05 and 0.5), a ground-truth density of sigma 0.05 and normalised label densities. Loss: KL
divergence of the box regressor (x 0.0025) + the classifier's KL/cross-entropy on the label density (0.25 final,
0.25 initial, 1.0 spread over the intermediate iterates). Adam (classifier and IoU-Net 1e-3, backbone 2e-5),
StepLR(15, 0.2), 50 epochs, batch 26.

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`).
"""

from __future__ import annotations

from typing import Any

import torch.optim as optim

from ltr.actors import KLDiMPActor
from ltr.data import processing, sampler
from ltr.models.loss import KLRegression, KLRegressionGrid
from ltr.models.tracking import dimpnet
from ltr.train_settings import common
from ltr.train_settings.dimp.dimp18 import dimp_settings
from ltr.trainers import LTRTrainer


def prdimp_settings(settings: Any) -> tuple[int, int]:
    """The hyper-parameters PrDiMP-18 and PrDiMP-50 share (all but the batch size): DiMP's, and the statistics
    printed; returns the feature and crop sizes."""
    feature_sz, output_sz = dimp_settings(settings)
    common.setting(settings, "print_stats", ["Loss/total", "Loss/bb_ce", "ClfTrain/clf_ce"])
    return feature_sz, output_sz


def prdimp_loaders(settings: Any, feature_sz: int, output_sz: int) -> list:
    """Datasets, KL processing, samplers and loaders shared by PrDiMP-18 and PrDiMP-50."""
    train_data, val_data = common.take_standard_datasets(settings, (0.25, 1, 1, 1))
    proposal_params = {"boxes_per_frame": 128, "gt_sigma": (0.05, 0.05), "proposal_sigma": [(0.05, 0.05), (0.5, 0.5)]}
    label_params = common.label_function_params(settings, feature_sz)
    processing_pair = common.sequence_processing(
        settings,
        processing.KLDiMPProcessing,
        output_sz,
        common.imagenet_transforms(settings),
        proposal_params=proposal_params,
        label_function_params=label_params,
        label_density_params={**label_params, "normalize": True},
    )
    return common.make_loaders(
        settings,
        sampler.DiMPSampler,
        train_data,
        val_data,
        *processing_pair,
        max_gap=200,
        num_test_frames=3,
        num_train_frames=3,
    )


def prdimp_net_kwargs(settings: Any, feature_sz: int) -> dict[str, Any]:
    """Constructor arguments PrDiMP-18 and PrDiMP-50 share."""
    return {
        "filter_size": settings.target_filter_sz,
        "backbone_pretrained": common.setting(settings, "backbone_pretrained", True),
        "optim_iter": 5,
        "clf_feat_norm": True,
        "final_conv": True,
        "optim_init_step": 1.0,
        "optim_init_reg": 0.05,
        "optim_min_reg": 0.05,
        "gauss_sigma": common.output_sigma(settings) * feature_sz,
        "alpha_eps": 0.05,
        "normalize_label": True,
        "init_initializer": "zero",
    }


def prdimp_actor(net: Any) -> KLDiMPActor:
    """The PrDiMP objective and loss weights."""
    objective = {"bb_ce": KLRegression(), "clf_ce": KLRegressionGrid()}
    loss_weight = {"bb_ce": 0.0025, "clf_ce": 0.25, "clf_ce_init": 0.25, "clf_ce_iter": 1.0}
    return KLDiMPActor(net=net, objective=objective, loss_weight=loss_weight)


def prdimp_optimizer(net: Any) -> tuple[optim.Optimizer, optim.lr_scheduler.StepLR]:
    """Adam: classifier and IoU-Net at 1e-3, backbone at 2e-5; StepLR(15, 0.2)."""
    optimizer = optim.Adam(
        [
            {"params": net.classifier.parameters(), "lr": 1e-3},
            {"params": net.bb_regressor.parameters(), "lr": 1e-3},
            {"params": net.feature_extractor.parameters(), "lr": 2e-5},
        ],
        lr=2e-4,
    )
    return optimizer, optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.2)


def run(settings: Any) -> LTRTrainer:
    """Train PrDiMP-18 (see the module docstring); returns the trainer."""
    common.start(settings, "Default train settings for PrDiMP with ResNet18 as backbone.")
    common.setting(settings, "batch_size", 26)
    feature_sz, output_sz = prdimp_settings(settings)
    loaders = prdimp_loaders(settings, feature_sz, output_sz)

    net = common.wrap_network(settings, dimpnet.klcedimpnet18(**prdimp_net_kwargs(settings, feature_sz)))
    actor = prdimp_actor(net)
    optimizer, lr_scheduler = prdimp_optimizer(actor.net)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
