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
from ltr.trainers import LTRTrainer


def prdimp_loaders(settings: Any, feature_sz: int, output_sz: int) -> list:
    """Datasets, KL processing, samplers and loaders shared by PrDiMP-18 and PrDiMP-50."""
    train_data = common.take_datasets(
        settings, "train", lambda: common.standard_train_datasets(settings.env, (0.25, 1, 1, 1))
    )
    val_data = common.take_datasets(settings, "val", lambda: common.got10k_val_datasets(settings.env))
    transform_joint, transform_train, transform_val = common.imagenet_transforms(settings)

    output_sigma = settings.output_sigma_factor / settings.search_area_factor
    proposal_params = {"boxes_per_frame": 128, "gt_sigma": (0.05, 0.05), "proposal_sigma": [(0.05, 0.05), (0.5, 0.5)]}
    label_params = {"feature_sz": feature_sz, "sigma_factor": output_sigma, "kernel_sz": settings.target_filter_sz}
    label_density_params = {**label_params, "normalize": True}

    def make_processing(transform):
        return processing.KLDiMPProcessing(
            search_area_factor=settings.search_area_factor,
            output_sz=output_sz,
            center_jitter_factor=settings.center_jitter_factor,
            scale_jitter_factor=settings.scale_jitter_factor,
            mode="sequence",
            proposal_params=proposal_params,
            label_function_params=label_params,
            label_density_params=label_density_params,
            transform=transform,
            joint_transform=transform_joint,
        )

    return common.make_loaders(
        settings,
        sampler.DiMPSampler,
        train_data,
        val_data,
        make_processing(transform_train),
        make_processing(transform_val),
        max_gap=200,
        num_test_frames=3,
        num_train_frames=3,
    )


def prdimp_settings(settings: Any) -> tuple[int, int]:
    """The hyper-parameters PrDiMP-18 and PrDiMP-50 share (all but the batch size); returns the feature and
    crop sizes."""
    common.setting(settings, "num_workers", 8)
    common.setting(settings, "print_interval", 1)
    feature_sz, output_sz = common.crop_settings(settings, search_area_factor=5.0, feature_sz=18)
    common.setting(settings, "output_sigma_factor", 1 / 4)
    common.setting(settings, "target_filter_sz", 4)
    common.setting(settings, "center_jitter_factor", {"train": 3, "test": 4.5})
    common.setting(settings, "scale_jitter_factor", {"train": 0.25, "test": 0.5})
    common.setting(settings, "hinge_threshold", 0.05)
    common.setting(settings, "print_stats", ["Loss/total", "Loss/bb_ce", "ClfTrain/clf_ce"])
    common.setting(settings, "samples_per_epoch", 26000)
    common.setting(settings, "val_samples_per_epoch", 5000)
    common.setting(settings, "val_epoch_interval", 5)
    return feature_sz, output_sz


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

    output_sigma = settings.output_sigma_factor / settings.search_area_factor
    net = dimpnet.klcedimpnet18(
        filter_size=settings.target_filter_sz,
        backbone_pretrained=common.setting(settings, "backbone_pretrained", True),
        optim_iter=5,
        clf_feat_norm=True,
        final_conv=True,
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
