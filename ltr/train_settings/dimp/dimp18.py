"""DiMP-18: the original recipe for training DiMP with a ResNet-18 backbone (``dimp18.pth``).

Data: LaSOT, GOT-10k (vottrain), TrackingNet sets 0-3 and COCO sampled 0.25 : 1 : 1 : 1, 26000 samples per
epoch of 3 train and 3 test frames at most 30 frames apart; validation on GOT-10k votval (5000 samples, every 5th
epoch). Crops of 5x the target size at 288 px (18x18 features), jittered by (3, 0.25) in train and (4.5, 0.5) in
test frames; 8 IoU proposals per test frame; Gaussian labels of sigma 1/4 of the target size. Loss: 100 x hinge
loss (threshold 0.05) of the final filter + 100 x that of the initial filter + 400 spread over the intermediate
iterates + MSE of the IoU predictions. Adam (filter initializer 5e-5, filter optimizer 5e-4, classification
features 5e-5, IoU-Net 1e-3, backbone 2e-4), StepLR(15, 0.2), 50 epochs, batch 26.

``init_gauss_sigma`` is ``output_sigma * feature_sz`` (0.9 feature cells) as in the original script; the
released ``dimp18.pth`` records 4.5 in its constructor (it only initialises the label/weight predictors).

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`).
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn
import torch.optim as optim

from ltr.actors import DiMPActor
from ltr.data import processing, sampler
from ltr.models.loss import LBHinge
from ltr.models.tracking import dimpnet
from ltr.train_settings import common
from ltr.trainers import LTRTrainer


def dimp_settings(settings: Any) -> tuple[int, int]:
    """The hyper-parameters DiMP-18, DiMP-50 and PrDiMP-18/-50 share (all but the batch size); returns the
    feature and crop sizes."""
    common.setting(settings, "num_workers", 8)
    common.setting(settings, "print_interval", 1)
    feature_sz, output_sz = common.crop_settings(settings, search_area_factor=5.0, feature_sz=18)
    common.setting(settings, "output_sigma_factor", 1 / 4)
    common.setting(settings, "target_filter_sz", 4)
    common.setting(settings, "center_jitter_factor", {"train": 3, "test": 4.5})
    common.setting(settings, "scale_jitter_factor", {"train": 0.25, "test": 0.5})
    common.setting(settings, "hinge_threshold", 0.05)
    common.setting(settings, "samples_per_epoch", 26000)
    common.setting(settings, "val_samples_per_epoch", 5000)
    common.setting(settings, "val_epoch_interval", 5)
    return feature_sz, output_sz


def dimp_loaders(
    settings: Any,
    train_data: tuple[list, list[float]],
    val_data: tuple[list, list[float]],
    feature_sz: int,
    output_sz: int,
) -> list:
    """DiMP processing (8 IoU proposals per test frame, Gaussian labels), samplers (3 train and 3 test frames at
    most 30 apart) and loaders of DiMP-18/-50 on ``(datasets, weights)`` ``train_data`` / ``val_data``."""
    proposal_params = {"min_iou": 0.1, "boxes_per_frame": 8, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]}
    processing_pair = common.sequence_processing(
        settings,
        processing.DiMPProcessing,
        output_sz,
        common.imagenet_transforms(settings),
        proposal_params=proposal_params,
        label_function_params=common.label_function_params(settings, feature_sz),
    )
    return common.make_loaders(
        settings,
        sampler.DiMPSampler,
        train_data,
        val_data,
        *processing_pair,
        max_gap=30,
        num_test_frames=3,
        num_train_frames=3,
    )


def dimp_net_kwargs(settings: Any, feature_sz: int) -> dict[str, Any]:
    """Constructor arguments DiMP-18, DiMP-50 and SuperDiMP share."""
    return {
        "filter_size": settings.target_filter_sz,
        "backbone_pretrained": common.setting(settings, "backbone_pretrained", True),
        "optim_iter": 5,
        "clf_feat_norm": True,
        "final_conv": True,
        "optim_init_step": 0.9,
        "optim_init_reg": 0.1,
        "init_gauss_sigma": common.output_sigma(settings) * feature_sz,
        "num_dist_bins": 100,
        "bin_displacement": 0.1,
        "mask_init_factor": 3.0,
        "target_mask_act": "sigmoid",
        "score_act": "relu",
    }


def dimp_actor(settings: Any, net: Any) -> DiMPActor:
    """The DiMP objective (hinge classification loss, IoU MSE) and loss weights (DiMP-18/-50, tiny DiMP)."""
    objective = {"iou": nn.MSELoss(), "test_clf": LBHinge(threshold=settings.hinge_threshold)}
    loss_weight = {"iou": 1, "test_clf": 100, "test_init_clf": 100, "test_iter_clf": 400}
    return DiMPActor(net=net, objective=objective, loss_weight=loss_weight)


def run(settings: Any) -> LTRTrainer:
    """Train DiMP-18 (see the module docstring); returns the trainer."""
    common.start(settings, "Default train settings for DiMP with ResNet18 as backbone.")
    common.setting(settings, "batch_size", 26)
    feature_sz, output_sz = dimp_settings(settings)
    train_data, val_data = common.take_standard_datasets(settings, (0.25, 1, 1, 1))
    loaders = dimp_loaders(settings, train_data, val_data, feature_sz, output_sz)

    net = common.wrap_network(settings, dimpnet.dimpnet18(**dimp_net_kwargs(settings, feature_sz)))
    actor = dimp_actor(settings, net)
    # The backbone trains at the base learning rate.
    optimizer = optim.Adam(
        [
            {"params": actor.net.classifier.filter_initializer.parameters(), "lr": 5e-5},
            {"params": actor.net.classifier.filter_optimizer.parameters(), "lr": 5e-4},
            {"params": actor.net.classifier.feature_extractor.parameters(), "lr": 5e-5},
            {"params": actor.net.bb_regressor.parameters(), "lr": 1e-3},
            {"params": actor.net.feature_extractor.parameters()},
        ],
        lr=2e-4,
    )
    lr_scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.2)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
