"""Tests for ltr.models.kys.predictor_wrapper.PredictorWrapper: cost-volume orientation, coordinate shift, API."""

from __future__ import annotations

import pytest
import torch

from ltr.models.kys.cost_volume import CostVolume
from ltr.models.kys.predictor_wrapper import PredictorWrapper
from ltr.models.kys.response_predictor import ResponsePredictor
from ltr.models.kys.utils import shift_features

N, C, H, W = 2, 6, 5, 4


@pytest.fixture
def wrapper():
    torch.manual_seed(0)
    predictor = ResponsePredictor(state_dim=8, representation_predictor_dims=(16,), conf_measure="entropy")
    return PredictorWrapper(CostVolume(3, 2, abs_coordinate_output=True), predictor).double().eval()


def make_data(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        "feat1": torch.randn(N, C, H, W, generator=gen, dtype=torch.float64),
        "feat2": torch.randn(N, C, H, W, generator=gen, dtype=torch.float64),
        "dimp_score_cur": torch.rand(N, H, W, generator=gen, dtype=torch.float64),
        "label_prev": torch.rand(N, H, W, generator=gen, dtype=torch.float64),
        "state_prev": None,
    }


def test_children_and_motion_features(wrapper):
    assert [n for n, _ in wrapper.named_children()] == ["cost_volume", "predictor"]
    assert wrapper.fix_coordinate_shift is True
    assert wrapper.extract_motion_feat(torch.zeros(1, 2, 3, 4, 5)).shape == (2, 3, 4, 5)


def test_without_shift_equals_direct_predictor_call(wrapper):
    wrapper.fix_coordinate_shift = False
    data = make_data()
    out = wrapper.predict_response(data, dimp_thresh=0.3)
    # The current frame is the reference: channel p of the volume is previous-frame position p.
    cost_volume = wrapper.cost_volume(data["feat2"], data["feat1"])
    torch.testing.assert_close(out["cost_volume"], cost_volume)
    fused, state, _ = wrapper.predictor(
        cost_volume, None, data["dimp_score_cur"].unsqueeze(1), data["label_prev"], dimp_thresh=0.3
    )
    torch.testing.assert_close(out["response"], fused.reshape(N, H, W))
    torch.testing.assert_close(out["state_cur"], state)


def test_coordinate_shift_wraps_the_predictor(wrapper):
    data = make_data(1)
    window = torch.rand(1, 1, H, W, dtype=torch.float64)
    out = wrapper.predict_response(data, output_window=window)

    half = torch.tensor([[0.5 / W, 0.5 / H]], dtype=torch.float64).expand(N, 2)
    dimp = shift_features(data["dimp_score_cur"].unsqueeze(1), -half)
    label = shift_features(data["label_prev"].unsqueeze(1), -half)
    cost_volume = wrapper.cost_volume(data["feat2"], data["feat1"])
    fused, state, aux = wrapper.predictor(cost_volume, None, dimp, label, None, window)

    torch.testing.assert_close(out["response"], shift_features(fused, half).reshape(N, H, W))
    torch.testing.assert_close(out["state_cur"], state)
    for key in ("is_target", "is_target_after_prop", "is_target_new"):
        expected = shift_features(aux[key], half).reshape(N, H, W)
        torch.testing.assert_close(out["auxiliary_outputs"][key], expected)
    torch.testing.assert_close(out["auxiliary_outputs"]["propagated_h"], aux["propagated_h"])


def test_forward_uses_input_keys_and_default_threshold(wrapper):
    data = make_data(2)
    wrapper.predictor.dimp_thresh = 0.5
    tracked = wrapper.predict_response(data)
    trained = wrapper({"input1": data["feat1"], "input2": data["feat2"], **data})
    assert set(trained) == {"response", "state_cur", "auxiliary_outputs"}
    torch.testing.assert_close(trained["response"], tracked["response"])
    torch.testing.assert_close(trained["state_cur"], tracked["state_cur"])


def test_second_step_uses_state_and_backpropagates(wrapper):
    wrapper.train()
    data = make_data(3)
    data["feat1"].requires_grad_()
    first = wrapper(dict(data, input1=data["feat1"], input2=data["feat2"]))
    second = wrapper(
        {
            "input1": data["feat2"],
            "input2": data["feat1"],
            "dimp_score_cur": data["dimp_score_cur"],
            "state_prev": first["state_cur"],
        }
    )
    assert second["response"].shape == (N, H, W) and second["state_cur"].shape == (N, 8, H, W)
    (second["response"].sum() + second["state_cur"].sum()).backward()
    assert torch.isfinite(data["feat1"].grad).all() and data["feat1"].grad.abs().sum() > 0
    assert wrapper.predictor.init_hidden_state_predictor[0][0].weight.grad.abs().sum() > 0
