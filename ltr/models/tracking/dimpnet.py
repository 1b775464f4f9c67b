"""DiMP network family: backbone, discriminative target classifier and IoU-Net box regressor.

Bhat et al., "Learning Discriminative Model Prediction for Tracking", ICCV 2019 (DiMP);
Danelljan et al., "Probabilistic Regression for Visual Tracking", CVPR 2020 (PrDiMP).

The factories at the bottom are recorded by :func:`ltr.admin.model_constructor.model_constructor`; checkpoints
pickle this module path (``ltr.models.tracking.dimpnet``) and the factory names, and their state dicts depend on
the registration order ``feature_extractor``, ``classifier``, ``bb_regressor``, so all three are public API.
SuperDiMP is ``dimpnet50`` with other kwargs.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn

from ltr.admin.model_constructor import model_constructor
from ltr.models.backbone import resnet as backbones
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from ltr.models.target_classifier import features as clf_features
from ltr.models.target_classifier import initializer as clf_initializer
from ltr.models.target_classifier import optimizer as clf_optimizer
from ltr.models.target_classifier.linear_filter import LinearFilter

__all__ = ["DiMPnet", "dimpnet18", "dimpnet50", "L2dimpnet18", "klcedimpnet18", "klcedimpnet50"]


class DiMPnet(nn.Module):
    """DiMP network.

    Args:
        feature_extractor: Backbone; ``forward(im, layers)`` returns an OrderedDict layer name -> features.
        classifier: Target classifier (:class:`LinearFilter`).
        bb_regressor: IoU predictor (:class:`AtomIoUNet`).
        classification_layer: Backbone layer(s) fed to the classifier (a name or a list of names).
        bb_regressor_layer: Backbone layers fed to the IoU predictor (e.g. ``['layer2', 'layer3']``).
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        classifier: nn.Module,
        bb_regressor: nn.Module,
        classification_layer: str | Sequence[str],
        bb_regressor_layer: Sequence[str],
    ):
        super().__init__()
        self.feature_extractor = feature_extractor
        self.classifier = classifier
        self.bb_regressor = bb_regressor
        if isinstance(classification_layer, str):
            classification_layer = [classification_layer]
        self.classification_layer = list(classification_layer)
        self.bb_regressor_layer = list(bb_regressor_layer)
        self.output_layers = sorted(set(self.classification_layer + self.bb_regressor_layer))

    def forward(
        self,
        train_imgs: torch.Tensor,
        test_imgs: torch.Tensor,
        train_bb: torch.Tensor,
        test_proposals: torch.Tensor,
        *args,
        **kwargs,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Training pass.

        Args:
            train_imgs: Training images (n_train, n_sequences, 3, H, W).
            test_imgs: Test images (n_test, n_sequences, 3, H, W).
            train_bb: Target boxes in the training images (n_train, n_sequences, 4), ``[x, y, w, h]`` pixels.
            test_proposals: Box proposals in the test images (n_test, n_sequences, n_proposals, 4), ``[x, y, w, h]``.
            *args: Passed to the classifier's filter optimizer.
            **kwargs: Passed to the classifier's filter optimizer.

        Returns:
            ``(target_scores, iou_pred)``: test classification scores for every filter iterate (initial filter
            first), each (n_test, n_sequences, H', W') at the classification stride; predicted IoUs (n_test,
            n_sequences, n_proposals).
        """
        if train_imgs.dim() != 5 or test_imgs.dim() != 5:
            raise ValueError("train_imgs and test_imgs must be (n_images, n_sequences, 3, H, W)")

        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        test_feat = self.extract_backbone_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]))

        train_feat_clf = self.get_backbone_clf_feat(train_feat)
        test_feat_clf = self.get_backbone_clf_feat(test_feat)
        target_scores = self.classifier(train_feat_clf, test_feat_clf, train_bb, *args, **kwargs)

        train_feat_iou = self.get_backbone_bbreg_feat(train_feat)
        test_feat_iou = self.get_backbone_bbreg_feat(test_feat)
        iou_pred = self.bb_regressor(train_feat_iou, test_feat_iou, train_bb, test_proposals)
        return target_scores, iou_pred

    def get_backbone_clf_feat(self, backbone_feat: dict[str, torch.Tensor]) -> torch.Tensor | OrderedDict:
        """The classifier's input: the single classification layer's map, or an OrderedDict of several."""
        feat = OrderedDict((layer, backbone_feat[layer]) for layer in self.classification_layer)
        if len(self.classification_layer) == 1:
            return feat[self.classification_layer[0]]
        return feat

    def get_backbone_bbreg_feat(self, backbone_feat: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The IoU predictor's inputs, in ``bb_regressor_layer`` order."""
        return [backbone_feat[layer] for layer in self.bb_regressor_layer]

    def extract_classification_feat(self, backbone_feat: dict[str, torch.Tensor]) -> torch.Tensor:
        """Classification features (B, C, H, W) from backbone features (dict layer name -> (B, C_l, H_l, W_l))."""
        return self.classifier.extract_classification_feat(self.get_backbone_clf_feat(backbone_feat))

    def extract_backbone_features(
        self, im: torch.Tensor, layers: Iterable[str] | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """Backbone features of images (B, 3, H, W) for ``layers`` (default ``self.output_layers``)."""
        if layers is None:
            layers = self.output_layers
        return self.feature_extractor(im, list(layers))

    def extract_features(self, im: torch.Tensor, layers: Iterable[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """Backbone and/or classification features.

        Args:
            im: Images (B, 3, H, W).
            layers: Backbone layer names and/or ``'classification'`` (the classification features); default
                ``bb_regressor_layer + ['classification']``.

        Returns:
            OrderedDict name -> features, in the order of ``layers``.
        """
        layers = self.bb_regressor_layer + ["classification"] if layers is None else list(layers)
        if "classification" not in layers:
            return self.feature_extractor(im, layers)
        backbone_layers = sorted({name for name in layers + self.classification_layer if name != "classification"})
        all_feat = self.feature_extractor(im, backbone_layers)
        all_feat["classification"] = self.extract_classification_feat(all_feat)
        return OrderedDict((name, all_feat[name]) for name in layers)


def norm_scale(clf_feat_norm: bool, out_feature_dim: int, filter_size: int) -> float:
    # Unit-RMS filter responses: the feature block's output gets squared norm 1 per filter support.
    return math.sqrt(1.0 / (out_feature_dim * filter_size * filter_size)) if clf_feat_norm else 1.0


def dimp_gn_learner(
    filter_size: int,
    feature_dim: int,
    init_filter_norm: bool,
    feat_stride: int,
    optim_iter: int,
    optim_init_step: float,
    optim_init_reg: float,
    init_gauss_sigma: float,
    num_dist_bins: int,
    bin_displacement: float,
    mask_init_factor: float,
    score_act: str,
    act_param: float | None,
    target_mask_act: str,
    detach_length: float,
) -> tuple[clf_initializer.FilterInitializerLinear, clf_optimizer.DiMPSteepestDescentGN]:
    """The DiMP target-model learner (linear filter initializer + Gauss-Newton steepest descent).

    Shared by the DiMP factories and KYS, whose classifier is DiMP-50's; arguments as :func:`dimpnet18`.
    """
    initializer = clf_initializer.FilterInitializerLinear(
        filter_size=filter_size, filter_norm=init_filter_norm, feature_dim=feature_dim
    )
    optimizer = clf_optimizer.DiMPSteepestDescentGN(
        num_iter=optim_iter,
        feat_stride=feat_stride,
        init_step_length=optim_init_step,
        init_filter_reg=optim_init_reg,
        init_gauss_sigma=init_gauss_sigma,
        num_dist_bins=num_dist_bins,
        bin_displacement=bin_displacement,
        mask_init_factor=mask_init_factor,
        score_act=score_act,
        act_param=act_param,
        mask_act=target_mask_act,
        detach_length=detach_length,
    )
    return initializer, optimizer


def _assemble(
    backbone_net: nn.Module,
    clf_feature_extractor: nn.Module,
    initializer: nn.Module,
    optimizer: nn.Module,
    filter_size: int,
    classification_layer: str,
    bb_regressor: AtomIoUNet,
) -> DiMPnet:
    """The part every DiMP factory shares: classifier from its three pieces, then the network."""
    classifier = LinearFilter(
        filter_size=filter_size,
        filter_initializer=initializer,
        filter_optimizer=optimizer,
        feature_extractor=clf_feature_extractor,
    )
    return DiMPnet(
        feature_extractor=backbone_net,
        classifier=classifier,
        bb_regressor=bb_regressor,
        classification_layer=classification_layer,
        bb_regressor_layer=["layer2", "layer3"],
    )


@model_constructor
def dimpnet18(
    filter_size: int = 1,
    optim_iter: int = 5,
    optim_init_step: float = 1.0,
    optim_init_reg: float = 0.01,
    classification_layer: str = "layer3",
    feat_stride: int = 16,
    backbone_pretrained: bool = True,
    clf_feat_blocks: int = 1,
    clf_feat_norm: bool = True,
    init_filter_norm: bool = False,
    final_conv: bool = True,
    out_feature_dim: int = 256,
    init_gauss_sigma: float = 1.0,
    num_dist_bins: int = 5,
    bin_displacement: float = 1.0,
    mask_init_factor: float = 4.0,
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    score_act: str = "relu",
    act_param: float | None = None,
    target_mask_act: str = "sigmoid",
    detach_length: float = float("inf"),
    frozen_backbone_layers: Iterable[str] = (),
) -> DiMPnet:
    """DiMP with a ResNet-18 backbone (classifier on ``layer3``, IoU-Net on ``layer2``/``layer3``).

    Args:
        filter_size: Side of the target-model filter.
        optim_iter: Steepest-descent iterations.
        optim_init_step: Initial step-length factor.
        optim_init_reg: Initial filter regularisation.
        classification_layer: Backbone layer of the classifier.
        feat_stride: Stride of the classification features.
        backbone_pretrained: Load torchvision ImageNet weights into the backbone.
        clf_feat_blocks: Residual blocks of the classification feature block.
        clf_feat_norm: End the feature block with instance L2 normalisation.
        init_filter_norm: Normalise the initial filter by ``C * fs^2``.
        final_conv: End the feature block with a 3x3 convolution.
        out_feature_dim: Classification feature channels.
        init_gauss_sigma: Initial label-function width (cells).
        num_dist_bins: Distance bins of the label/mask/weight predictors.
        bin_displacement: Distance between bins (cells).
        mask_init_factor: Initial target-mask scale.
        iou_input_dim: IoU-Net ``pred_input_dim``.
        iou_inter_dim: IoU-Net ``pred_inter_dim``.
        score_act: ``'relu'`` or ``'bentpar'``.
        act_param: Parameter of ``'bentpar'``.
        target_mask_act: ``'sigmoid'`` or ``'linear'``.
        detach_length: Optimizer iterations to backpropagate through.
        frozen_backbone_layers: Backbone layers to freeze (names or ``'all'``).

    Returns:
        The network.
    """
    backbone_net = backbones.resnet18(pretrained=backbone_pretrained, frozen_layers=frozen_backbone_layers)
    clf_feature_extractor = clf_features.residual_basic_block(
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=norm_scale(clf_feat_norm, out_feature_dim, filter_size),
        out_dim=out_feature_dim,
    )
    initializer, optimizer = dimp_gn_learner(
        filter_size,
        out_feature_dim,
        init_filter_norm,
        feat_stride,
        optim_iter,
        optim_init_step,
        optim_init_reg,
        init_gauss_sigma,
        num_dist_bins,
        bin_displacement,
        mask_init_factor,
        score_act,
        act_param,
        target_mask_act,
        detach_length,
    )
    bb_regressor = AtomIoUNet(pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return _assemble(
        backbone_net, clf_feature_extractor, initializer, optimizer, filter_size, classification_layer, bb_regressor
    )


@model_constructor
def dimpnet50(
    filter_size: int = 1,
    optim_iter: int = 5,
    optim_init_step: float = 1.0,
    optim_init_reg: float = 0.01,
    classification_layer: str = "layer3",
    feat_stride: int = 16,
    backbone_pretrained: bool = True,
    clf_feat_blocks: int = 0,
    clf_feat_norm: bool = True,
    init_filter_norm: bool = False,
    final_conv: bool = True,
    out_feature_dim: int = 512,
    init_gauss_sigma: float = 1.0,
    num_dist_bins: int = 5,
    bin_displacement: float = 1.0,
    mask_init_factor: float = 4.0,
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    score_act: str = "relu",
    act_param: float | None = None,
    target_mask_act: str = "sigmoid",
    detach_length: float = float("inf"),
    frozen_backbone_layers: Iterable[str] = (),
) -> DiMPnet:
    """DiMP with a ResNet-50 backbone (DiMP-50; SuperDiMP with its kwargs). Arguments as :func:`dimpnet18`; the
    classification feature block is built from bottlenecks (default: only the final 1024 -> 512 convolution), and
    the IoU-Net reads the 512/1024-channel ``layer2``/``layer3``."""
    backbone_net = backbones.resnet50(pretrained=backbone_pretrained, frozen_layers=frozen_backbone_layers)
    clf_feature_extractor = clf_features.residual_bottleneck(
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=norm_scale(clf_feat_norm, out_feature_dim, filter_size),
        out_dim=out_feature_dim,
    )
    initializer, optimizer = dimp_gn_learner(
        filter_size,
        out_feature_dim,
        init_filter_norm,
        feat_stride,
        optim_iter,
        optim_init_step,
        optim_init_reg,
        init_gauss_sigma,
        num_dist_bins,
        bin_displacement,
        mask_init_factor,
        score_act,
        act_param,
        target_mask_act,
        detach_length,
    )
    bb_regressor = AtomIoUNet(input_dim=(4 * 128, 4 * 256), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return _assemble(
        backbone_net, clf_feature_extractor, initializer, optimizer, filter_size, classification_layer, bb_regressor
    )


@model_constructor
def dimpnet_tiny(
    backbone_width: int = 16,
    filter_size: int = 4,
    optim_iter: int = 5,
    optim_init_step: float = 0.9,
    optim_init_reg: float = 0.1,
    feat_stride: int = 16,
    clf_feat_blocks: int = 1,
    out_feature_dim: int = 64,
    init_gauss_sigma: float = 1.0,
    num_dist_bins: int = 10,
    bin_displacement: float = 0.5,
    mask_init_factor: float = 3.0,
    iou_input_dim: Sequence[int] = (64, 64),
    iou_inter_dim: Sequence[int] = (64, 64),
    detach_length: float = float("inf"),
) -> DiMPnet:
    """A narrow DiMP-18 that trains from scratch on a CPU (this project's own model; not an official network).

    The backbone is a ResNet-18 whose stages are ``backbone_width * (1, 2, 4, 8)`` channels wide (16: 0.18 M
    parameters up to ``layer3``, against 2.8 M), so ``layer2``/``layer3`` carry ``2 * width``/``4 * width``
    channels; the classifier and its steepest-descent learner are DiMP's, narrowed to match, and the IoU-Net keeps
    its fixed inner widths on narrower inputs (about 2.2 M parameters in all, 0.65 M of them in the unused
    ``layer4``/``fc`` kept for the standard backbone layout). Other arguments as
    :func:`dimpnet18`; there are no pretrained weights.
    """
    backbone_net = backbones.resnet18(pretrained=False, inplanes=backbone_width)
    clf_feature_extractor = clf_features.residual_basic_block(
        feature_dim=4 * backbone_width,
        num_blocks=clf_feat_blocks,
        l2norm=True,
        final_conv=True,
        norm_scale=norm_scale(True, out_feature_dim, filter_size),
        out_dim=out_feature_dim,
    )
    initializer, optimizer = dimp_gn_learner(
        filter_size,
        out_feature_dim,
        False,
        feat_stride,
        optim_iter,
        optim_init_step,
        optim_init_reg,
        init_gauss_sigma,
        num_dist_bins,
        bin_displacement,
        mask_init_factor,
        "relu",
        None,
        "sigmoid",
        detach_length,
    )
    bb_regressor = AtomIoUNet(
        input_dim=(2 * backbone_width, 4 * backbone_width), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim
    )
    return _assemble(backbone_net, clf_feature_extractor, initializer, optimizer, filter_size, "layer3", bb_regressor)


@model_constructor
def L2dimpnet18(
    filter_size: int = 1,
    optim_iter: int = 5,
    optim_init_step: float = 1.0,
    optim_init_reg: float = 0.01,
    classification_layer: str = "layer3",
    feat_stride: int = 16,
    backbone_pretrained: bool = True,
    clf_feat_blocks: int = 1,
    clf_feat_norm: bool = True,
    init_filter_norm: bool = False,
    final_conv: bool = True,
    out_feature_dim: int = 256,
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    detach_length: float = float("inf"),
    hinge_threshold: float = -999,
    gauss_sigma: float = 1.0,
    alpha_eps: float = 0,
    frozen_backbone_layers: Iterable[str] = (),
) -> DiMPnet:
    """DiMP-18 whose optimizer fits a fixed Gaussian label with an L2 / hinge loss
    (:class:`DiMPL2SteepestDescentGN`). Other arguments as :func:`dimpnet18`."""
    backbone_net = backbones.resnet18(pretrained=backbone_pretrained, frozen_layers=frozen_backbone_layers)
    clf_feature_extractor = clf_features.residual_basic_block(
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=norm_scale(clf_feat_norm, out_feature_dim, filter_size),
        out_dim=out_feature_dim,
    )
    initializer = clf_initializer.FilterInitializerLinear(
        filter_size=filter_size, filter_norm=init_filter_norm, feature_dim=out_feature_dim
    )
    optimizer = clf_optimizer.DiMPL2SteepestDescentGN(
        num_iter=optim_iter,
        feat_stride=feat_stride,
        init_step_length=optim_init_step,
        hinge_threshold=hinge_threshold,
        init_filter_reg=optim_init_reg,
        gauss_sigma=gauss_sigma,
        detach_length=detach_length,
        alpha_eps=alpha_eps,
    )
    bb_regressor = AtomIoUNet(pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return _assemble(
        backbone_net, clf_feature_extractor, initializer, optimizer, filter_size, classification_layer, bb_regressor
    )


@model_constructor
def klcedimpnet18(
    filter_size: int = 1,
    optim_iter: int = 5,
    optim_init_step: float = 1.0,
    optim_init_reg: float = 0.01,
    classification_layer: str = "layer3",
    feat_stride: int = 16,
    backbone_pretrained: bool = True,
    clf_feat_blocks: int = 1,
    clf_feat_norm: bool = True,
    init_filter_norm: bool = False,
    final_conv: bool = True,
    out_feature_dim: int = 256,
    gauss_sigma: float = 1.0,
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    detach_length: float = float("inf"),
    alpha_eps: float = 0.0,
    train_feature_extractor: bool = True,
    init_uni_weight: float | None = None,
    optim_min_reg: float = 1e-3,
    init_initializer: str = "default",
    normalize_label: bool = False,
    label_shrink: float = 0,
    softmax_reg: float | None = None,
    label_threshold: float = 0,
    final_relu: bool = False,
    init_pool_square: bool = False,
    frozen_backbone_layers: Iterable[str] = (),
) -> DiMPnet:
    """PrDiMP-18: DiMP-18 with the KL / cross-entropy optimizer :class:`PrDiMPSteepestDescentNewton`.

    Args (beyond :func:`dimpnet18`):
        gauss_sigma: Label density standard deviation (cells).
        alpha_eps: Step-length damping.
        train_feature_extractor: False freezes the whole backbone.
        init_uni_weight: Uniform component of the label.
        optim_min_reg: Lower bound on the filter regularisation.
        init_initializer: ``'default'`` or ``'zero'`` initialisation of the initializer's ``filter_conv``.
        normalize_label: Normalise the label density to sum 1.
        label_shrink: Label mass removed.
        softmax_reg: Implicit extra softmax entry.
        label_threshold: Label density threshold.
        final_relu: ReLU before the L2 normalisation of the feature block.
        init_pool_square: Pool a square box in the initializer.

    Returns:
        The network.
    """
    if not train_feature_extractor:
        frozen_backbone_layers = "all"
    backbone_net = backbones.resnet18(pretrained=backbone_pretrained, frozen_layers=frozen_backbone_layers)
    clf_feature_extractor = clf_features.residual_basic_block(
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=norm_scale(clf_feat_norm, out_feature_dim, filter_size),
        out_dim=out_feature_dim,
        final_relu=final_relu,
    )
    initializer = clf_initializer.FilterInitializerLinear(
        filter_size=filter_size,
        filter_norm=init_filter_norm,
        feature_dim=out_feature_dim,
        init_weights=init_initializer,
        pool_square=init_pool_square,
    )
    optimizer = clf_optimizer.PrDiMPSteepestDescentNewton(
        num_iter=optim_iter,
        feat_stride=feat_stride,
        init_step_length=optim_init_step,
        init_filter_reg=optim_init_reg,
        gauss_sigma=gauss_sigma,
        detach_length=detach_length,
        alpha_eps=alpha_eps,
        init_uni_weight=init_uni_weight,
        min_filter_reg=optim_min_reg,
        normalize_label=normalize_label,
        label_shrink=label_shrink,
        softmax_reg=softmax_reg,
        label_threshold=label_threshold,
    )
    bb_regressor = AtomIoUNet(pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return _assemble(
        backbone_net, clf_feature_extractor, initializer, optimizer, filter_size, classification_layer, bb_regressor
    )


@model_constructor
def klcedimpnet50(
    filter_size: int = 1,
    optim_iter: int = 5,
    optim_init_step: float = 1.0,
    optim_init_reg: float = 0.01,
    classification_layer: str = "layer3",
    feat_stride: int = 16,
    backbone_pretrained: bool = True,
    clf_feat_blocks: int = 0,
    clf_feat_norm: bool = True,
    init_filter_norm: bool = False,
    final_conv: bool = True,
    out_feature_dim: int = 512,
    gauss_sigma: float = 1.0,
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    detach_length: float = float("inf"),
    alpha_eps: float = 0.0,
    train_feature_extractor: bool = True,
    init_uni_weight: float | None = None,
    optim_min_reg: float = 1e-3,
    init_initializer: str = "default",
    normalize_label: bool = False,
    label_shrink: float = 0,
    softmax_reg: float | None = None,
    label_threshold: float = 0,
    final_relu: bool = False,
    frozen_backbone_layers: Iterable[str] = (),
) -> DiMPnet:
    """PrDiMP-50: DiMP-50 with the KL / cross-entropy optimizer. Arguments as :func:`klcedimpnet18` (no
    ``init_pool_square``)."""
    if not train_feature_extractor:
        frozen_backbone_layers = "all"
    backbone_net = backbones.resnet50(pretrained=backbone_pretrained, frozen_layers=frozen_backbone_layers)
    clf_feature_extractor = clf_features.residual_bottleneck(
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=norm_scale(clf_feat_norm, out_feature_dim, filter_size),
        out_dim=out_feature_dim,
        final_relu=final_relu,
    )
    initializer = clf_initializer.FilterInitializerLinear(
        filter_size=filter_size,
        filter_norm=init_filter_norm,
        feature_dim=out_feature_dim,
        init_weights=init_initializer,
    )
    optimizer = clf_optimizer.PrDiMPSteepestDescentNewton(
        num_iter=optim_iter,
        feat_stride=feat_stride,
        init_step_length=optim_init_step,
        init_filter_reg=optim_init_reg,
        gauss_sigma=gauss_sigma,
        detach_length=detach_length,
        alpha_eps=alpha_eps,
        init_uni_weight=init_uni_weight,
        min_filter_reg=optim_min_reg,
        normalize_label=normalize_label,
        label_shrink=label_shrink,
        softmax_reg=softmax_reg,
        label_threshold=label_threshold,
    )
    bb_regressor = AtomIoUNet(input_dim=(4 * 128, 4 * 256), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)
    return _assemble(
        backbone_net, clf_feature_extractor, initializer, optimizer, filter_size, classification_layer, bb_regressor
    )
