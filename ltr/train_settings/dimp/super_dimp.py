"""SuperDiMP: DiMP-50's classifier with PrDiMP's probabilistic box regressor and stronger training settings
(``super_dimp.pth.tar``).

Data: LaSOT, GOT-10k vottrain, TrackingNet 0-3 and COCO sampled 1 : 1 : 1 : 1, 40000 samples per epoch of 3 train
and 3 test frames up to 200 frames apart; validation on GOT-10k votval (10000 samples, every 5th epoch). Larger
crops: 6x the target size at 352 px (22x22 features), ``inside_major`` cropping with a scale change of at most
1.5, test-frame centre jitter 5.5; horizontal flips of the whole sample and of single training crops.
Processing: :class:`~ltr.data.processing.KLDiMPProcessing` (128 GMM proposals). Network: ``dimpnet50`` with the
DiMP-50 arguments and ``conv1``, ``bn1``, ``layer1``, ``layer2`` of the backbone frozen. Loss: 0.01 x KL of the
box regressor + DiMP's hinge terms (100 / 100 / 400). Adam (filter initializer 5e-5, filter optimizer 5e-4,
classification features 5e-5, IoU-Net 1e-3, backbone ``layer3`` 2e-5; ``layer4`` is not optimised),
StepLR(15, 0.2), 50 epochs, batch 20.

Overrides are read from ``settings`` (see :mod:`ltr.train_settings.common`).
"""

from __future__ import annotations

from typing import Any

import torch.optim as optim

from ltr.actors import KLDiMPActor
from ltr.data import processing, sampler
from ltr.models.loss import KLRegression, LBHinge
from ltr.models.tracking import dimpnet
from ltr.train_settings import common
from ltr.train_settings.dimp.dimp18 import dimp_net_kwargs
from ltr.trainers import LTRTrainer

FROZEN_BACKBONE_LAYERS = ["conv1", "bn1", "layer1", "layer2"]


def run(settings: Any) -> LTRTrainer:
    """Train SuperDiMP (see the module docstring); returns the trainer."""
    common.start(
        settings,
        (
            "SuperDiMP: Combines the DiMP classifier with the PrDiMP bounding box regressor and better training "
            "settings (larger batch size, inside_major cropping, and flipping augmentation). Gives results "
            "significantly better than both DiMP-50 and PrDiMP-50."
        ),
    )
    common.setting(settings, "batch_size", 20)
    common.setting(settings, "num_workers", 8)
    common.setting(settings, "print_interval", 1)
    feature_sz, output_sz = common.crop_settings(settings, search_area_factor=6.0, feature_sz=22)
    common.setting(settings, "output_sigma_factor", 1 / 4)
    common.setting(settings, "target_filter_sz", 4)
    common.setting(settings, "center_jitter_factor", {"train": 3, "test": 5.5})
    common.setting(settings, "scale_jitter_factor", {"train": 0.25, "test": 0.5})
    common.setting(settings, "hinge_threshold", 0.05)
    common.setting(settings, "samples_per_epoch", 40000)
    common.setting(settings, "val_samples_per_epoch", 10000)
    common.setting(settings, "val_epoch_interval", 5)

    train_data, val_data = common.take_standard_datasets(settings, (1, 1, 1, 1))
    proposal_params = {"boxes_per_frame": 128, "gt_sigma": (0.05, 0.05), "proposal_sigma": [(0.05, 0.05), (0.5, 0.5)]}
    label_params = common.label_function_params(settings, feature_sz)
    processing_pair = common.sequence_processing(
        settings,
        processing.KLDiMPProcessing,
        output_sz,
        common.imagenet_transforms(settings, flip=True),
        crop_type="inside_major",
        max_scale_change=1.5,
        proposal_params=proposal_params,
        label_function_params=label_params,
        # Unlike PrDiMP, the label density is not normalised (SuperDiMP's classifier does not use it).
        label_density_params=dict(label_params),
    )
    loaders = common.make_loaders(
        settings,
        sampler.DiMPSampler,
        train_data,
        val_data,
        *processing_pair,
        max_gap=200,
        num_test_frames=3,
        num_train_frames=3,
    )

    net = dimpnet.dimpnet50(
        **dimp_net_kwargs(settings, feature_sz),
        clf_feat_blocks=0,
        out_feature_dim=512,
        frozen_backbone_layers=list(FROZEN_BACKBONE_LAYERS),
    )
    net = common.wrap_network(settings, net)

    objective = {"bb_ce": KLRegression(), "test_clf": LBHinge(threshold=settings.hinge_threshold)}
    loss_weight = {"bb_ce": 0.01, "test_clf": 100, "test_init_clf": 100, "test_iter_clf": 400}
    actor = KLDiMPActor(net=net, objective=objective, loss_weight=loss_weight)

    optimizer = optim.Adam(
        [
            {"params": actor.net.classifier.filter_initializer.parameters(), "lr": 5e-5},
            {"params": actor.net.classifier.filter_optimizer.parameters(), "lr": 5e-4},
            {"params": actor.net.classifier.feature_extractor.parameters(), "lr": 5e-5},
            {"params": actor.net.bb_regressor.parameters(), "lr": 1e-3},
            {"params": actor.net.feature_extractor.layer3.parameters(), "lr": 2e-5},
        ],
        lr=2e-4,
    )
    lr_scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.2)
    return common.train(settings, actor, loaders, optimizer, lr_scheduler, max_epochs=50)
