"""ATOM network: a ResNet backbone and the IoU-Net box regressor.

Danelljan et al., "ATOM: Accurate Tracking by Overlap Maximization", CVPR 2019.

Only the box regressor is trained; the backbone (ImageNet weights) is frozen. The factories are recorded by
:func:`ltr.admin.model_constructor.model_constructor`, and checkpoints pickle this module path
(``ltr.models.bbreg.atom``) and the factory names, so both are public API.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn as nn

from ltr.admin.model_constructor import model_constructor
from ltr.models.backbone import resnet as backbones
from ltr.models.bbreg.atom_iou_net import AtomIoUNet

__all__ = ["ATOMnet", "atom_resnet18", "atom_resnet50"]


class ATOMnet(nn.Module):
    """Backbone feature extractor followed by an IoU predictor.

    Args:
        feature_extractor: backbone whose ``forward(im, layers)`` returns an OrderedDict layer -> features.
        bb_regressor: IoU predictor, e.g. :class:`AtomIoUNet`.
        bb_regressor_layer: backbone layers fed to the regressor, in the order it expects (``['layer2', 'layer3']``).
        extractor_grad: with False, the backbone's parameters get ``requires_grad=False``.
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        bb_regressor: nn.Module,
        bb_regressor_layer: Sequence[str],
        extractor_grad: bool = True,
    ):
        super().__init__()
        self.feature_extractor = feature_extractor
        self.bb_regressor = bb_regressor
        self.bb_regressor_layer = list(bb_regressor_layer)

        if not extractor_grad:
            for p in self.feature_extractor.parameters():
                p.requires_grad_(False)

    def forward(
        self, train_imgs: torch.Tensor, test_imgs: torch.Tensor, train_bb: torch.Tensor, test_proposals: torch.Tensor
    ) -> torch.Tensor:
        """Predict the IoU of test proposals given the target box in the (first) train image.

        Args:
            train_imgs: (n_train, n_seq, 3, H, W) normalised images.
            test_imgs: (n_test, n_seq, 3, H, W).
            train_bb: (n_train, n_seq, 4) target boxes ``[x, y, w, h]`` in image pixels.
            test_proposals: (n_test, n_seq, P, 4) proposal boxes ``[x, y, w, h]``.

        Returns:
            Predicted IoUs (n_test, n_seq, P).
        """
        num_seq = train_imgs.shape[-4]
        num_train = train_imgs.shape[0] if train_imgs.dim() == 5 else 1
        num_test = test_imgs.shape[0] if test_imgs.dim() == 5 else 1

        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        test_feat = self.extract_backbone_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]))

        train_feat_iou = [train_feat[layer] for layer in self.bb_regressor_layer]
        test_feat_iou = [test_feat[layer] for layer in self.bb_regressor_layer]

        return self.bb_regressor(
            train_feat_iou,
            test_feat_iou,
            train_bb.reshape(num_train, num_seq, 4),
            test_proposals.reshape(num_test, num_seq, -1, 4),
        )

    def extract_backbone_features(
        self, im: torch.Tensor, layers: Sequence[str] | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """Backbone features of ``im`` (B, 3, H, W) for ``layers`` (default: the regressor's layers)."""
        if layers is None:
            layers = self.bb_regressor_layer
        return self.feature_extractor(im, layers)

    def extract_features(self, im: torch.Tensor, layers: Sequence[str]) -> OrderedDict[str, torch.Tensor]:
        """Backbone features of ``im`` (B, 3, H, W) for the given layer names."""
        return self.feature_extractor(im, layers)


@model_constructor
def atom_resnet18(
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    backbone_pretrained: bool = True,
) -> ATOMnet:
    """ATOM with a frozen ResNet-18 backbone.

    Args:
        iou_input_dim: ``pred_input_dim`` of the IoU-Net.
        iou_inter_dim: ``pred_inter_dim`` of the IoU-Net.
        backbone_pretrained: load torchvision ImageNet weights into the backbone (pass False when a checkpoint
            will be loaded anyway).

    Returns:
        The network, with ``net.constructor`` recording this call.
    """
    backbone_net = backbones.resnet18(pretrained=backbone_pretrained)
    iou_predictor = AtomIoUNet(input_dim=(128, 256), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return ATOMnet(
        feature_extractor=backbone_net,
        bb_regressor=iou_predictor,
        bb_regressor_layer=["layer2", "layer3"],
        extractor_grad=False,
    )


@model_constructor
def atom_resnet50(
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    backbone_pretrained: bool = True,
) -> ATOMnet:
    """ATOM with a frozen ResNet-50 backbone (IoU-Net inputs of 512 and 1024 channels); arguments as
    :func:`atom_resnet18`."""
    backbone_net = backbones.resnet50(pretrained=backbone_pretrained)
    iou_predictor = AtomIoUNet(input_dim=(512, 1024), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return ATOMnet(
        feature_extractor=backbone_net,
        bb_regressor=iou_predictor,
        bb_regressor_layer=["layer2", "layer3"],
        extractor_grad=False,
    )
