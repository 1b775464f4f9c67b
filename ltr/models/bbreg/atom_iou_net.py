"""IoU-Net box regressor of ATOM (and of the DiMP family).

Danelljan et al., "ATOM: Accurate Tracking by Overlap Maximization", CVPR 2019; the IoU prediction idea is from
Jiang et al., "Acquisition of Localization Confidence for Accurate Object Detection" (IoU-Net), ECCV 2018.

A reference branch turns the target box in a train image into two channel-modulation vectors; a test branch
pools the modulated test features inside each proposal box and predicts the proposal's IoU with the target.
Boxes are ``[x, y, w, h]`` in image pixels; the two inputs are the backbone's ``layer2`` (stride 8) and ``layer3``
(stride 16) maps. Submodule names and registration order are the state-dict format of the released checkpoints
(``bb_regressor.*``), so they must not change.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from ltr.models.layers.blocks import LinearBlock, conv_block
from ltr.models.layers.frozen_linear import FrozenLinear
from ltr.models.layers.prroi_pool import PrRoIPool2D, TableLevels

__all__ = ["AtomIoUNet"]


def _xywh_to_rois(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes (B, P, 4) ``[x, y, w, h]`` -> PrRoIPool rois (B*P, 5) ``[batch_index, x0, y0, x1, y1]``.

    Built with differentiable ops only: IoU-guided box refinement back-propagates to the box coordinates.
    """
    batch, num_boxes = boxes.shape[:2]
    index = torch.arange(batch, dtype=boxes.dtype, device=boxes.device)
    index = index.view(batch, 1, 1).expand(batch, num_boxes, 1)
    corners = torch.cat((boxes[..., :2], boxes[..., :2] + boxes[..., 2:4]), dim=-1)
    return torch.cat((index, corners), dim=-1).reshape(-1, 5)


def _flatten_images(feat: torch.Tensor) -> torch.Tensor:
    """(n_images, n_seq, C, H, W) -> (n_images*n_seq, C, H, W); 4-D input is returned unchanged."""
    return feat.reshape(-1, *feat.shape[-3:]) if feat.dim() == 5 else feat


def _fold_block(block: nn.Module, pooled_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode LinearBlock's linear layer and batch norm as one affine map, with the weight's columns in
    channels-last order: inputs flattened from (K, s, s, C) instead of (K, C, s, s).

    Returns:
        ``weight`` (N, s * s * C) and ``bias`` (N,).
    """
    linear, bn = block.linear, block.bn
    weight = linear.weight.detach()
    n = weight.shape[0]
    weight = weight.view(n, -1, pooled_size, pooled_size).permute(0, 2, 3, 1).reshape(n, -1)
    bias = linear.bias.detach() if linear.bias is not None else weight.new_zeros(n)
    scale = torch.rsqrt(bn.running_var + bn.eps)
    shift = -bn.running_mean * scale
    if bn.weight is not None:
        scale, shift = scale * bn.weight.detach(), shift * bn.weight.detach() + bn.bias.detach()
    return weight * scale[:, None], bias * scale + shift


class _FusedHead:
    """The test branch's layers after pooling (``fc3_rt``, ``fc4_rt``, ``iou_predictor``) in eval mode, as constant
    affine maps for :class:`_PreparedIoU`: batch norm folded into the linear layers, inputs channels last (the
    pooling tables' layout, so no transposition per call), and the transposed weights of the backward pass."""

    def __init__(self, net: AtomIoUNet, rows: int):
        w3, b3 = _fold_block(net.fc3_rt, net.prroi_pool3t.pooled_height)
        w4, b4 = _fold_block(net.fc4_rt, net.prroi_pool4t.pooled_height)
        self.fc3, self.fc4 = FrozenLinear(w3, b3, rows), FrozenLinear(w4, b4, rows)
        self.fc3_t, self.fc4_t = (
            FrozenLinear(w3.t().contiguous(), None, rows),
            FrozenLinear(w4.t().contiguous(), None, rows),
        )
        self.split = w3.shape[0]
        self.iou_weight = net.iou_predictor.weight.detach()  # (1, N3 + N4)
        self.iou_bias = net.iou_predictor.bias.detach() if net.iou_predictor.bias is not None else None


# Folded heads per network, rebuilt when a parameter or statistic changes (training, load_state_dict, .to()).
_FUSED_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fused_head(net: AtomIoUNet, rows: int) -> _FusedHead:
    tensors = [
        t for block in (net.fc3_rt, net.fc4_rt, net.iou_predictor) for t in (*block.parameters(), *block.buffers())
    ]
    key = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)
    cached = _FUSED_HEADS.get(net)
    if cached is None or cached[0] != key:
        cached = (key, _FusedHead(net, rows))
        _FUSED_HEADS[net] = cached
    return cached[1]


def _fused_forward(head: _FusedHead, levels: TableLevels, proposals: torch.Tensor, box_grad: bool):
    """IoUs (B, P) of proposals (B, P, 4) ``[x, y, w, h]``, and the state :func:`_fused_backward` needs."""
    batch, num = proposals.shape[:2]
    image = None if batch == 1 else torch.arange(batch, device=proposals.device).repeat_interleave(num)
    out, saved = levels.pool_boxes(proposals.detach().reshape(-1, 4), image, box_grad)  # (K, 25 + 9 bins, C)
    k = out.shape[0]
    split = levels.layout.level_slices[0][1]
    r3 = head.fc3(out[:, :split].reshape(k, -1), relu=True)
    r4 = head.fc4(out[:, split:].reshape(k, -1), relu=True)
    hidden = torch.cat((r3, r4), dim=1)
    iou = F.linear(hidden, head.iou_weight, head.iou_bias).reshape(proposals.shape[:2])
    return iou, (head, levels, saved, hidden)


def _fused_backward(state: tuple, grad_iou: torch.Tensor) -> torch.Tensor:
    """Gradient (B, P, 4) with respect to the proposals of :func:`_fused_forward`, given that of the IoUs (B, P)."""
    head, levels, saved, hidden = state
    batch, num = grad_iou.shape
    k, c = hidden.shape[0], levels.table.shape[1]
    grad_hidden = (grad_iou.reshape(-1, 1) * head.iou_weight) * (hidden > 0)
    grad_out = torch.cat(
        (
            head.fc3_t(grad_hidden[:, : head.split]).view(k, -1, c),
            head.fc4_t(grad_hidden[:, head.split :]).view(k, -1, c),
        ),
        dim=1,
    )
    return levels.grad_boxes(saved, grad_out).reshape(batch, num, 4)


class _PreparedIoU(torch.autograd.Function):
    """The test branch of :meth:`AtomIoUNet.predict_iou` on prepared pooling tables, with a hand-written backward
    pass to the proposals (box refinement calls it forward and backward several times per frame; autograd's
    bookkeeping would cost about as much as the arithmetic). Parameters and features get no gradient."""

    @staticmethod
    def forward(ctx, proposals, head, levels):  # noqa: D102
        iou, ctx.state = _fused_forward(head, levels, proposals, ctx.needs_input_grad[0])
        return iou

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_iou):  # noqa: D102
        return _fused_backward(ctx.state, grad_iou), None, None


class _PreparedPredictor:
    """The function :meth:`AtomIoUNet.prepare_iou_prediction` returns: proposals (B, P, 4) -> IoUs (B, P)."""

    def __init__(self, net: AtomIoUNet, head: _FusedHead | None, levels: TableLevels | None, pools: tuple | None):
        self.net, self.head, self.levels, self.pools = net, head, levels, pools

    def __call__(self, proposals: torch.Tensor) -> torch.Tensor:
        if self.head is not None:
            return _PreparedIoU.apply(proposals, self.head, self.levels)
        pool3, pool4 = self.pools
        rois = _xywh_to_rois(proposals)
        fc34_rt = torch.cat((self.net.fc3_rt(pool3(rois)), self.net.fc4_rt(pool4(rois))), dim=1)
        return self.net.iou_predictor(fc34_rt).reshape(proposals.shape[:2])

    def value_and_grad(self, proposals: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """IoUs (B, P) of ``proposals`` (B, P, 4) and the gradient of their sum with respect to the proposals
        (what box refinement steps along), without autograd's bookkeeping where the fused head allows it."""
        if self.head is not None:
            with torch.no_grad():
                iou, state = _fused_forward(self.head, self.levels, proposals, box_grad=True)
                return iou, _fused_backward(state, torch.ones_like(iou))
        with torch.enable_grad():
            boxes = proposals.detach().requires_grad_(True)
            iou = self(boxes)
            (grad,) = torch.autograd.grad(iou.sum(), boxes)
        return iou.detach(), grad


class AtomIoUNet(nn.Module):
    """IoU predictor with target-specific channel modulation.

    Args:
        input_dim: channels of the two backbone inputs (``layer2``, ``layer3``): (128, 256) for ResNet-18,
            (512, 1024) for ResNet-50.
        pred_input_dim: channels of the test-branch features that are modulated and pooled (and of the two
            modulation vectors).
        pred_inter_dim: outputs of the fully connected layers ``fc3_rt`` and ``fc4_rt``.
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (128, 256),
        pred_input_dim: Sequence[int] = (256, 256),
        pred_inter_dim: Sequence[int] = (256, 256),
    ):
        super().__init__()
        # Stride-8 branch (layer2). Registration order below is the checkpoint key order.
        self.conv3_1r = conv_block(input_dim[0], 128, kernel_size=3, stride=1)
        self.conv3_1t = conv_block(input_dim[0], 256, kernel_size=3, stride=1)
        self.conv3_2t = conv_block(256, pred_input_dim[0], kernel_size=3, stride=1)

        self.prroi_pool3r = PrRoIPool2D(3, 3, 1 / 8)
        self.prroi_pool3t = PrRoIPool2D(5, 5, 1 / 8)

        # 3x3 convolution without padding reduces the pooled 3x3 reference region to one vector.
        self.fc3_1r = conv_block(128, 256, kernel_size=3, stride=1, padding=0)

        # Stride-16 branch (layer3).
        self.conv4_1r = conv_block(input_dim[1], 256, kernel_size=3, stride=1)
        self.conv4_1t = conv_block(input_dim[1], 256, kernel_size=3, stride=1)
        self.conv4_2t = conv_block(256, pred_input_dim[1], kernel_size=3, stride=1)

        self.prroi_pool4r = PrRoIPool2D(1, 1, 1 / 16)
        self.prroi_pool4t = PrRoIPool2D(3, 3, 1 / 16)

        self.fc34_3r = conv_block(256 + 256, pred_input_dim[0], kernel_size=1, stride=1, padding=0)
        self.fc34_4r = conv_block(256 + 256, pred_input_dim[1], kernel_size=1, stride=1, padding=0)

        self.fc3_rt = LinearBlock(pred_input_dim[0], pred_inter_dim[0], 5)
        self.fc4_rt = LinearBlock(pred_input_dim[1], pred_inter_dim[1], 3)

        self.iou_predictor = nn.Linear(pred_inter_dim[0] + pred_inter_dim[1], 1, bias=True)

        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal (fan_in) conv/linear weights with zero biases; batch-norm weights U(0, 1), biases 0.

        The uniform batch-norm weights reproduce the PyTorch <= 1.1 default the released models were trained with.
        """
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(
        self,
        feat1: Sequence[torch.Tensor],
        feat2: Sequence[torch.Tensor],
        bb1: torch.Tensor,
        proposals2: torch.Tensor,
    ) -> torch.Tensor:
        """Training pass: predict the IoU of test proposals, conditioned on the first train image's target box.

        Args:
            feat1: train features ``[layer2, layer3]``, each (n_train, n_seq, C, H, W) or (n_train*n_seq, C, H, W)
                (image-major). Only the first train image is used.
            feat2: test features ``[layer2, layer3]``, each (n_test, n_seq, C, H, W) or (n_test*n_seq, C, H, W).
            bb1: train target boxes (n_train, n_seq, 4), ``[x, y, w, h]`` in image pixels.
            proposals2: test proposals (n_test, n_seq, P, 4), ``[x, y, w, h]``.

        Returns:
            Predicted IoUs (n_test, n_seq, P).
        """
        num_test, num_seq = proposals2.shape[:2]

        feat1 = [f[0] if f.dim() == 5 else f.reshape(-1, num_seq, *f.shape[-3:])[0] for f in feat1]
        modulation = self.get_modulation(feat1, bb1[0])
        iou_feat = self.get_iou_feat(feat2)

        # Every test image of a sequence uses that sequence's modulation; test batches are image-major.
        modulation = [
            m.reshape(1, num_seq, -1).expand(num_test, -1, -1).reshape(num_test * num_seq, -1) for m in modulation
        ]
        proposals = proposals2.reshape(num_test * num_seq, -1, 4)
        iou = self.predict_iou(modulation, iou_feat, proposals)
        return iou.reshape(num_test, num_seq, -1)

    def predict_iou(
        self, modulation: Sequence[torch.Tensor], feat: Sequence[torch.Tensor], proposals: torch.Tensor
    ) -> torch.Tensor:
        """Predict the IoU of each proposal from modulated test features.

        Args:
            modulation: the two vectors of :meth:`get_modulation`, each (B, pred_input_dim[i], 1, 1) or
                (B, pred_input_dim[i]).
            feat: the two maps of :meth:`get_iou_feat`, (B, pred_input_dim[0], H/8, W/8) and
                (B, pred_input_dim[1], H/16, W/16).
            proposals: (B, P, 4) boxes ``[x, y, w, h]`` in image pixels. Differentiable: the tracker refines boxes
                by gradient ascent on the returned IoU.

        Returns:
            Predicted IoUs (B, P).
        """
        mod3, mod4 = modulation
        c3_t, c4_t = feat
        batch, num_proposals = proposals.shape[:2]

        c3_t_att = c3_t * mod3.reshape(batch, -1, 1, 1)
        c4_t_att = c4_t * mod4.reshape(batch, -1, 1, 1)

        rois = _xywh_to_rois(proposals)
        roi3t = self.prroi_pool3t(c3_t_att, rois)
        roi4t = self.prroi_pool4t(c4_t_att, rois)

        fc34_rt = torch.cat((self.fc3_rt(roi3t), self.fc4_rt(roi4t)), dim=1)
        return self.iou_predictor(fc34_rt).reshape(batch, num_proposals)

    def prepare_iou_prediction(
        self, modulation: Sequence[torch.Tensor], feat: Sequence[torch.Tensor]
    ) -> _PreparedPredictor:
        """:meth:`predict_iou` specialised to fixed modulation vectors and test features.

        The modulated maps and their PrRoIPool tables are computed once; each call of the returned function then
        only pools and scores the proposals (tracking refines boxes with several such calls per frame).

        Args:
            modulation, feat: as for :meth:`predict_iou`.

        Returns:
            A function mapping proposals (B, P, 4) ``[x, y, w, h]`` to IoUs (B, P), differentiable in the boxes and
            equal to :meth:`predict_iou` up to float rounding. In eval mode on features that need no gradient (box
            refinement) the whole head runs with a hand-written backward pass to the boxes only: the parameters
            get no gradient through it. Its ``value_and_grad(proposals)`` returns the IoUs and the gradient of their
            sum with respect to the proposals in one call (what box refinement needs, without autograd there).
        """
        mod3, mod4 = modulation
        c3_t, c4_t = feat
        batch = c3_t.shape[0]
        c3_t_att = c3_t * mod3.reshape(batch, -1, 1, 1)
        c4_t_att = c4_t * mod4.reshape(batch, -1, 1, 1)
        fused = not self.training and not (c3_t_att.requires_grad or c4_t_att.requires_grad)
        fused &= all(block.bn is not None and block.relu is not None for block in (self.fc3_rt, self.fc4_rt))
        fused &= c3_t_att.shape[1] == c4_t_att.shape[1]  # one stacked table for both maps
        fused &= all(p.pooled_height == p.pooled_width for p in (self.prroi_pool3t, self.prroi_pool4t))
        if not fused:
            pools = (self.prroi_pool3t.prepare(c3_t_att), self.prroi_pool4t.prepare(c4_t_att))
            return _PreparedPredictor(self, None, None, pools)
        pools = (self.prroi_pool3t, self.prroi_pool4t)
        levels = TableLevels(
            [c3_t_att, c4_t_att], [(p.pooled_height, p.pooled_width) for p in pools], [p.spatial_scale for p in pools]
        )
        return _PreparedPredictor(self, _fused_head(self, rows=16), levels, None)

    def get_modulation(self, feat: Sequence[torch.Tensor], bb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the target-specific modulation vectors from reference features and the target box.

        Args:
            feat: reference features ``[layer2, layer3]``: (B, input_dim[0], H/8, W/8), (B, input_dim[1], H/16, W/16).
            bb: target boxes (B, 4), ``[x, y, w, h]`` in image pixels.

        Returns:
            Two modulation vectors, (B, pred_input_dim[0], 1, 1) and (B, pred_input_dim[1], 1, 1).
        """
        feat3_r, feat4_r = feat
        rois = _xywh_to_rois(bb.reshape(-1, 1, 4))

        roi3r = self.prroi_pool3r(self.conv3_1r(feat3_r), rois)  # (B, 128, 3, 3)
        roi4r = self.prroi_pool4r(self.conv4_1r(feat4_r), rois)  # (B, 256, 1, 1)

        fc34_r = torch.cat((self.fc3_1r(roi3r), roi4r), dim=1)  # (B, 512, 1, 1)
        return self.fc34_3r(fc34_r), self.fc34_4r(fc34_r)

    def get_iou_feat(self, feat2: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute the test-branch features that the modulation vectors scale.

        Args:
            feat2: test features ``[layer2, layer3]``, each (B, C, H, W) or (n_images, n_seq, C, H, W) (flattened
                image-major to B = n_images*n_seq).

        Returns:
            (B, pred_input_dim[0], H/8, W/8) and (B, pred_input_dim[1], H/16, W/16).
        """
        feat3_t, feat4_t = (_flatten_images(f) for f in feat2)
        c3_t = self.conv3_2t(self.conv3_1t(feat3_t))
        c4_t = self.conv4_2t(self.conv4_1t(feat4_t))
        return c3_t, c4_t
