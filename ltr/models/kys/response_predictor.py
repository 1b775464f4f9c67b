"""KYS response predictor: propagates dense state vectors with a cost volume and fuses them with the DiMP score.

Bhat et al., "Know Your Surroundings: Exploiting Scene Information for Object Tracking", ECCV 2020.

Children are registered in the order ``cost_volume_proc1``, ``cost_volume_proc2``, ``representation_predictor``,
``response_predictor``, ``state_predictor``, ``init_hidden_state_predictor``, ``is_target_predictor``, which is the
key order of the official ``kys.pth``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr.models.kys.conv_gru import ConvGRUCell
from ltr.models.layers.blocks import conv_block

__all__ = ["ResponsePredictor"]

CONF_MEASURES = ("max", "entropy", "none")


def _cost_volume_processor() -> nn.Sequential:
    # Two 3x3 convolutions (1 -> 8 -> 1) with batch norm, applied to each 2-D slice of the cost volume.
    return nn.Sequential(
        conv_block(1, 8, kernel_size=3, padding=1, batch_norm=True, relu=True),
        conv_block(8, 1, kernel_size=3, padding=1, batch_norm=True, relu=False),
    )


class ResponsePredictor(nn.Module):
    """Predicts the fused target score and the next state vectors from a cost volume, the previous state vectors and
    the current DiMP score.

    Per frame, with ``N`` sequences and an ``H x W`` score grid:

    1. Each slice ``cost_volume[n, p]`` (previous-frame position ``p`` against all current positions) goes through
       ``cost_volume_proc1`` and a softmax over the current positions, then ``cost_volume_proc2`` and a softmax over
       the previous positions: propagation weights ``w[n, p, q]`` that sum to one over ``p`` for each current ``q``.
    2. The previous states (or, on the first frame, ``init_hidden_state_predictor(init_label)``) are propagated:
       ``h[n, :, q] = sum_p w[n, p, q] * state_prev[n, :, p]``.
    3. A confidence of the propagation per current position: the maximum weight (``'max'``) or the entropy
       ``-sum_p w log(w + 1e-4)`` (``'entropy'``), or none (``'none'``).
    4. ``[h, dimp_score, confidence]`` -> ``representation_predictor`` -> ``response_predictor`` (sigmoid) gives the
       fused score, then optionally masked by ``dimp_score > dimp_thresh`` and multiplied by a window.
    5. The GRU input is ``[dimp_score, fused, global max of dimp_score, global max of fused]`` (4 channels); the new
       state is ``state_predictor(input, h)``.

    ``is_target_predictor`` decodes a state into a target logit map; it is applied to the previous, the propagated
    and the new states for the auxiliary outputs.

    Args:
        state_dim: Channels of the state vectors.
        representation_predictor_dims: Output channels of the representation convolutions (3x3, ReLU, no BN).
        gru_ksz: Kernel size of the GRU and of ``is_target_predictor``.
        conf_measure: ``'max'``, ``'entropy'`` or ``'none'``.
        dimp_thresh: Default threshold on the DiMP score for masking the fused score (``None``: no masking).
    """

    def __init__(
        self,
        state_dim: int = 8,
        representation_predictor_dims: tuple[int, ...] | list[int] = (64, 32),
        gru_ksz: int = 3,
        conf_measure: str = "max",
        dimp_thresh: float | None = None,
    ):
        super().__init__()
        if conf_measure not in CONF_MEASURES:
            raise ValueError(f"conf_measure must be one of {CONF_MEASURES}, got {conf_measure!r}")
        self.state_dim = state_dim
        self.conf_measure = conf_measure
        self.dimp_thresh = dimp_thresh

        self.cost_volume_proc1 = _cost_volume_processor()
        self.cost_volume_proc2 = _cost_volume_processor()

        in_dim = state_dim + 1 + (conf_measure != "none")
        blocks = []
        for out_dim in representation_predictor_dims:
            blocks.append(conv_block(in_dim, out_dim, kernel_size=3, padding=1, batch_norm=False, relu=True))
            in_dim = out_dim
        self.representation_predictor = nn.Sequential(*blocks)
        self.representation_dim = in_dim

        self.response_predictor = nn.Sequential(
            conv_block(in_dim, 1, kernel_size=3, padding=1, batch_norm=False, relu=False), nn.Sigmoid()
        )

        # GRU input: DiMP score, fused score and their global maxima.
        self.state_predictor = ConvGRUCell(4, state_dim, gru_ksz)

        self.init_hidden_state_predictor = nn.Sequential(
            conv_block(1, state_dim, kernel_size=3, padding=1, bias=False, batch_norm=False, relu=False), nn.Tanh()
        )

        pad = gru_ksz // 2
        self.is_target_predictor = nn.Sequential(
            conv_block(state_dim, 4, kernel_size=gru_ksz, padding=pad, batch_norm=False, relu=True),
            conv_block(4, 1, kernel_size=gru_ksz, padding=pad, batch_norm=False, relu=False),
        )

        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(
        self,
        cost_volume: torch.Tensor,
        state_prev: torch.Tensor | None,
        dimp_score_cur: torch.Tensor,
        init_label: torch.Tensor | None = None,
        dimp_thresh: float | None = None,
        output_window: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Run one frame.

        Args:
            cost_volume: Cost volume in absolute coordinates (N, H*W, H, W) (or (N, H, W, H, W)): channel ``p``
                holds the correlation of previous-frame position ``p`` (row-major) with every current position.
            state_prev: Previous state vectors (N, state_dim, H, W), or ``None`` on the first frame.
            dimp_score_cur: DiMP score of the current frame (N, 1, H, W) (any shape with N*H*W elements).
            init_label: Target label of the previous frame (N*H*W elements), used when ``state_prev`` is ``None``.
            dimp_thresh: Threshold for masking the fused score; ``None`` uses ``self.dimp_thresh``.
            output_window: Optional window multiplied into the fused score, broadcastable to (N, 1, H, W).

        Returns:
            ``(fused_score, state_new, auxiliary)``: fused score (N, 1, H, W) in [0, 1]; new state vectors
            (N, state_dim, H, W); auxiliary outputs ``cost_volume_processed`` and ``propagation_weights`` (N, H*W,
            1, H, W), ``is_target``, ``is_target_after_prop``, ``is_target_new`` (N, 1, H, W) logits,
            ``propagated_h`` (N, state_dim, H, W), ``propagation_conf`` (N, 1, H, W; not with ``'none'``) and
            ``fused_score_orig`` (the fused score before masking and windowing).
        """
        if dimp_thresh is None:
            dimp_thresh = self.dimp_thresh
        aux: dict[str, torch.Tensor] = {}

        num_sequences = cost_volume.shape[0]
        height, width = cost_volume.shape[-2:]
        num_pos = height * width

        # Softmax over current positions, then over previous positions.
        weights = self.cost_volume_proc1(cost_volume.reshape(-1, 1, height, width)).reshape(-1, num_pos)
        weights = F.softmax(weights, dim=1)
        weights = self.cost_volume_proc2(weights.reshape(-1, 1, height, width))
        weights = F.softmax(weights.reshape(num_sequences, num_pos, height, width), dim=1)
        weights = weights.reshape(num_sequences, num_pos, 1, height, width)
        aux["cost_volume_processed"] = weights

        if state_prev is None:
            if init_label is None:
                raise ValueError("init_label is required when state_prev is None")
            state_prev = self.init_hidden_state_predictor(init_label.reshape(num_sequences, 1, height, width))
        aux["is_target"] = self.is_target_predictor(state_prev)
        state_prev = state_prev.reshape(num_sequences, -1, height, width)

        weights_flat = weights.reshape(num_sequences, num_pos, height, width)
        if self.conf_measure == "max":
            conf = weights_flat.max(dim=1)[0]
        elif self.conf_measure == "entropy":
            conf = -(weights_flat * (weights_flat + 1e-4).log()).sum(dim=1)
        else:
            conf = None
        aux["propagation_weights"] = weights

        propagated_h = torch.einsum("npq,ndp->ndq", weights_flat.flatten(2), state_prev.flatten(2))
        propagated_h = propagated_h.reshape(num_sequences, -1, height, width)
        aux["propagated_h"] = propagated_h.clone()
        aux["is_target_after_prop"] = self.is_target_predictor(propagated_h)

        dimp_score = dimp_score_cur.reshape(num_sequences, 1, *dimp_score_cur.shape[-2:])
        inputs = [propagated_h, dimp_score]
        if conf is not None:
            conf = conf.reshape(num_sequences, 1, height, width)
            aux["propagation_conf"] = conf
            inputs.append(conf)
        fused = self.response_predictor(self.representation_predictor(torch.cat(inputs, dim=1)))
        aux["fused_score_orig"] = fused.clone()

        if dimp_thresh is not None:
            fused = fused * (dimp_score > dimp_thresh).to(fused.dtype)
        if output_window is not None:
            fused = fused * output_window

        scores = torch.cat((dimp_score, fused), dim=1)
        scores_max = scores.amax(dim=(-2, -1), keepdim=True).expand(-1, -1, height, width)
        state_new = self.state_predictor(torch.cat((scores, scores_max), dim=1), propagated_h)
        aux["is_target_new"] = self.is_target_predictor(state_new)
        return fused, state_new, aux
