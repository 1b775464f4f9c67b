"""Deep features for the DCF-style trackers.

:class:`ATOMResNet18` runs the ResNet-18 backbone of an ATOM checkpoint (``atom_default.pth``, built by
``ltr.models.bbreg.atom.atom_resnet18``) and returns the classification layers (``layer3`` by default). The same
forward pass also yields what ATOM's IoU-Net needs: the backbone maps of its input layers (``layer2``,
``layer3``) and, on demand, the IoU-Net's test-branch features of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from pytracking.features.featurebase import MultiFeatureBase
from pytracking.features.net_wrappers import NetWithBackbone
from pytracking.libs.tensorlist import TensorList

__all__ = ["ATOMResNet18"]

# ResNet-18 output strides and channel counts.
_LAYER_STRIDE = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
_LAYER_DIM = {"conv1": 64, "layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}


class ATOMResNet18(MultiFeatureBase):
    """ResNet-18 features of an ATOM network, with access to its IoU predictor.

    The network is loaded on :meth:`initialize` (lazily, through
    :class:`~pytracking.features.net_wrappers.NetWithBackbone`: ``net_path`` is looked up in the ``network_path``
    setting) and runs on the GPU when ``use_gpu`` and CUDA is available. Patches are RGB in [0, 255]; they are
    scaled to [0, 1] and normalised with the ImageNet mean and standard deviation.

    After each :meth:`extract` (hence each ``get_feature``), :attr:`iounet_backbone_features` holds the backbone
    maps of the IoU-Net's input layers and :attr:`iounet_features` the IoU-Net features of them (computed on
    first access, so a tracker that does not use the IoU-Net does not pay for them).

    Args:
        output_layers: backbone layers returned as features (``'conv1'``, ``'layer1'`` ... ``'layer4'``).
        net_path: checkpoint file name, or name of a directory of ``*.pth.tar`` checkpoints (the latest is used, as
            for ``atom_prob_ml``); looked up in ``network_path``, or an absolute path.
        use_gpu: run on CUDA when available.
        *args, **kwargs: :class:`~pytracking.features.featurebase.FeatureBase` arguments (``fparams``,
            ``normalize_power``, ``pool_stride`` ...).
        trust: load the checkpoint without the safe-unpickling allowlist (see
            :func:`~pytracking.features.net_wrappers.trust_networks`).
    """

    def __init__(
        self,
        output_layers: Sequence[str] = ("layer3",),
        net_path: str = "atom_default.pth",
        use_gpu: bool = True,
        *args: Any,
        trust: bool = False,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        unknown = [layer for layer in output_layers if layer not in _LAYER_STRIDE]
        if unknown:
            raise ValueError(f"unknown ResNet-18 layers {unknown}; choose from {sorted(_LAYER_STRIDE)}")
        self.output_layers = list(output_layers)
        self.net_path = net_path
        self.use_gpu = use_gpu
        self.trust = trust
        self.net: NetWithBackbone | None = None
        self.iounet_backbone_features: TensorList | None = None
        self._iounet_features: TensorList | None = None

    def initialize(self) -> None:
        """Load the network (once)."""
        if self.net is None:
            self.net = NetWithBackbone(net_path=self.net_path, use_gpu=self.use_gpu, trust=self.trust)
        self.net.initialize()

    @property
    def device(self) -> torch.device:
        """Where the network runs (and where the features are)."""
        self.initialize()
        return self.net.device

    @property
    def iou_predictor(self) -> torch.nn.Module:
        """The IoU-Net (``bb_regressor``) of the checkpoint."""
        self.initialize()
        return self.net.bb_regressor

    @property
    def iounet_feature_layers(self) -> list[str]:
        """Backbone layers the IoU-Net takes, in its order (``['layer2', 'layer3']``)."""
        self.initialize()
        return list(self.net.bb_regressor_layer)

    @property
    def iounet_features(self) -> TensorList:
        """IoU-Net test-branch features (``get_iou_feat``) of the last extraction, one map per IoU-Net layer.

        Raises:
            AttributeError: nothing has been extracted yet.
        """
        if self.iounet_backbone_features is None:
            raise AttributeError("iounet_features: no patch has been extracted yet")
        if self._iounet_features is None:
            with torch.no_grad():
                feat = self.iou_predictor.get_iou_feat(list(self.iounet_backbone_features))
            self._iounet_features = TensorList(f.detach() for f in feat)
        return self._iounet_features

    def dim(self) -> TensorList:
        """Channels of each output layer."""
        return TensorList(_LAYER_DIM[layer] for layer in self.output_layers)

    def stride(self) -> TensorList:
        """Stride of each output layer, pooling included."""
        return TensorList(s * _LAYER_STRIDE[layer] for layer, s in zip(self.output_layers, self.pool_strides()))

    def extract(self, im: torch.Tensor) -> TensorList:
        """Backbone features of patches ``im`` ``(N, 3, H, W)`` (RGB, [0, 255]) for :attr:`output_layers`.

        Also stores the IoU-Net input layers of this batch (see the class docstring).
        """
        self.initialize()
        layers = sorted(set(self.output_layers) | set(self.iounet_feature_layers))
        with torch.no_grad():
            out = self.net.extract_features(self.net.preprocess_image(im), layers)
        self.iounet_backbone_features = TensorList(out[layer] for layer in self.iounet_feature_layers)
        self._iounet_features = None
        return TensorList(out[layer] for layer in self.output_layers)
