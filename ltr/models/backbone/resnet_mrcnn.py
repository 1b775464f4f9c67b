"""ResNet in the Mask R-CNN (Caffe / Detectron) layout, the backbone of the LWL video segmentation network.

He et al., "Mask R-CNN", ICCV 2017; He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.

Differences from :mod:`ltr.models.backbone.resnet`: the stride of a bottleneck sits on its first 1x1 convolution,
the ``'conv1'`` output is taken after the max pool, and there is no ``avgpool``/``fc``. Parameter names are those
of torchvision's ResNet (minus ``fc``), matching the ``feature_extractor.*`` entries of the LWL checkpoints.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn

from .base import Backbone
from .resnet import Bottleneck, init_resnet_weights, make_res_layer

__all__ = ["ResNet", "resnet50", "resnet101"]


class ResNet(Backbone):
    """Mask R-CNN-style bottleneck ResNet returning the feature maps of the requested layers.

    Outputs, in computation order: ``'conv1'`` (after ``bn1``, ReLU and the max pool, stride 4), ``'layer1'``
    (stride 4), ``'layer2'`` (8), ``'layer3'`` (16), ``'layer4'`` (32).

    Args:
        layers: number of bottleneck blocks in each of ``layer1..layer4``.
        output_layers: default layers returned by :meth:`forward` (default ``('layer4',)``).
        inplanes: channels of ``conv1``; stage widths are ``inplanes * (1, 2, 4, 8)`` (times 4 at the output).
        frozen_layers: see :class:`~ltr.models.backbone.base.Backbone`.
    """

    LAYER_NAMES = ("conv1", "layer1", "layer2", "layer3", "layer4")

    def __init__(
        self,
        layers: Sequence[int],
        output_layers: Iterable[str] | None = None,
        inplanes: int = 64,
        frozen_layers: str | Iterable[str] = (),
    ) -> None:
        super().__init__(frozen_layers=frozen_layers)
        if len(layers) != 4:
            raise ValueError(f"layers must give the block counts of the 4 stages, got {list(layers)}")
        self.output_layers = self._check_layers(("layer4",) if output_layers is None else output_layers)
        self._base_width = inplanes

        self.conv1 = nn.Conv2d(3, inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels_in = inplanes
        for idx, num_blocks in enumerate(layers):
            planes = inplanes * 2**idx
            stage = make_res_layer(
                Bottleneck, channels_in, planes, num_blocks, stride=1 if idx == 0 else 2, stride_in_1x1=True
            )
            self.add_module(f"layer{idx + 1}", stage)
            channels_in = planes * Bottleneck.expansion

        init_resnet_weights(self)
        self._freeze_layers()

    def _check_layers(self, layers: Iterable[str]) -> tuple[str, ...]:
        layers = tuple([layers] if isinstance(layers, str) else layers)
        unknown = [name for name in layers if name not in self.LAYER_NAMES]
        if unknown or not layers:
            raise ValueError(f"invalid output layers {list(layers)}; choose from {list(self.LAYER_NAMES)}")
        return layers

    def out_feature_strides(self, layer: str | None = None) -> dict[str, int] | int:
        """Stride of each output (a dict for ``layer=None``, else the stride of ``layer``)."""
        strides = {"conv1": 4, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
        return strides if layer is None else strides[self._check_layers(layer)[0]]

    def out_feature_channels(self, layer: str | None = None) -> dict[str, int] | int:
        """Channels of each output (a dict for ``layer=None``, else the channel count of ``layer``)."""
        w, e = self._base_width, Bottleneck.expansion
        channels = {"conv1": w, "layer1": w * e, "layer2": 2 * w * e, "layer3": 4 * w * e, "layer4": 8 * w * e}
        return channels if layer is None else channels[self._check_layers(layer)[0]]

    def forward(self, x: torch.Tensor, output_layers: Iterable[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """Compute the requested feature maps, stopping after the deepest one.

        Args:
            x: images (B, 3, H, W) (LWL feeds BGR images with Caffe mean subtraction, range [0, 255]).
            output_layers: layer names; defaults to the constructor's ``output_layers``.

        Returns:
            OrderedDict layer name -> (B, C, H/stride, W/stride) in computation order.
        """
        wanted = set(self.output_layers if output_layers is None else self._check_layers(output_layers))
        outputs: OrderedDict[str, torch.Tensor] = OrderedDict()
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.LAYER_NAMES:
            if name != "conv1":
                x = getattr(self, name)(x)
            if name in wanted:
                outputs[name] = x
                wanted.discard(name)
                if not wanted:
                    break
        return outputs


def _resnet(layers: Sequence[int], output_layers, pretrained: bool | str | os.PathLike, **kwargs) -> ResNet:
    model = ResNet(layers, output_layers, **kwargs)
    if pretrained is True:
        raise ValueError(
            "Mask R-CNN backbone weights are not downloaded automatically: pass pretrained=<path to a state dict "
            "with this module's keys> (e.g. converted from a Detectron Mask R-CNN model), or pretrained=False "
            "(backbone_pretrained=False for the LWL networks, whose checkpoints contain the backbone)."
        )
    if pretrained:
        model.load_state_dict(torch.load(pretrained, map_location="cpu", weights_only=True))
    return model


def resnet50(
    output_layers: Iterable[str] | None = None, pretrained: bool | str | os.PathLike = False, **kwargs
) -> ResNet:
    """Mask R-CNN-layout ResNet-50 (bottlenecks [3, 4, 6, 3]).

    Args:
        output_layers: default outputs of ``forward``.
        pretrained: False, or the path of a state-dict file to load (strict); True raises (no download source).
        **kwargs: further :class:`ResNet` arguments.

    Returns:
        The network.
    """
    return _resnet([3, 4, 6, 3], output_layers, pretrained, **kwargs)


def resnet101(
    output_layers: Iterable[str] | None = None, pretrained: bool | str | os.PathLike = False, **kwargs
) -> ResNet:
    """Mask R-CNN-layout ResNet-101 (bottlenecks [3, 4, 23, 3]); arguments as :func:`resnet50`."""
    return _resnet([3, 4, 23, 3], output_layers, pretrained, **kwargs)
