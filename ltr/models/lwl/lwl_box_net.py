"""LWL with box initialisation: the first-frame mask is predicted from a bounding box.

A box label encoder (:class:`ResidualDS16FeatSWBoxCatMultiBlock`) turns the box and the target-model features of
the first frame into a mask encoding, which the LWL decoder turns into segmentation scores; that mask then
initializes the usual LWL target model. In the released ``lwl_boxinit.pth`` only the box encoder was trained, on
top of a frozen ``lwl_stage2`` network.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn

from ltr.admin.model_constructor import model_constructor

from .decoder import LWTLDecoder
from .label_encoder import ResidualDS16FeatSWBoxCatMultiBlock, ResidualDS16SW
from .linear_filter import LinearFilter
from .lwl_net import LWTLNet, build_backbone, build_target_model

__all__ = ["LWTLBoxNet", "steepest_descent_resnet50", "steepest_descent_resnet50_from_checkpoint"]


class LWTLBoxNet(LWTLNet):
    """LWL network with a box label encoder (state-dict entries ``box_label_encoder.*`` after those of LWL).

    Args:
        feature_extractor, target_model, decoder, target_model_input_layer, decoder_input_layers, label_encoder:
            As :class:`LWTLNet`.
        box_label_encoder: Module ``(boxes, target_model_feat, image_size) -> mask encoding``.
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        target_model: LinearFilter,
        decoder: LWTLDecoder,
        target_model_input_layer: str | Sequence[str],
        decoder_input_layers: Sequence[str],
        label_encoder: nn.Module | None = None,
        box_label_encoder: nn.Module | None = None,
    ):
        super().__init__(
            feature_extractor, target_model, decoder, target_model_input_layer, decoder_input_layers, label_encoder
        )
        self.box_label_encoder = box_label_encoder
        # Only the box encoder is trained; the rest is a frozen LWL network.
        self.train_only_box_label_gen = True

    def train(self, mode: bool = True) -> LWTLBoxNet:
        """Set the training mode; the backbone always stays frozen (eval mode, no gradients).

        With ``train_only_box_label_gen`` (default), training mode only trains the box label encoder: the target
        model, label encoder and decoder are put in eval mode with gradients disabled. In eval mode every
        parameter has gradients disabled.
        """
        self.training = mode
        _set_trainable(self.feature_extractor, False)
        _set_trainable(self.box_label_encoder, mode)
        rest_trainable = mode and not self.train_only_box_label_gen
        for module in (self.target_model, self.label_encoder, self.decoder):
            _set_trainable(module, rest_trainable)
        return self

    def box_to_mask_encoding(
        self, bb: torch.Tensor, target_model_feat: torch.Tensor, image_size: Sequence[int]
    ) -> torch.Tensor:
        """Mask encoding of boxes.

        Args:
            bb: Boxes ``[x, y, w, h]`` in image pixels, (n_frames, n_sequences, 4) (or (N, 4), read as N frames of
                one sequence).
            target_model_feat: Target-model features of the same images, (n_frames * n_sequences, C, h, w).
            image_size: Image size ``(..., H, W)``.

        Returns:
            Encoding (n_frames, n_sequences, n_filters, h, w).
        """
        return self.box_label_encoder(bb, target_model_feat, image_size)

    def segment_box(
        self,
        bb: torch.Tensor,
        backbone_feat: Mapping[str, torch.Tensor],
        image_size: Sequence[int],
        target_model_feat: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Segmentation scores of the objects given by boxes (the tracker's box initialisation).

        Args:
            bb: Boxes ``[x, y, w, h]`` in image pixels, (n_frames, n_sequences, 4) or (N, 4).
            backbone_feat: Backbone features of the images (B, C_l, H_l, W_l), ``B = n_frames * n_sequences``.
            image_size: Image size ``(..., H, W)``.
            target_model_feat: Target-model features (B, C, h, w); computed from ``backbone_feat`` if None.

        Returns:
            Scores (logits) (n_frames, n_sequences, H, W) ((N, 1, H, W) for 2-D ``bb``).
        """
        if target_model_feat is None:
            target_model_feat = self.extract_target_model_features(backbone_feat)
        encoding = self.box_to_mask_encoding(bb, target_model_feat, image_size)
        scores, _ = self.decoder(encoding, backbone_feat, image_size)
        return scores.reshape(*encoding.shape[:2], *scores.shape[-2:])

    def forward(
        self,
        train_imgs: torch.Tensor,
        test_imgs: torch.Tensor,
        train_bb: torch.Tensor,
        num_refinement_iter: int = 2,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Box-initialised LWL: predict the training masks from boxes, then segment the test frames.

        Args:
            train_imgs: Training images (n_train, n_sequences, 3, H, W).
            test_imgs: Test images (n_test, n_sequences, 3, H, W).
            train_bb: Boxes ``[x, y, w, h]`` of the target in the training images (n_train, n_sequences, 4).
            num_refinement_iter: As :meth:`LWTLNet.forward`.

        Returns:
            ``(test_scores, train_box_scores)``: (n_test, n_sequences, H, W) and the box-predicted training mask
            scores (n_train, n_sequences, H, W).
        """
        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        train_box_scores = self.segment_box(train_bb, train_feat, train_imgs.shape[-2:])
        test_scores = super().forward(
            train_imgs, test_imgs, torch.sigmoid(train_box_scores), num_refinement_iter=num_refinement_iter
        )
        return test_scores, train_box_scores


def _set_trainable(module: nn.Module | None, trainable: bool) -> None:
    if module is None:
        return
    for p in module.parameters():
        p.requires_grad_(trainable)
    module.train(trainable)


def _box_label_encoder(
    out_feature_dim: int,
    num_filters: int,
    box_label_encoder_dims: Sequence[int],
    box_label_encoder_type: str,
    use_bn_in_label_enc: bool,
    use_gauss: bool,
    use_final_relu: bool,
    init_bn: float,
    gauss_scale: float,
    final_bn: bool,
) -> ResidualDS16FeatSWBoxCatMultiBlock:
    if box_label_encoder_type != "ResidualDS16FeatSWBoxCatMultiBlock":
        raise ValueError(f"unknown box_label_encoder_type {box_label_encoder_type!r}")
    return ResidualDS16FeatSWBoxCatMultiBlock(
        layer_dims=tuple(box_label_encoder_dims) + (num_filters,),
        feat_dim=out_feature_dim,
        use_final_relu=use_final_relu,
        use_gauss=use_gauss,
        use_bn=use_bn_in_label_enc,
        non_default_init=True,
        init_bn=init_bn,
        gauss_scale=gauss_scale,
        final_bn=final_bn,
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
    box_label_encoder_dims: Sequence[int] = (1, 1),
    box_label_encoder_type: str = "ResidualDS16FeatSWBoxCatMultiBlock",
    use_gauss: bool = False,
    use_final_relu: bool = True,
    init_bn: float = 1.0,
    final_bn: bool = False,
    gauss_scale: float = 0.25,
) -> LWTLBoxNet:
    """Build LWL with box initialisation (ResNet-50 backbone).

    Arguments up to ``backbone_type`` as :func:`ltr.models.lwl.lwl_net.steepest_descent_resnet50`. The released
    ``lwl_boxinit.pth`` adds box_label_encoder_dims=(64, 64), final_bn=False to the ``lwl_stage2`` arguments.

    Args:
        box_label_encoder_dims: Widths of the box encoder's residual blocks (``num_filters`` is appended).
        box_label_encoder_type: Only ``'ResidualDS16FeatSWBoxCatMultiBlock'``.
        use_gauss: Render boxes as Gaussians instead of filled rectangles.
        use_final_relu: ReLU at the end of the box encoder.
        init_bn: Initial batch-norm scale of the box encoder.
        final_bn: Batch norm in the box encoder's output layer.
        gauss_scale: Gaussian std relative to the box size.

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
    box_label_encoder = _box_label_encoder(
        out_feature_dim,
        num_filters,
        box_label_encoder_dims,
        box_label_encoder_type,
        use_bn_in_label_enc,
        use_gauss,
        use_final_relu,
        init_bn,
        gauss_scale,
        final_bn,
    )
    return LWTLBoxNet(
        feature_extractor=backbone,
        target_model=target_model,
        decoder=decoder,
        target_model_input_layer=target_model_input_layer,
        decoder_input_layers=decoder_input_layers,
        label_encoder=label_encoder,
        box_label_encoder=box_label_encoder,
    )


@model_constructor
def steepest_descent_resnet50_from_checkpoint(
    net: LWTLNet | None = None,
    num_filters: int = 1,
    out_feature_dim: int = 512,
    target_model_input_layer: str = "layer3",
    box_label_encoder_dims: Sequence[int] = (1, 1),
    use_bn_in_label_enc: bool = True,
    box_label_encoder_type: str = "ResidualDS16FeatSWBoxCatMultiBlock",
    use_gauss: bool = False,
    use_final_relu: bool = True,
    init_bn: float = 1,
    gauss_scale: float = 0.25,
    decoder_input_layers: Sequence[str] = ("layer4", "layer3", "layer2", "layer1"),
    final_bn: bool = False,
) -> LWTLBoxNet:
    """Add a new box label encoder to a trained :class:`LWTLNet` (its modules are shared, not copied).

    Args:
        net: The trained LWL network.
        Others: As :func:`steepest_descent_resnet50` (``num_filters`` / ``out_feature_dim`` must match ``net``).

    Returns:
        The network.
    """
    if net is None:
        raise ValueError("net (a trained LWTLNet) is required")
    box_label_encoder = _box_label_encoder(
        out_feature_dim,
        num_filters,
        box_label_encoder_dims,
        box_label_encoder_type,
        use_bn_in_label_enc,
        use_gauss,
        use_final_relu,
        init_bn,
        gauss_scale,
        final_bn,
    )
    return LWTLBoxNet(
        feature_extractor=net.feature_extractor,
        target_model=net.target_model,
        decoder=net.decoder,
        target_model_input_layer=target_model_input_layer,
        decoder_input_layers=decoder_input_layers,
        label_encoder=net.label_encoder,
        box_label_encoder=box_label_encoder,
    )
