"""The LWL segmentation decoder.

Turns the target model's coarse mask encoding (stride 16) into full-resolution segmentation scores, using the
backbone features of ``layer4`` (stride 32) down to ``layer1`` (stride 4), deepest first. Each level has four
stages (the names are those of the state dict): ``TSE`` (target segmentation encoder: reduce the backbone features
with 1x1 convolutions, concatenate the resized mask encoding, three 3x3 convolutions), ``RRB1`` (residual
refinement block), ``CAB`` (channel attention block: channel weights from globally pooled features, plus the
upsampled coarser output) and ``RRB2``. Between levels, ``proj`` (1x1 convolution + ReLU) adapts the channel count
of the coarser output. ``project`` upsamples to the image size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["interpolate", "adaptive_cat", "TSE", "CAB", "RRB", "Upsampler", "LWTLDecoder"]

# Width multiplier of each level relative to the decoder width ``out_channels``.
_LEVEL_WIDTH = {"layer1": 1, "layer2": 2, "layer3": 2, "layer4": 4}


def interpolate(t: torch.Tensor, size: Sequence[int], mode: str = "bilinear") -> torch.Tensor:
    """Resize a (B, C, H, W) tensor to ``size`` (returned unchanged when it already has that size)."""
    size = tuple(int(s) for s in size)
    if tuple(t.shape[-2:]) == size:
        return t
    if mode == "nearest":
        return F.interpolate(t, size, mode=mode)
    return F.interpolate(t, size, mode=mode, align_corners=False)


def adaptive_cat(seq: Sequence[torch.Tensor], dim: int = 0, ref_tensor: int = 0, mode: str = "bilinear"):
    """Concatenate 4-D tensors after resizing all of them to the spatial size of ``seq[ref_tensor]``."""
    size = seq[ref_tensor].shape[-2:]
    return torch.cat([interpolate(t, size, mode=mode) for t in seq], dim=dim)


def _conv(in_channels: int, out_channels: int, ksize: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, ksize, padding=ksize // 2, bias=bias)


class TSE(nn.Module):
    """Target segmentation encoder of one level.

    Args:
        fc: Channels of the backbone features.
        ic: Channels of the mask encoding.
        oc: Output channels.
    """

    def __init__(self, fc: int, ic: int, oc: int):
        super().__init__()
        nc = ic + oc
        self.reduce = nn.Sequential(_conv(fc, oc, 1), nn.ReLU(), _conv(oc, oc, 1))
        self.transform = nn.Sequential(
            _conv(nc, nc, 3), nn.ReLU(), _conv(nc, nc, 3), nn.ReLU(), _conv(nc, oc, 3), nn.ReLU()
        )

    def forward(
        self, ft: torch.Tensor, score: torch.Tensor, x: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: ft (B, fc, H, W); score (B, ic, h, w); x: coarser decoder output (B, oc, h', w') or None.

        Returns:
            ``(h, hpool)``: encoded features (B, oc, H, W) and the "deeper" input of the CAB: ``x``, or for the
            deepest level the global average of the reduced features (B, oc, 1, 1).
        """
        h = self.reduce(ft)
        hpool = F.adaptive_avg_pool2d(h, (1, 1)) if x is None else x
        h = self.transform(adaptive_cat((h, score), dim=1, ref_tensor=0))
        return h, hpool


class CAB(nn.Module):
    """Channel attention block: re-weights the channels of the finer features and adds the coarser ones.

    Args:
        oc: Channels of both inputs.
        deepest: The "deeper" input is already globally pooled (deepest level).
    """

    def __init__(self, oc: int, deepest: bool):
        super().__init__()
        self.convreluconv = nn.Sequential(_conv(2 * oc, oc, 1), nn.ReLU(), _conv(oc, oc, 1))
        self.deepest = deepest

    def forward(
        self, deeper: torch.Tensor, shallower: torch.Tensor, att_vec: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Args: deeper (B, oc, h, w); shallower (B, oc, H, W); att_vec: extra (B, k, 1, 1) attention input (the
        first convolution must then have ``2 * oc + k`` inputs). Returns (B, oc, H, W)."""
        shallow_pool = F.adaptive_avg_pool2d(shallower, (1, 1))
        deeper_pool = deeper if self.deepest else F.adaptive_avg_pool2d(deeper, (1, 1))
        pooled = [shallow_pool, deeper_pool] + ([] if att_vec is None else [att_vec])
        weights = torch.sigmoid(self.convreluconv(torch.cat(pooled, dim=1)))
        out = shallower * weights
        return out + interpolate(deeper, out.shape[-2:])


class RRB(nn.Module):
    """Residual refinement block: ``h = conv1x1(x)``, ``relu(h + conv3x3(relu([bn](conv3x3(h)))))``.

    Args:
        oc: Channels.
        use_bn: Batch norm after the first 3x3 convolution.
    """

    def __init__(self, oc: int, use_bn: bool = False):
        super().__init__()
        self.conv1x1 = _conv(oc, oc, 1)
        layers: list[nn.Module] = [_conv(oc, oc, 3)]
        if use_bn:
            layers.append(nn.BatchNorm2d(oc))
        layers += [nn.ReLU(), _conv(oc, oc, 3, bias=False)]
        self.bblock = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, oc, H, W). Returns (B, oc, H, W)."""
        h = self.conv1x1(x)
        return F.relu(h + self.bblock(h))


class Upsampler(nn.Module):
    """Final upsampling: bicubic x2, 3x3 conv + ReLU, bicubic to the image size, 3x3 conv to one channel.

    Args:
        in_channels: Input channels (the first convolution halves them).
    """

    def __init__(self, in_channels: int = 64):
        super().__init__()
        self.conv1 = _conv(in_channels, in_channels // 2, 3)
        self.conv2 = _conv(in_channels // 2, 1, 3)

    def forward(self, x: torch.Tensor, image_size: Sequence[int]) -> torch.Tensor:
        """Args: x (B, in_channels, h, w); image_size: output ``(H, W)`` (extra leading entries ignored).

        Returns:
            Scores (B, 1, H, W).
        """
        x = F.interpolate(x, (2 * x.shape[-2], 2 * x.shape[-1]), mode="bicubic", align_corners=False)
        x = F.relu(self.conv1(x))
        x = F.interpolate(x, tuple(int(s) for s in image_size[-2:]), mode="bicubic", align_corners=False)
        return self.conv2(x)


class LWTLDecoder(nn.Module):
    """Segmentation decoder of LWL.

    Args:
        in_channels: Channels of the mask encoding (number of target-model filters).
        out_channels: Decoder width ``m``; the levels have ``m * {layer4: 4, layer3: 2, layer2: 2, layer1: 1}``
            channels.
        ft_channels: Ordered mapping ``layer name -> backbone channels``, deepest layer first (e.g. layer4 ..
            layer1); the deepest is ``layer4`` if present, else ``layer3``.
        use_bn: Batch norm inside the residual refinement blocks.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 32,
        ft_channels: Mapping[str, int] | None = None,
        use_bn: bool = False,
    ):
        super().__init__()
        if ft_channels is None:
            raise ValueError("ft_channels (layer name -> backbone channels) is required")
        self.ft_channels = OrderedDict(ft_channels)

        # Attribute order fixes the state-dict order: TSE, RRB1, CAB, RRB2, proj, project.
        self.TSE = nn.ModuleDict()
        self.RRB1 = nn.ModuleDict()
        self.CAB = nn.ModuleDict()
        self.RRB2 = nn.ModuleDict()
        self.proj = nn.ModuleDict()

        last_layer = "layer4" if "layer4" in self.ft_channels else "layer3"
        out_feature_channels = {}
        prev_layer = None
        for name, fc in self.ft_channels.items():
            width = _LEVEL_WIDTH[name] * out_channels
            if name != last_layer:
                self.proj[name] = nn.Sequential(_conv(_LEVEL_WIDTH[prev_layer] * out_channels, width, 1), nn.ReLU())
            self.TSE[name] = TSE(fc, in_channels, width)
            self.RRB1[name] = RRB(width, use_bn=use_bn)
            self.CAB[name] = CAB(width, name == last_layer)
            self.RRB2[name] = RRB(width, use_bn=use_bn)
            out_feature_channels[f"{name}_dec"] = width
            prev_layer = name

        self.project = Upsampler(out_channels)
        self._out_feature_channels = out_feature_channels

    def out_feature_channels(self) -> dict[str, int]:
        """Channels of the intermediate outputs ``'<layer>_dec'``."""
        return dict(self._out_feature_channels)

    def forward(
        self,
        scores: torch.Tensor,
        features: Mapping[str, torch.Tensor],
        image_size: Sequence[int],
        output_layers: Sequence[str] = (),
        num_objects: int | None = None,
    ) -> tuple[torch.Tensor, OrderedDict[str, torch.Tensor]]:
        """Decode.

        Args:
            scores: Mask encodings (n_frames, n_sequences, in_channels, h, w) (a 4-D (B, in_channels, h, w) tensor
                is accepted too), or (n_frames, n_sequences, num_objects, in_channels, h, w) with ``num_objects``.
            features: Backbone features per layer, (B, C, H_l, W_l) with ``B = n_frames * n_sequences``.
            image_size: Output size ``(H, W)`` (extra leading entries ignored).
            output_layers: Names ``'<layer>_dec'`` of intermediate decoder outputs to return.
            num_objects: Several objects share each feature map (their encodings are decoded separately).

        Returns:
            ``(mask_scores, outputs)``: scores (B * num_objects, 1, H, W) and the requested intermediate outputs.
        """
        scores = scores.reshape(-1, *scores.shape[-3:])
        outputs: OrderedDict[str, torch.Tensor] = OrderedDict()
        x = None
        for name in self.ft_channels:
            ft = features[name]
            if num_objects is not None:
                ft = ft.unsqueeze(1).expand(-1, num_objects, -1, -1, -1).reshape(-1, *ft.shape[-3:])
            s = interpolate(scores, ft.shape[-2:])
            if x is not None:
                x = self.proj[name](x)
            h, hpool = self.TSE[name](ft, s, x)
            h = self.RRB1[name](h)
            h = self.CAB[name](hpool, h)
            x = self.RRB2[name](h)
            if f"{name}_dec" in output_layers:
                outputs[f"{name}_dec"] = x
        return self.project(x, image_size), outputs
