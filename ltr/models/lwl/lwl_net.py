"""LWL: "Learning What to Learn for Video Object Segmentation" (Bhat et al., ECCV 2020).

A target model (one convolution layer over stride-16 features) is fitted online by a differentiable few-shot
learner on label encodings of the annotated / previously predicted masks; its output, a multi-channel mask
encoding, is turned into segmentation scores by a decoder that also reads the backbone features. Everything (the
label encoder, the learner's regularization, the decoder) is trained end to end through the learner's iterations.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn

import ltr.models.backbone.resnet as resnet_backbones
import ltr.models.backbone.resnet_mrcnn as mrcnn_backbones
from ltr.admin.model_constructor import model_constructor
from ltr.models.meta.steepestdescent import GNSteepestDescent
from ltr.models.target_classifier.features import residual_basic_block
from pytracking.libs.tensorlist import TensorList

from .decoder import LWTLDecoder
from .initializer import FilterInitializerZero
from .label_encoder import ResidualDS16SW
from .linear_filter import LinearFilter
from .loss_residual_modules import LWTLResidual

__all__ = ["LWTLNet", "steepest_descent_resnet50", "build_backbone", "build_target_model"]


class LWTLNet(nn.Module):
    """The LWL network.

    Args:
        feature_extractor: Backbone returning a dict of feature maps for requested layer names.
        target_model: :class:`LinearFilter` (target model + few-shot learner).
        decoder: :class:`LWTLDecoder`.
        target_model_input_layer: Backbone layer(s) feeding the target model (e.g. ``'layer3'``).
        decoder_input_layers: Backbone layers read by the decoder, deepest first.
        label_encoder: Module ``(masks, feat) -> (label_encoding, sample_weights)``.
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        target_model: LinearFilter,
        decoder: LWTLDecoder,
        target_model_input_layer: str | Sequence[str],
        decoder_input_layers: Sequence[str],
        label_encoder: nn.Module | None = None,
    ):
        super().__init__()
        # Registration order fixes the state-dict order.
        self.feature_extractor = feature_extractor
        self.target_model = target_model
        self.decoder = decoder
        self.label_encoder = label_encoder

        if isinstance(target_model_input_layer, str):
            target_model_input_layer = (target_model_input_layer,)
        self.target_model_input_layer = tuple(target_model_input_layer)
        self.decoder_input_layers = tuple(decoder_input_layers)
        self.output_layers = sorted(set(self.target_model_input_layer + self.decoder_input_layers))

    def forward(
        self,
        train_imgs: torch.Tensor,
        test_imgs: torch.Tensor,
        train_masks: torch.Tensor,
        test_masks: torch.Tensor | None = None,
        num_refinement_iter: int = 2,
    ) -> torch.Tensor:
        """Segment the test frames of each sequence, in order, as during training.

        The target model is learned on the training frames; after each test frame, its predicted mask
        (sigmoid of the scores, detached) is added to the training set and the target model is refined with
        ``num_refinement_iter`` more learner iterations before the next frame.

        Args:
            train_imgs: Training images (n_train, n_sequences, 3, H, W).
            test_imgs: Test images (n_test, n_sequences, 3, H, W).
            train_masks: Training masks (n_train, n_sequences, H, W), values in [0, 1].
            test_masks: Ground-truth test masks; unused (accepted for the actor's call signature).
            num_refinement_iter: Learner iterations of each update (0: no update).

        Returns:
            Segmentation scores (logits) (n_test, n_sequences, H, W).
        """
        del test_masks
        num_train, num_sequences = train_imgs.shape[:2]
        num_test = test_imgs.shape[0]

        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        test_feat = self.extract_backbone_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]))

        train_feat_tm = self.extract_target_model_features(train_feat)
        train_feat_tm = train_feat_tm.reshape(num_train, num_sequences, *train_feat_tm.shape[-3:])
        test_feat_tm = self.extract_target_model_features(test_feat)
        test_feat_tm = test_feat_tm.reshape(num_test, num_sequences, *test_feat_tm.shape[-3:])

        label, sample_w = self.label_encoder(train_masks, train_feat_tm)
        feats_all, labels_all = [train_feat_tm], [label]
        weights_all = None if sample_w is None else [sample_w]

        filter, filter_iter, _ = self.target_model.get_filter(train_feat_tm, label, sample_w)

        mask_scores_all = []
        for i in range(num_test):
            feat_tm_i = test_feat_tm[i : i + 1]
            mask_encoding = self.target_model.apply_target_model(filter_iter[-1], feat_tm_i)
            backbone_i = {k: v.reshape(num_test, num_sequences, *v.shape[-3:])[i] for k, v in test_feat.items()}
            mask_scores, _ = self.decoder(mask_encoding, backbone_i, test_imgs.shape[-2:])
            mask_scores = mask_scores.reshape(1, num_sequences, *mask_scores.shape[-2:])
            mask_scores_all.append(mask_scores)

            if i == num_test - 1 or num_refinement_iter <= 0:
                continue
            # The prediction becomes a training sample; no gradient flows through the pseudo label.
            label, sample_w = self.label_encoder(torch.sigmoid(mask_scores.detach()), feat_tm_i)
            feats_all.append(feat_tm_i)
            labels_all.append(label)
            if weights_all is not None:
                weights_all.append(sample_w)
            filter_updated, _, _ = self.target_model.filter_optimizer(
                TensorList([filter]),
                feat=torch.cat(feats_all, dim=0),
                label=torch.cat(labels_all, dim=0),
                sample_weight=None if weights_all is None else torch.cat(weights_all, dim=0),
                num_iter=num_refinement_iter,
            )
            filter = filter_updated[0]
            filter_iter = [filter]

        return torch.cat(mask_scores_all, dim=0)

    def segment_target(
        self, target_filter: torch.Tensor, test_feat_tm: torch.Tensor, test_feat: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Segment one frame with given target-model filters (tracker use).

        Args:
            target_filter: Filters (n_sequences, n_filters, C, fs, fs).
            test_feat_tm: Target-model features (n_sequences, C, h, w) (or with a leading frame axis of 1).
            test_feat: Backbone features of the frame per decoder layer, (n_sequences, C_l, H_l, W_l).

        Returns:
            ``(mask_scores, mask_encoding)``: (n_sequences, 1, 16 h, 16 w) and (1, n_sequences, n_filters, h, w).
        """
        if target_filter.dim() != 5:
            raise ValueError(f"target_filter must be (seq, filters, C, fs, fs), got {tuple(target_filter.shape)}")
        test_feat_tm = test_feat_tm.reshape(1, -1, *test_feat_tm.shape[-3:])
        mask_encoding = self.target_model.apply_target_model(target_filter, test_feat_tm)
        image_size = (test_feat_tm.shape[-2] * 16, test_feat_tm.shape[-1] * 16)
        mask_scores, _ = self.decoder(mask_encoding, test_feat, image_size)
        return mask_scores, mask_encoding

    def get_backbone_target_model_features(
        self, backbone_feat: Mapping[str, torch.Tensor]
    ) -> torch.Tensor | OrderedDict[str, torch.Tensor]:
        """The backbone output(s) feeding the target model (a tensor when there is a single input layer)."""
        feat = OrderedDict((name, backbone_feat[name]) for name in self.target_model_input_layer)
        if len(self.target_model_input_layer) == 1:
            return feat[self.target_model_input_layer[0]]
        return feat

    def extract_target_model_features(self, backbone_feat: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Target-model features (B, C, h, w) from the backbone outputs."""
        return self.target_model.extract_target_model_features(self.get_backbone_target_model_features(backbone_feat))

    def extract_backbone_features(
        self, im: torch.Tensor, layers: Sequence[str] | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """Backbone features of images (B, 3, H, W) for ``layers`` (default: all layers the network reads)."""
        return self.feature_extractor(im, self.output_layers if layers is None else layers)


def build_backbone(
    backbone_type: str, backbone_pretrained: bool, frozen_backbone_layers: Sequence[str] | str
) -> nn.Module:
    """ResNet-50 backbone: torchvision layout (``'imagenet'``) or Mask R-CNN layout (``'mrcnn'``)."""
    frozen = frozen_backbone_layers if isinstance(frozen_backbone_layers, str) else tuple(frozen_backbone_layers)
    if backbone_type == "imagenet":
        return resnet_backbones.resnet50(pretrained=backbone_pretrained, frozen_layers=frozen)
    if backbone_type == "mrcnn":
        # The Mask R-CNN weights come with the LWL checkpoints (or a converted file), never downloaded.
        return mrcnn_backbones.resnet50(pretrained=False, frozen_layers=frozen)
    raise ValueError(f"unknown backbone_type {backbone_type!r} (expected 'imagenet' or 'mrcnn')")


def build_target_model(
    input_dim: int,
    filter_size: int,
    num_filters: int,
    optim_iter: int,
    optim_init_reg: float,
    clf_feat_blocks: int,
    clf_feat_norm: bool,
    final_conv: bool,
    out_feature_dim: int,
    detach_length: float,
    filter_groups: int,
    dilation_factors: Mapping[int, int] | None,
) -> LinearFilter:
    """Target model of LWL: feature block, zero initializer and Gauss-Newton steepest-descent learner."""
    norm_scale = math.sqrt(1.0 / (out_feature_dim * filter_size * filter_size))
    feature_extractor = residual_basic_block(
        feature_dim=input_dim,
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=norm_scale,
        out_dim=out_feature_dim,
    )
    initializer = FilterInitializerZero(
        filter_size=filter_size, num_filters=num_filters, feature_dim=out_feature_dim, filter_groups=filter_groups
    )
    residual_module = LWTLResidual(init_filter_reg=optim_init_reg, filter_dilation_factors=dilation_factors)
    # Residuals are (images, sequences, ...) and (1, sequences, ...): the sequence axis is 1.
    optimizer = GNSteepestDescent(
        residual_module=residual_module,
        num_iter=optim_iter,
        detach_length=detach_length,
        residual_batch_dim=1,
        compute_losses=True,
    )
    return LinearFilter(
        filter_size=filter_size,
        filter_initializer=initializer,
        filter_optimizer=optimizer,
        feature_extractor=feature_extractor,
        filter_dilation_factors=dilation_factors,
    )


@model_constructor
def steepest_descent_resnet50(
    filter_size: int = 1,
    num_filters: int = 1,
    optim_iter: int = 3,
    optim_init_reg: float = 0.01,
    backbone_pretrained: bool = False,
    clf_feat_blocks: int = 1,
    clf_feat_norm: bool = True,
    final_conv: bool = False,
    out_feature_dim: int = 512,
    target_model_input_layer: str = "layer3",
    decoder_input_layers: Sequence[str] = ("layer4", "layer3", "layer2", "layer1"),
    detach_length: float = float("Inf"),
    label_encoder_dims: Sequence[int] = (1, 1),
    frozen_backbone_layers: Sequence[str] | str = (),
    decoder_mdim: int = 64,
    filter_groups: int = 1,
    use_bn_in_label_enc: bool = True,
    dilation_factors: Mapping[int, int] | None = None,
    backbone_type: str = "imagenet",
) -> LWTLNet:
    """Build the LWL network with a ResNet-50 backbone.

    The released ``lwl_stage2.pth`` was trained with filter_size=3, num_filters=16, optim_iter=5,
    label_encoder_dims=(16, 32, 64), use_bn_in_label_enc=False, clf_feat_blocks=0, final_conv=True,
    backbone_type='mrcnn', frozen_backbone_layers=('conv1', 'bn1', 'layer1').

    Args:
        filter_size: Spatial size of the target-model filters.
        num_filters: Number of target-model filters (channels of the mask encoding).
        optim_iter: Learner iterations at initialization.
        optim_init_reg: Initial value of the learned filter regularization.
        backbone_pretrained: Load ImageNet weights (``'imagenet'`` backbone only).
        clf_feat_blocks: Residual blocks of the target-model feature block.
        clf_feat_norm: Instance L2 normalization of the target-model features.
        final_conv: Final 3x3 convolution of the feature block (to ``out_feature_dim`` channels).
        out_feature_dim: Channels of the target-model features.
        target_model_input_layer: Backbone layer feeding the target model.
        decoder_input_layers: Backbone layers read by the decoder, deepest first.
        detach_length: Cut the learner's graph every ``detach_length`` iterations.
        label_encoder_dims: Widths ``(d0, d1, d2)`` of the label encoder (``num_filters`` is appended).
        frozen_backbone_layers: Backbone layers kept frozen.
        decoder_mdim: Decoder width.
        filter_groups: Channel groups of the filters.
        use_bn_in_label_enc: Batch norms in the label encoder.
        dilation_factors: Optional ``{dilation: count}`` for the filters.
        backbone_type: ``'imagenet'`` (torchvision layout) or ``'mrcnn'`` (Mask R-CNN layout).

    Returns:
        The network.
    """
    backbone = build_backbone(backbone_type, backbone_pretrained, frozen_backbone_layers)
    layer_channels = backbone.out_feature_channels()
    target_model = build_target_model(
        layer_channels[target_model_input_layer],
        filter_size,
        num_filters,
        optim_iter,
        optim_init_reg,
        clf_feat_blocks,
        clf_feat_norm,
        final_conv,
        out_feature_dim,
        detach_length,
        filter_groups,
        dilation_factors,
    )
    label_encoder = ResidualDS16SW(layer_dims=tuple(label_encoder_dims) + (num_filters,), use_bn=use_bn_in_label_enc)
    decoder = LWTLDecoder(
        num_filters,
        decoder_mdim,
        OrderedDict((name, layer_channels[name]) for name in decoder_input_layers),
        use_bn=True,
    )
    return LWTLNet(
        feature_extractor=backbone,
        target_model=target_model,
        decoder=decoder,
        label_encoder=label_encoder,
        target_model_input_layer=target_model_input_layer,
        decoder_input_layers=decoder_input_layers,
    )
