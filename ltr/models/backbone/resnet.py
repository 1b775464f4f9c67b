"""ResNet backbones returning intermediate feature maps.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.

Module and parameter names follow torchvision's ``ResNet`` exactly (``conv1``, ``bn1``, ``layer1..4``, ``fc``,
``downsample.0/.1``), so torchvision ImageNet weights and the official pytracking checkpoints (which store the
backbone under ``feature_extractor.``) load without renaming. The classifier ``fc`` is unused by the trackers but
kept because every checkpoint contains it.
"""

from __future__ import annotations

import math
import os
import pickle
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn

from .base import Backbone

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "init_resnet_weights",
    "load_torchvision_weights",
    "make_res_layer",
    "resnet18",
    "resnet50",
    "resnet101",
    "resnet_baby",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution without bias whose padding keeps the size (up to the stride) for any dilation."""
    return nn.Conv2d(
        in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, dilation=dilation, bias=False
    )


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or projection) shortcut; used by ResNet-18/34.

    Args:
        inplanes: input channels.
        planes: output channels (``expansion == 1``).
        stride: stride of the first convolution.
        downsample: shortcut projection applied to the input when shapes differ, or None for identity.
        dilation: dilation (and padding) of the convolutions at the output resolution.
        use_bn: with False, the block has no batch norms (no ``bn1``/``bn2`` entries in the state dict).
        first_dilation: dilation of ``conv1``, which reads the input resolution (default ``dilation``); differs
            from ``dilation`` in the first block of a stage whose stride was replaced by dilation.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        dilation: int = 1,
        use_bn: bool = True,
        first_dilation: int | None = None,
    ) -> None:
        super().__init__()
        self.use_bn = use_bn
        self.conv1 = conv3x3(inplanes, planes, stride, dilation=dilation if first_dilation is None else first_dilation)
        if use_bn:
            self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, dilation=dilation)
        if use_bn:
            self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, inplanes, H, W). Returns: (B, planes, H/stride, W/stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv1(x)
        if self.use_bn:
            out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        if self.use_bn:
            out = self.bn2(out)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4) with a shortcut; used by ResNet-50/101.

    Args:
        inplanes: input channels.
        planes: width of the inner convolutions; the block outputs ``planes * 4`` channels.
        stride: spatial stride of the block.
        downsample: shortcut projection applied to the input when shapes differ, or None for identity.
        dilation: dilation (and padding) of the 3x3 convolution when it works at the output resolution.
        stride_in_1x1: put the stride on the first 1x1 convolution (Caffe / Mask R-CNN layout) instead of the 3x3
            one (torchvision layout). Parameter names and shapes are the same either way.
        first_dilation: dilation of the 3x3 convolution when it carries the stride (torchvision layout), i.e.
            works at the input resolution (default ``dilation``).
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        dilation: int = 1,
        stride_in_1x1: bool = False,
        first_dilation: int | None = None,
    ) -> None:
        super().__init__()
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        dilation_3x3 = dilation if stride_in_1x1 or first_dilation is None else first_dilation
        self.conv1 = conv1x1(inplanes, planes, stride=stride_1x1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride=stride_3x3, dilation=dilation_3x3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, inplanes, H, W). Returns: (B, 4 * planes, H/stride, W/stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_res_layer(
    block: type[BasicBlock] | type[Bottleneck],
    inplanes: int,
    planes: int,
    num_blocks: int,
    stride: int = 1,
    dilation: int = 1,
    first_dilation: int | None = None,
    **block_kwargs,
) -> nn.Sequential:
    """Stack ``num_blocks`` residual blocks into one ResNet stage.

    The first block gets a projection shortcut ``Sequential(conv1x1(stride), BatchNorm2d)`` (state-dict keys
    ``0.downsample.0`` / ``0.downsample.1``) whenever it changes the resolution or the channel count.

    Args:
        block: block class.
        inplanes: input channels of the stage.
        planes: block width; the stage outputs ``planes * block.expansion`` channels.
        num_blocks: number of blocks.
        stride: stride of the first block.
        dilation: dilation of the convolutions at the stage's output resolution.
        first_dilation: dilation of the first block's convolution that carries the stride and hence reads the
            input resolution (defaults to ``dilation``).
        **block_kwargs: extra keyword arguments for every block (e.g. ``use_bn``, ``stride_in_1x1``).

    Returns:
        The stage as an ``nn.Sequential`` of blocks.
    """
    out_planes = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_planes:
        downsample = nn.Sequential(conv1x1(inplanes, out_planes, stride), nn.BatchNorm2d(out_planes))
    first = block(
        inplanes, planes, stride, downsample, dilation=dilation, first_dilation=first_dilation, **block_kwargs
    )
    blocks = [first]
    blocks += [block(out_planes, planes, dilation=dilation, **block_kwargs) for _ in range(1, num_blocks)]
    return nn.Sequential(*blocks)


def init_resnet_weights(module: nn.Module) -> None:
    """He initialisation: conv weights ~ N(0, sqrt(2 / (k_h * k_w * out_channels))), batch norm weight 1, bias 0.

    Linear layers keep PyTorch's default initialisation.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _select(table: dict[str, int], layer: str | None, what: str) -> dict[str, int] | int:
    if layer is None:
        return dict(table)
    if layer not in table:
        raise ValueError(f"no {what} for layer {layer!r}; valid layers: {list(table)}")
    return table[layer]


class ResNet(Backbone):
    """ResNet returning the feature maps of the requested layers.

    Available outputs, in computation order: ``'conv1'`` (after ``bn1`` + ReLU, before the max pool, stride 2),
    ``'layer1'`` (stride 4), ``'layer2'`` (8), ``'layer3'`` (16), ``'layer4'`` (32) and ``'fc'`` (ImageNet
    logits after global average pooling).

    ``dilation_factor`` (1, 2, 4 or 8) trades strides for dilation to get denser deep features: with 2 the stride
    of ``layer4`` is replaced by dilation 2 (output stride 16); with 4, the stride of ``layer3`` is replaced too
    (layer3 dilation 2, layer4 dilation 4, output stride 8); with 8, also that of ``layer2`` (output stride 4). As in
    torchvision, the first block of a stage whose stride was removed keeps the previous dilation, which makes the
    dilated network sample the same input positions as the strided one: its outputs are the strided network's
    outputs computed densely. Parameter shapes are unchanged, so the
    same weights load.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: number of blocks in each of ``layer1..layer4`` (four entries).
        output_layers: default layers returned by :meth:`forward` (default ``('layer4',)``).
        num_classes: outputs of ``fc``.
        inplanes: channels of ``conv1``; stage widths are ``inplanes * (1, 2, 4, 8)`` (times the block expansion).
        dilation_factor: see above.
        frozen_layers: see :class:`Backbone`.
    """

    LAYER_NAMES = ("conv1", "layer1", "layer2", "layer3", "layer4", "fc")

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        output_layers: Iterable[str] | None = None,
        num_classes: int = 1000,
        inplanes: int = 64,
        dilation_factor: int = 1,
        frozen_layers: str | Iterable[str] = (),
    ) -> None:
        super().__init__(frozen_layers=frozen_layers)
        if dilation_factor not in (1, 2, 4, 8):
            raise ValueError(f"dilation_factor must be one of 1, 2, 4, 8, got {dilation_factor}")
        if len(layers) != 4:
            raise ValueError(f"layers must give the block counts of the 4 stages, got {list(layers)}")
        self.output_layers = self._check_layers(("layer4",) if output_layers is None else output_layers)
        self.dilation_factor = dilation_factor
        self._base_width = inplanes
        self._expansion = block.expansion
        self._num_classes = num_classes

        self.conv1 = nn.Conv2d(3, inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        channels_in = inplanes
        dilation = 1
        for idx, num_blocks in enumerate(layers):
            # Stage idx (0-based) normally halves the resolution for idx >= 1; a large enough dilation_factor
            # replaces that stride with dilation, starting from the deepest stage.
            nominal_stride = 1 if idx == 0 else 2
            replace = idx > 0 and dilation_factor >= 2 ** (len(layers) - idx)
            prev_dilation = dilation
            if replace:
                dilation *= nominal_stride
            planes = inplanes * 2**idx
            stage = make_res_layer(
                block,
                channels_in,
                planes,
                num_blocks,
                stride=1 if replace else nominal_stride,
                dilation=dilation,
                first_dilation=prev_dilation,
            )
            self.add_module(f"layer{idx + 1}", stage)
            channels_in = planes * block.expansion

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels_in, num_classes)

        init_resnet_weights(self)
        self._freeze_layers()

    def _check_layers(self, layers: Iterable[str]) -> tuple[str, ...]:
        layers = tuple([layers] if isinstance(layers, str) else layers)
        unknown = [name for name in layers if name not in self.LAYER_NAMES]
        if unknown or not layers:
            raise ValueError(f"invalid output layers {list(layers)}; choose from {list(self.LAYER_NAMES)}")
        return layers

    def out_feature_strides(self, layer: str | None = None) -> dict[str, int] | int:
        """Stride (input pixels per feature cell) of each spatial output.

        Args:
            layer: one of ``'conv1'``, ``'layer1'``..``'layer4'``; None for all of them.

        Returns:
            The stride of ``layer``, or a dict layer name -> stride.
        """
        max_stride = 32 // self.dilation_factor
        strides = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
        return _select({k: min(v, max_stride) for k, v in strides.items()}, layer, "stride")

    def out_feature_channels(self, layer: str | None = None) -> dict[str, int] | int:
        """Number of channels of each output.

        Args:
            layer: one of ``'conv1'``, ``'layer1'``..``'layer4'``, ``'fc'``; None for all of them.

        Returns:
            The channel count of ``layer``, or a dict layer name -> channels.
        """
        w, e = self._base_width, self._expansion
        channels = {"conv1": w, "layer1": w * e, "layer2": 2 * w * e, "layer3": 4 * w * e, "layer4": 8 * w * e}
        channels["fc"] = self._num_classes
        return _select(channels, layer, "channel count")

    def forward(self, x: torch.Tensor, output_layers: Iterable[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """Compute the requested feature maps, stopping after the deepest one.

        Args:
            x: images (B, 3, H, W), normalised with the ImageNet mean/std.
            output_layers: layer names (see class docstring); defaults to the constructor's ``output_layers``.

        Returns:
            OrderedDict layer name -> tensor in computation order; feature maps are (B, C, H/stride, W/stride),
            ``'fc'`` is (B, num_classes).
        """
        wanted = set(self.output_layers if output_layers is None else self._check_layers(output_layers))
        outputs: OrderedDict[str, torch.Tensor] = OrderedDict()

        def done(name: str, value: torch.Tensor) -> bool:
            if name in wanted:
                outputs[name] = value
                wanted.discard(name)
            return not wanted

        x = self.relu(self.bn1(self.conv1(x)))
        if done("conv1", x):
            return outputs
        x = self.maxpool(x)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(self, name)(x)
            if done(name, x):
                return outputs
        x = self.fc(torch.flatten(self.avgpool(x), 1))
        done("fc", x)
        return outputs


# torchvision weight enums matching the ImageNet models used by the original code (the "V1" weights).
_TORCHVISION_WEIGHTS = {
    "resnet18": "ResNet18_Weights",
    "resnet50": "ResNet50_Weights",
    "resnet101": "ResNet101_Weights",
}


def load_torchvision_weights(model: nn.Module, arch: str) -> None:
    """Load torchvision's ImageNet (``IMAGENET1K_V1``) weights of ``arch`` into ``model`` (strict).

    The file is read from torch.hub's cache (``$TORCH_HOME/hub/checkpoints``) and downloaded there if missing.

    Args:
        model: a network with torchvision ResNet key names.
        arch: ``'resnet18'``, ``'resnet50'`` or ``'resnet101'``.

    Raises:
        ValueError: ``arch`` has no torchvision weights.
        RuntimeError: the weights could not be downloaded or read; the message says where to put the file.
    """
    if arch not in _TORCHVISION_WEIGHTS:
        raise ValueError(f"no torchvision ImageNet weights for {arch!r}; available: {list(_TORCHVISION_WEIGHTS)}")
    # Imported here so that building a randomly initialised backbone does not need torchvision.
    from torchvision import models as tv_models

    enum_name = _TORCHVISION_WEIGHTS[arch]
    weights = getattr(tv_models, enum_name).IMAGENET1K_V1
    url = weights.url
    model_dir = os.path.join(torch.hub.get_dir(), "checkpoints")
    cached_file = os.path.join(model_dir, os.path.basename(url))
    try:
        state_dict = torch.hub.load_state_dict_from_url(
            url, model_dir=model_dir, map_location="cpu", progress=False, check_hash=True, weights_only=True
        )
    except (OSError, RuntimeError, pickle.UnpicklingError) as err:
        raise RuntimeError(
            f"Could not load the ImageNet weights torchvision.models.{enum_name}.IMAGENET1K_V1 for {arch} "
            f"from {url} ({type(err).__name__}: {err}). The weights cache is {model_dir} (set by the TORCH_HOME "
            f"environment variable). Without internet access, download the file on another machine and copy it "
            f"to {cached_file}; or build the network with pretrained=False (backbone_pretrained=False for the "
            f"tracking networks, whose checkpoints contain the backbone weights anyway)."
        ) from err
    model.load_state_dict(state_dict)


def _resnet(
    arch: str,
    block: type[BasicBlock] | type[Bottleneck],
    layers: Sequence[int],
    output_layers: Iterable[str] | None,
    pretrained: bool,
    **kwargs,
) -> ResNet:
    model = ResNet(block, layers, output_layers, **kwargs)
    if pretrained:
        load_torchvision_weights(model, arch)
    return model


def resnet18(output_layers: Iterable[str] | None = None, pretrained: bool = False, **kwargs) -> ResNet:
    """ResNet-18 (BasicBlocks [2, 2, 2, 2], layer4 with 512 channels).

    Args:
        output_layers: default outputs of ``forward``.
        pretrained: load torchvision's ImageNet weights (see :func:`load_torchvision_weights`).
        **kwargs: further :class:`ResNet` arguments (``dilation_factor``, ``frozen_layers``, ...).

    Returns:
        The network.
    """
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], output_layers, pretrained, **kwargs)


def resnet50(output_layers: Iterable[str] | None = None, pretrained: bool = False, **kwargs) -> ResNet:
    """ResNet-50 (Bottlenecks [3, 4, 6, 3], layer4 with 2048 channels); arguments as :func:`resnet18`."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], output_layers, pretrained, **kwargs)


def resnet101(output_layers: Iterable[str] | None = None, pretrained: bool = False, **kwargs) -> ResNet:
    """ResNet-101 (Bottlenecks [3, 4, 23, 3], layer4 with 2048 channels); arguments as :func:`resnet18`."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], output_layers, pretrained, **kwargs)


def resnet_baby(
    output_layers: Iterable[str] | None = None, pretrained: bool = False, inplanes: int = 16, **kwargs
) -> ResNet:
    """Small ResNet-18-shaped network (BasicBlocks [2, 2, 2, 2]) with stage widths ``inplanes * (1, 2, 4, 8)``.

    Args:
        output_layers: default outputs of ``forward``.
        pretrained: must be False; there are no ImageNet weights for this size.
        inplanes: channels of ``conv1`` and ``layer1``.
        **kwargs: further :class:`ResNet` arguments.

    Returns:
        The network.
    """
    if pretrained:
        raise ValueError("resnet_baby has no pretrained weights; use pretrained=False")
    return ResNet(BasicBlock, [2, 2, 2, 2], output_layers, inplanes=inplanes, **kwargs)
