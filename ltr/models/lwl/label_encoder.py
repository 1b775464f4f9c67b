"""Label encoders of LWL: masks (or boxes) to few-shot learner labels and spatial importance weights.

:class:`ResidualDS16SW` maps a segmentation mask at image resolution to the label encoding ``E(y)`` and the
spatial weights ``W(y)`` at stride 16 (the resolution of the target-model features). The box variant
:class:`ResidualDS16FeatSWBoxCatMultiBlock` (LWL box initialisation) renders a box as a mask (or a Gaussian),
concatenates it with the target-model features and predicts a mask encoding that the decoder turns into an
initial segmentation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn

from ltr.models.backbone.resnet import BasicBlock
from ltr.models.layers.blocks import conv_block

from .decoder import interpolate

__all__ = ["ResidualDS16SW", "ResidualDS16FeatSWBoxCatMultiBlock"]


def _init_weights(module: nn.Module, init_bn: float = 1.0) -> None:
    """He-normal convolution weights (``N(0, 2 / (k * k * out_channels))``); batch-norm scale ``init_bn``, shift 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(init_bn)
            m.bias.data.zero_()


class ResidualDS16SW(nn.Module):
    """Mask -> (label encoding, spatial sample weights), both at 1/16 of the mask resolution.

    Layers: ``conv_block`` (3x3 stride 2, 1 -> d0), ``pool`` (max 3x3 stride 2), ``res1`` / ``res2`` (basic blocks
    with stride 2 and a 3x3 convolutional shortcut, d0 -> d1 -> d2), then two 3x3 heads: ``label_pred``
    (d2 -> d3, ReLU) and ``samp_w_pred`` (d2 -> d3, initialized to the constant 1).

    Args:
        layer_dims: ``(d0, d1, d2, d3)``; d3 is the number of target-model filters.
        use_bn: Batch norms in the blocks and heads.
    """

    def __init__(self, layer_dims: Sequence[int], use_bn: bool = True):
        super().__init__()
        d0, d1, d2, d3 = layer_dims
        self.conv_block = conv_block(1, d0, kernel_size=3, stride=2, padding=1, batch_norm=use_bn)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        ds1 = nn.Conv2d(d0, d1, kernel_size=3, padding=1, stride=2)
        self.res1 = BasicBlock(d0, d1, stride=2, downsample=ds1, use_bn=use_bn)
        ds2 = nn.Conv2d(d1, d2, kernel_size=3, padding=1, stride=2)
        self.res2 = BasicBlock(d1, d2, stride=2, downsample=ds2, use_bn=use_bn)
        self.label_pred = conv_block(d2, d3, kernel_size=3, stride=1, padding=1, relu=True, batch_norm=use_bn)
        self.samp_w_pred = nn.Conv2d(d2, d3, kernel_size=3, padding=1, stride=1)

        _init_weights(self)
        # Start from uniform sample weights.
        self.samp_w_pred.weight.data.fill_(0)
        self.samp_w_pred.bias.data.fill_(1)

    def forward(
        self, label_mask: torch.Tensor, feature: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode masks.

        Args:
            label_mask: Masks or mask probabilities (n_frames, n_sequences, H, W).
            feature: Unused (kept for interface compatibility with feature-conditioned encoders).

        Returns:
            ``(label_enc, sample_w)``, both (n_frames, n_sequences, d3, H/16, W/16) (sizes rounded up per stride).
        """
        if label_mask.dim() != 4:
            raise ValueError(f"label_mask must be (n_frames, n_sequences, H, W), got {tuple(label_mask.shape)}")
        n_frames, n_seq = label_mask.shape[:2]
        out = self.pool(self.conv_block(label_mask.reshape(-1, 1, *label_mask.shape[-2:])))
        out = self.res2(self.res1(out))
        label_enc = self.label_pred(out)
        sample_w = self.samp_w_pred(out)
        return (
            label_enc.reshape(n_frames, n_seq, *label_enc.shape[-3:]),
            sample_w.reshape(n_frames, n_seq, *sample_w.shape[-3:]),
        )


class ResidualDS16FeatSWBoxCatMultiBlock(nn.Module):
    """Box -> mask encoding, conditioned on the target-model features (LWL box initialisation).

    The box is rendered at image resolution (a filled rectangle, or a Gaussian with ``use_gauss``), resized to the
    feature resolution and concatenated to the features (``feat_dim + 1`` channels); then ``res`` (stride-1 basic
    blocks with 3x3 convolutional shortcuts, widths ``layer_dims[:-1]``) and ``label_pred`` (3x3 convolution to
    ``layer_dims[-1]`` channels, optional batch norm and ReLU).

    Args:
        layer_dims: Widths of the residual blocks followed by the output channels (number of filters).
        feat_dim: Channels of the target-model features.
        use_final_relu: ReLU at the end of ``label_pred``.
        use_gauss: Render the box as a Gaussian instead of a filled rectangle.
        use_bn: Batch norms in the residual blocks.
        non_default_init: He-normal initialization of the convolutions, batch-norm scale ``init_bn``.
        init_bn: Initial batch-norm scale.
        gauss_scale: Standard deviation of the Gaussian relative to the box width / height.
        final_bn: Batch norm in ``label_pred``.
    """

    def __init__(
        self,
        layer_dims: Sequence[int],
        feat_dim: int,
        use_final_relu: bool = True,
        use_gauss: bool = True,
        use_bn: bool = True,
        non_default_init: bool = True,
        init_bn: float = 1,
        gauss_scale: float = 0.25,
        final_bn: bool = True,
    ):
        super().__init__()
        layer_dims = tuple(layer_dims)
        in_dims = (feat_dim + 1,) + layer_dims[:-2]
        out_dims = layer_dims[:-1]
        self.use_gauss = use_gauss
        self.gauss_scale = gauss_scale
        blocks = [
            BasicBlock(d_in, d_out, stride=1, downsample=nn.Conv2d(d_in, d_out, 3, padding=1), use_bn=use_bn)
            for d_in, d_out in zip(in_dims, out_dims)
        ]
        self.res = nn.Sequential(*blocks)
        self.label_pred = conv_block(
            layer_dims[-2], layer_dims[-1], kernel_size=3, stride=1, padding=1, relu=use_final_relu, batch_norm=final_bn
        )
        if non_default_init:
            _init_weights(self, init_bn)

    @staticmethod
    def _box_int(bb: torch.Tensor) -> tuple[int, int, int, int]:
        # Truncation to whole pixels, as the released model was trained with.
        x1, y1, w, h = (int(v) for v in bb.tolist())
        return x1, y1, w, h

    def bbox_to_mask(self, bbox: torch.Tensor, sz: Sequence[int]) -> torch.Tensor:
        """Render boxes as binary masks.

        Args:
            bbox: Boxes (N, 4) as ``[x, y, w, h]`` in pixels (truncated to integers).
            sz: Mask size ``(H, W)``.

        Returns:
            Masks (N, 1, H, W), 1 inside ``[x, x + w) x [y, y + h)`` (clipped to the image).
        """
        mask = torch.zeros((bbox.shape[0], 1, *sz), dtype=torch.float32, device=bbox.device)
        for i, bb in enumerate(bbox):
            x1, y1, w, h = self._box_int(bb)
            # Clip the start explicitly: a negative start would wrap around as a Python slice.
            mask[i, :, max(y1, 0) : max(y1 + h, 0), max(x1, 0) : max(x1 + w, 0)] = 1.0
        return mask

    def bbox_to_gauss(self, bbox: torch.Tensor, sz: Sequence[int]) -> torch.Tensor:
        """Render boxes as Gaussians centred on the box, std ``gauss_scale * (w, h)``.

        Args:
            bbox: Boxes (N, 4) as ``[x, y, w, h]`` in pixels (truncated to integers).
            sz: Map size ``(H, W)``.

        Returns:
            Maps (N, 1, H, W) with peak value 1.
        """
        height, width = int(sz[-2]), int(sz[-1])
        xs = torch.arange(width, dtype=torch.float32, device=bbox.device).view(1, -1)
        ys = torch.arange(height, dtype=torch.float32, device=bbox.device).view(-1, 1)
        maps = []
        for bb in bbox:
            x1, y1, w, h = self._box_int(bb)
            cx, cy = x1 + w / 2, y1 + h / 2
            d2 = (xs - cx) ** 2 / (self.gauss_scale * w) ** 2 + (ys - cy) ** 2 / (self.gauss_scale * h) ** 2
            maps.append(torch.exp(-0.5 * d2))
        return torch.stack(maps).unsqueeze(1)

    def forward(self, bb: torch.Tensor, feat: torch.Tensor, sz: Sequence[int]) -> torch.Tensor:
        """Encode boxes.

        Args:
            bb: Boxes ``[x, y, w, h]`` in image pixels, (N, 4) or (n_frames, n_sequences, 4).
            feat: Target-model features of the same images, (N, C, h, w) or (n_frames, n_sequences, C, h, w).
            sz: Image size; its last two entries are ``(H, W)``.

        Returns:
            Mask encoding (N, 1, d, h, w) for 2-D ``bb``, or (n_frames, n_sequences, d, h, w) for 3-D ``bb``.
        """
        lead_shape = tuple(bb.shape[:-1]) if bb.dim() == 3 else (bb.shape[0], 1)
        boxes = bb.reshape(-1, 4)
        image_size = (int(sz[-2]), int(sz[-1]))
        label_mask = self.bbox_to_gauss(boxes, image_size) if self.use_gauss else self.bbox_to_mask(boxes, image_size)
        label_mask = label_mask.to(feat.dtype)

        feat = feat.reshape(-1, *feat.shape[-3:])
        out = self.res(torch.cat([feat, interpolate(label_mask, feat.shape[-2:])], dim=1))
        label_enc = self.label_pred(out)
        return label_enc.reshape(*lead_shape, *label_enc.shape[-3:])
