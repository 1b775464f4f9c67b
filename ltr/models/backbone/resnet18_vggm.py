"""ResNet-18 with an extra VGG-M first layer, the deep feature network of the ECO tracker.

Danelljan et al., "ECO: Efficient Convolution Operators for Tracking", CVPR 2017 (shallow VGG-M conv1 features
combined with deep ResNet features); Chatfield et al., "Return of the Devil in the Details", BMVC 2014 (VGG-M).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn

from .resnet import BasicBlock, ResNet, init_resnet_weights

__all__ = ["ResNetVGGm1", "resnet18_vggmconv1"]

logger = logging.getLogger(__name__)


class ResNetVGGm1(ResNet):
    """ResNet plus a parallel VGG-M ``conv1`` branch (conv 7x7/2 + ReLU + local response normalisation).

    The VGG-M branch reads the input image, like ``conv1`` of the ResNet; its output ``'vggconv1'`` (96 channels,
    stride 2) is available next to the ResNet outputs. ``vggmconv1``/``vgglrn`` are registered after the ResNet
    modules, which only changes the state-dict order, not the keys.

    Args:
        block: residual block class.
        layers: number of blocks per ResNet stage.
        output_layers: default outputs of :meth:`forward`, among ``'vggconv1'`` and the :class:`ResNet` layers.
        frozen_layers: see :class:`~ltr.models.backbone.base.Backbone` (may include ``'vggmconv1'``).
        **kwargs: further :class:`ResNet` arguments.
    """

    LAYER_NAMES = ("vggconv1",) + ResNet.LAYER_NAMES

    def __init__(
        self,
        block: type[BasicBlock],
        layers: Sequence[int],
        output_layers: Iterable[str] | None = None,
        frozen_layers: str | Iterable[str] = (),
        **kwargs,
    ) -> None:
        # Freezing is applied below, once the VGG-M modules exist and can be named in frozen_layers.
        super().__init__(block, layers, output_layers, frozen_layers=(), **kwargs)
        self.vggmconv1 = nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=3, bias=True)
        self.vgglrn = nn.LocalResponseNorm(size=5, alpha=0.0005, beta=0.75, k=2.0)
        init_resnet_weights(self.vggmconv1)
        nn.init.zeros_(self.vggmconv1.bias)
        self.frozen_layers = self._normalize_frozen_layers(frozen_layers)
        self._freeze_layers()

    def out_feature_strides(self, layer: str | None = None) -> dict[str, int] | int:
        """As :meth:`ResNet.out_feature_strides`, plus ``'vggconv1'`` (stride 2)."""
        if layer == "vggconv1":
            return 2
        strides = super().out_feature_strides(layer)
        return {"vggconv1": 2, **strides} if layer is None else strides

    def out_feature_channels(self, layer: str | None = None) -> dict[str, int] | int:
        """As :meth:`ResNet.out_feature_channels`, plus ``'vggconv1'`` (96 channels)."""
        if layer == "vggconv1":
            return 96
        channels = super().out_feature_channels(layer)
        return {"vggconv1": 96, **channels} if layer is None else channels

    def forward(self, x: torch.Tensor, output_layers: Iterable[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """Compute the requested feature maps.

        Args:
            x: images (B, 3, H, W).
            output_layers: names among ``'vggconv1'`` and the ResNet outputs; defaults to the constructor's.

        Returns:
            OrderedDict name -> tensor; ``'vggconv1'`` first when requested, then the ResNet outputs in
            computation order. ``'vggconv1'`` is (B, 96, ceil(H/2), ceil(W/2)).
        """
        layers = self.output_layers if output_layers is None else self._check_layers(output_layers)
        outputs: OrderedDict[str, torch.Tensor] = OrderedDict()
        if "vggconv1" in layers:
            outputs["vggconv1"] = self.vgglrn(self.relu(self.vggmconv1(x)))
        resnet_layers = [name for name in layers if name != "vggconv1"]
        if resnet_layers:
            outputs.update(super().forward(x, resnet_layers))
        return outputs


def resnet18_vggmconv1(
    output_layers: Iterable[str] | None = None, path: str | os.PathLike | None = None, **kwargs
) -> ResNetVGGm1:
    """ResNet-18 with the VGG-M conv1 branch (ECO features).

    Args:
        output_layers: default outputs of ``forward``.
        path: optional file holding a raw state dict (e.g. ``resnet18_vggmconv1.pth``). It is loaded non-strictly,
            as the original released file may not cover every key; missing and unexpected keys are logged.
        **kwargs: further :class:`ResNetVGGm1` arguments.

    Returns:
        The network.
    """
    model = ResNetVGGm1(BasicBlock, [2, 2, 2, 2], output_layers, **kwargs)
    if path is not None:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
        result = model.load_state_dict(state_dict, strict=False)
        if result.missing_keys:
            logger.warning("resnet18_vggmconv1: keys missing from %s: %s", path, result.missing_keys)
        if result.unexpected_keys:
            logger.warning("resnet18_vggmconv1: unexpected keys in %s: %s", path, result.unexpected_keys)
    return model
