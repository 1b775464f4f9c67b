"""KYS network: a frozen DiMP-50 (backbone, target classifier, IoU-Net) plus the scene-propagation module.

Bhat et al., "Know Your Surroundings: Exploiting Scene Information for Object Tracking", ECCV 2020.

``kysnet_res50`` is recorded by :func:`ltr.admin.model_constructor.model_constructor`; checkpoints pickle this
module path (``ltr.models.tracking.kysnet``) and the factory name, and their state dicts depend on the registration
order ``backbone_feature_extractor``, ``dimp_classifier``, ``predictor``, ``bb_regressor``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn

from ltr.admin.model_constructor import model_constructor
from ltr.models.backbone import resnet as backbones
from ltr.models.bbreg.atom_iou_net import AtomIoUNet
from ltr.models.kys.cost_volume import CostVolume
from ltr.models.kys.predictor_wrapper import PredictorWrapper
from ltr.models.kys.response_predictor import ResponsePredictor
from ltr.models.target_classifier import features as clf_features
from ltr.models.target_classifier.linear_filter import LinearFilter
from ltr.models.tracking import dimpnet

__all__ = ["KYSNet", "kysnet_res50"]


class KYSNet(nn.Module):
    """KYS network.

    The backbone and the DiMP classifier are always in eval mode (see :meth:`train`) and the backbone parameters are
    frozen; only the predictor (and optionally the IoU-Net) are trained.

    Args:
        backbone_feature_extractor: Backbone; ``forward(im, layers)`` returns an OrderedDict layer name -> features.
        dimp_classifier: DiMP target classifier (:class:`LinearFilter`).
        predictor: Scene-propagation module (:class:`PredictorWrapper`).
        bb_regressor: IoU predictor (:class:`AtomIoUNet`).
        classification_layer: Backbone layer of the classifier and of the motion features (e.g. ``'layer3'``).
        bb_regressor_layer: Backbone layers of the IoU predictor (e.g. ``['layer2', 'layer3']``).
        train_feature_extractor: Must be False: training the backbone is not supported.
        train_iounet: Whether the IoU-Net is meant to be trained (stored for the training settings).
        motion_feat_extractor: Optional module mapping the backbone feature dict to motion features; by default
            the classification-layer features are used.
        motion_layer: Extra backbone layers needed by ``motion_feat_extractor``.

    Raises:
        ValueError: If ``train_feature_extractor`` is True or ``classification_layer`` is not a single layer name.
    """

    def __init__(
        self,
        backbone_feature_extractor: nn.Module,
        dimp_classifier: nn.Module,
        predictor: nn.Module,
        bb_regressor: nn.Module,
        classification_layer: str,
        bb_regressor_layer: Sequence[str],
        train_feature_extractor: bool = False,
        train_iounet: bool = True,
        motion_feat_extractor: nn.Module | None = None,
        motion_layer: Iterable[str] = (),
    ):
        super().__init__()
        if train_feature_extractor:
            raise ValueError(
                "KYSNet does not support training the backbone: pass train_feature_extractor=False "
                "(the released kys.pth was trained that way)"
            )
        if isinstance(classification_layer, (list, tuple)) and len(classification_layer) == 1:
            classification_layer = classification_layer[0]
        if not isinstance(classification_layer, str):
            raise ValueError(f"classification_layer must be a single layer name, got {classification_layer!r}")

        # Registration order fixes the state-dict key order.
        self.backbone_feature_extractor = backbone_feature_extractor
        self.dimp_classifier = dimp_classifier
        self.predictor = predictor
        self.bb_regressor = bb_regressor
        self.classification_layer = classification_layer
        self.bb_regressor_layer = list(bb_regressor_layer)
        self.motion_layer = list(motion_layer)
        self.output_layers = sorted({classification_layer, *self.bb_regressor_layer, *self.motion_layer})
        self.train_iounet = train_iounet
        self.motion_feat_extractor = motion_feat_extractor

        for p in self.backbone_feature_extractor.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> KYSNet:
        """Set the training mode of the predictor, IoU-Net and motion extractor; backbone and classifier stay in
        eval mode."""
        self.training = mode
        self.backbone_feature_extractor.train(False)
        self.dimp_classifier.train(False)
        self.predictor.train(mode)
        self.bb_regressor.train(mode)
        if self.motion_feat_extractor is not None:
            self.motion_feat_extractor.train(mode)
        return self

    def forward(self, *args, **kwargs):
        """Not used: training steps through the sequence with the individual methods (see the KYS actor)."""
        raise NotImplementedError("KYSNet has no single forward pass; use its feature and predictor methods")

    def train_classifier(self, train_imgs: torch.Tensor, train_bb: torch.Tensor) -> torch.Tensor:
        """Learn the DiMP filter on training frames.

        Args:
            train_imgs: Images (n_train, n_sequences, 3, H, W).
            train_bb: Target boxes (n_train, n_sequences, 4), ``[x, y, w, h]`` pixels.

        Returns:
            The final filters (n_sequences, C, fs, fs).
        """
        if train_imgs.dim() != 5:
            raise ValueError("train_imgs must be (n_train, n_sequences, 3, H, W)")
        num_sequences = train_imgs.shape[1]
        train_feat = self.extract_backbone_features(train_imgs)
        train_feat_clf = self.dimp_classifier.extract_classification_feat(
            self.get_backbone_clf_feat(train_feat), num_sequences
        )
        filter_weights, _, _ = self.dimp_classifier.get_filter(train_feat_clf, train_bb)
        return filter_weights

    def extract_backbone_features(
        self, im: torch.Tensor, layers: Iterable[str] | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """Backbone features of images (..., 3, H, W) for ``layers`` (default ``self.output_layers``)."""
        im = im.reshape(-1, *im.shape[-3:])
        if layers is None:
            layers = self.output_layers
        return self.backbone_feature_extractor(im, list(layers))

    def get_backbone_clf_feat(self, backbone_feat: dict[str, torch.Tensor]) -> torch.Tensor:
        """The classification-layer features."""
        return backbone_feat[self.classification_layer]

    def get_backbone_bbreg_feat(self, backbone_feat: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The IoU predictor's inputs, in ``bb_regressor_layer`` order."""
        return [backbone_feat[layer] for layer in self.bb_regressor_layer]

    def extract_classification_feat(self, backbone_feat: dict[str, torch.Tensor]) -> torch.Tensor:
        """DiMP classification features (B, C, H, W) from backbone features."""
        return self.dimp_classifier.extract_classification_feat(self.get_backbone_clf_feat(backbone_feat))

    def get_motion_feat(self, backbone_feat: dict[str, torch.Tensor]) -> torch.Tensor:
        """Features for the cost volume (B, C, H, W)."""
        if self.motion_feat_extractor is not None:
            return self.motion_feat_extractor(backbone_feat)
        return self.predictor.extract_motion_feat(backbone_feat[self.classification_layer])

    def extract_features(self, im: torch.Tensor, layers: Iterable[str]) -> OrderedDict[str, torch.Tensor]:
        """Backbone, classification (``'classification'``) and motion (``'motion'``) features.

        Args:
            im: Images (B, 3, H, W).
            layers: Names to return.

        Returns:
            OrderedDict name -> features, in the order of ``layers``.
        """
        layers = list(layers)
        if "classification" not in layers:
            return self.backbone_feature_extractor(im, layers)
        backbone_layers = sorted(
            {name for name in [*layers, self.classification_layer] if name not in ("classification", "motion")}
        )
        all_feat = self.backbone_feature_extractor(im, backbone_layers)
        all_feat["classification"] = self.extract_classification_feat(all_feat)
        all_feat["motion"] = self.get_motion_feat(all_feat)
        return OrderedDict((name, all_feat[name]) for name in layers)


@model_constructor
def kysnet_res50(
    filter_size: int = 4,
    optim_iter: int = 3,
    appearance_feature_dim: int = 512,
    optim_init_step: float = 0.9,
    optim_init_reg: float = 0.1,
    classification_layer: str = "layer3",
    backbone_pretrained: bool = True,
    clf_feat_blocks: int = 0,
    clf_feat_norm: bool = True,
    final_conv: bool = True,
    init_filter_norm: bool = False,
    mask_init_factor: float = 3.0,
    score_act: str = "relu",
    target_mask_act: str = "sigmoid",
    num_dist_bins: int = 100,
    bin_displacement: float = 0.1,
    detach_length: float = float("inf"),
    train_feature_extractor: bool = False,
    train_iounet: bool = True,
    iou_input_dim: Sequence[int] = (256, 256),
    iou_inter_dim: Sequence[int] = (256, 256),
    cv_kernel_size: int = 3,
    cv_max_displacement: int = 9,
    cv_stride: int = 1,
    init_gauss_sigma: float = 1.0,
    state_dim: int = 8,
    representation_predictor_dims: Sequence[int] = (64, 32),
    gru_ksz: int = 3,
    conf_measure: str = "max",
    dimp_thresh: float | None = None,
) -> KYSNet:
    """KYS with a ResNet-50 backbone and a DiMP-50 classifier.

    The defaults are those of the original factory except ``train_feature_extractor``, which defaults to False
    (the only supported value; the original's default True failed an assertion, True here raises ``ValueError``).
    The released ``kys.pth`` was built with ``optim_iter=3``, ``init_gauss_sigma=4.5``, ``train_iounet=False``,
    ``detach_length=0``, ``state_dim=8``,
    ``representation_predictor_dims=(16,)``, ``conf_measure='entropy'``, ``dimp_thresh=0.05``.

    Args:
        filter_size: Side of the DiMP filter.
        optim_iter: Steepest-descent iterations of the DiMP optimizer.
        appearance_feature_dim: Classification feature channels.
        optim_init_step: Initial step-length factor.
        optim_init_reg: Initial filter regularisation.
        classification_layer: Backbone layer of the classifier and of the cost volume.
        backbone_pretrained: Load torchvision ImageNet weights into the backbone.
        clf_feat_blocks: Bottleneck blocks of the classification feature block.
        clf_feat_norm: End the feature block with instance L2 normalisation.
        final_conv: End the feature block with a 3x3 convolution.
        init_filter_norm: Normalise the initial filter by ``C * fs^2``.
        mask_init_factor: Initial target-mask scale.
        score_act: ``'relu'`` or ``'bentpar'``.
        target_mask_act: ``'sigmoid'`` or ``'linear'``.
        num_dist_bins: Distance bins of the label/mask/weight predictors.
        bin_displacement: Distance between bins (cells).
        detach_length: Optimizer iterations to backpropagate through.
        train_feature_extractor: Must be False.
        train_iounet: Whether the IoU-Net is trained (stored on the network).
        iou_input_dim: IoU-Net ``pred_input_dim``.
        iou_inter_dim: IoU-Net ``pred_inter_dim``.
        cv_kernel_size: Correlation window of the cost volume.
        cv_max_displacement: Largest displacement of the cost volume (cells).
        cv_stride: Stride of the cost volume.
        init_gauss_sigma: Initial label-function width of the DiMP optimizer (cells).
        state_dim: Channels of the state vectors.
        representation_predictor_dims: Channels of the representation convolutions.
        gru_ksz: Kernel size of the ConvGRU and the target decoder.
        conf_measure: Propagation confidence: ``'max'``, ``'entropy'`` or ``'none'``.
        dimp_thresh: Default DiMP-score threshold for masking the fused score.

    Returns:
        The network.

    Raises:
        ValueError: If ``train_feature_extractor`` is True or ``conf_measure`` is unknown.
    """
    if train_feature_extractor:
        raise ValueError(
            "kysnet_res50 does not support training the backbone: pass train_feature_extractor=False "
            "(the released kys.pth was trained that way)"
        )
    backbone_net = backbones.resnet50(pretrained=backbone_pretrained)

    clf_feature_extractor = clf_features.residual_bottleneck(
        num_blocks=clf_feat_blocks,
        l2norm=clf_feat_norm,
        final_conv=final_conv,
        norm_scale=dimpnet.norm_scale(clf_feat_norm, appearance_feature_dim, filter_size),
        out_dim=appearance_feature_dim,
    )
    initializer, optimizer = dimpnet.dimp_gn_learner(
        filter_size,
        appearance_feature_dim,
        init_filter_norm,
        16,
        optim_iter,
        optim_init_step,
        optim_init_reg,
        init_gauss_sigma,
        num_dist_bins,
        bin_displacement,
        mask_init_factor,
        score_act,
        None,
        target_mask_act,
        detach_length,
    )
    classifier = LinearFilter(
        filter_size=filter_size,
        filter_initializer=initializer,
        filter_optimizer=optimizer,
        feature_extractor=clf_feature_extractor,
    )
    bb_regressor = AtomIoUNet(input_dim=(4 * 128, 4 * 256), pred_input_dim=iou_input_dim, pred_inter_dim=iou_inter_dim)

    cost_volume = CostVolume(cv_kernel_size, cv_max_displacement, stride=cv_stride, abs_coordinate_output=True)
    response_predictor = ResponsePredictor(
        state_dim=state_dim,
        representation_predictor_dims=representation_predictor_dims,
        gru_ksz=gru_ksz,
        conf_measure=conf_measure,
        dimp_thresh=dimp_thresh,
    )
    return KYSNet(
        backbone_feature_extractor=backbone_net,
        dimp_classifier=classifier,
        predictor=PredictorWrapper(cost_volume, response_predictor),
        bb_regressor=bb_regressor,
        classification_layer=classification_layer,
        bb_regressor_layer=["layer2", "layer3"],
        train_feature_extractor=train_feature_extractor,
        train_iounet=train_iounet,
    )
