"""Couples the KYS cost volume with the response predictor.

``PredictorWrapper`` registers ``cost_volume`` (no parameters) then ``predictor``, so the checkpoint keys are
``predictor.predictor.*`` inside ``KYSNet``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ltr.models.kys.utils import shift_features

__all__ = ["PredictorWrapper"]

_TARGET_LOGITS = ("is_target", "is_target_after_prop", "is_target_new")


class PredictorWrapper(nn.Module):
    """Cost volume between the previous and the current frame, followed by the response predictor.

    The cost volume uses the current frame as reference, so channel ``p`` of the (absolute-coordinate) volume is
    previous-frame position ``p``. With ``fix_coordinate_shift`` (default True), the DiMP score and the previous
    label are resampled by ``-0.5 / size`` (normalised units, (x, y)) before the predictor and the predicted
    response and target logits by ``+0.5 / size`` after it, matching the trained network.

    Args:
        cost_volume: Module ``(feat1, feat2) -> (N, H*W, H, W)`` (e.g. :class:`CostVolume` with absolute output).
        predictor: Module like :class:`ResponsePredictor`.
    """

    def __init__(self, cost_volume: nn.Module, predictor: nn.Module):
        super().__init__()
        self.cost_volume = cost_volume
        self.predictor = predictor
        self.fix_coordinate_shift = True

    def forward(self, data: dict) -> dict:
        """Training step.

        Args:
            data: ``input1`` previous-frame features and ``input2`` current-frame features (..., C, H, W);
                ``dimp_score_cur`` current DiMP scores (N*H*W elements, e.g. (N, H, W)); ``state_prev`` (N,
                state_dim, H, W) or ``None``; optional ``label_prev`` (N*H*W elements), needed without a state.

        Returns:
            Dict with ``response`` (shaped like ``dimp_score_cur``), ``state_cur`` (N, state_dim, H, W) and
            ``auxiliary_outputs`` (see :meth:`ResponsePredictor.forward`; the target logits are shaped like
            ``dimp_score_cur``).
        """
        response, state_new, aux, _ = self._predict(
            data["input1"], data["input2"], data["dimp_score_cur"], data["state_prev"], data.get("label_prev")
        )
        return {"response": response, "state_cur": state_new, "auxiliary_outputs": aux}

    def predict_response(
        self, data: dict, dimp_thresh: float | None = None, output_window: torch.Tensor | None = None
    ) -> dict:
        """Tracking step.

        Args:
            data: As for :meth:`forward`, with the features under ``feat1`` (previous) and ``feat2`` (current).
            dimp_thresh: Threshold for masking the fused score; ``None`` uses the predictor's default.
            output_window: Optional window multiplied into the fused score, broadcastable to (N, 1, H, W).

        Returns:
            As :meth:`forward`, plus ``cost_volume`` (N, H*W, H, W).
        """
        response, state_new, aux, cost_volume = self._predict(
            data["feat1"],
            data["feat2"],
            data["dimp_score_cur"],
            data["state_prev"],
            data.get("label_prev"),
            dimp_thresh=dimp_thresh,
            output_window=output_window,
        )
        return {"response": response, "state_cur": state_new, "auxiliary_outputs": aux, "cost_volume": cost_volume}

    def compute_cost_volume(
        self, feat_prev: torch.Tensor, feat_cur: torch.Tensor, use_current_frame_as_ref: bool
    ) -> torch.Tensor:
        """Cost volume of two (N, C, H, W) maps; the reference map is the first argument of ``cost_volume``."""
        if use_current_frame_as_ref:
            return self.cost_volume(feat_cur, feat_prev)
        return self.cost_volume(feat_prev, feat_cur)

    def extract_motion_feat(self, backbone_feat: torch.Tensor) -> torch.Tensor:
        """Motion features: the backbone features flattened to (N, C, H, W)."""
        return backbone_feat.reshape(-1, *backbone_feat.shape[-3:])

    def _predict(
        self,
        feat_prev: torch.Tensor,
        feat_cur: torch.Tensor,
        dimp_score_cur: torch.Tensor,
        state_prev: torch.Tensor | None,
        label_prev: torch.Tensor | None,
        dimp_thresh: float | None = None,
        output_window: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, dict, torch.Tensor]:
        score_shape = dimp_score_cur.shape
        feat_prev = self.extract_motion_feat(feat_prev)
        feat_cur = self.extract_motion_feat(feat_cur)
        dimp_score = dimp_score_cur.reshape(-1, 1, *score_shape[-2:])
        cost_volume = self.compute_cost_volume(feat_prev, feat_cur, True)

        num = dimp_score.shape[0]
        # (x, y) size, so that the shift is half a cell in normalised units along each axis.
        size = dimp_score.new_tensor([score_shape[-1], score_shape[-2]]).view(1, 2)
        half_cell = (0.5 / size).expand(num, 2)
        if self.fix_coordinate_shift:
            if label_prev is not None:
                label_prev = shift_features(label_prev.reshape(num, 1, *score_shape[-2:]), -half_cell).reshape(
                    label_prev.shape
                )
            dimp_score = shift_features(dimp_score, -half_cell)

        response, state_new, aux = self.predictor(
            cost_volume, state_prev, dimp_score, label_prev, dimp_thresh, output_window
        )

        def restore(x: torch.Tensor) -> torch.Tensor:
            x = x.reshape(num, 1, *score_shape[-2:])
            if self.fix_coordinate_shift:
                x = shift_features(x, half_cell)
            return x.reshape(score_shape)

        for name in _TARGET_LOGITS:
            if name in aux:
                aux[name] = restore(aux[name])
        return restore(response), state_new, aux, cost_volume
