"""Tests for ltr.models.kys.response_predictor.ResponsePredictor: layout, data flow, masking, gradients."""

from __future__ import annotations

import pytest
import torch

from ltr.models.kys.response_predictor import ResponsePredictor

N, H, W, D = 2, 4, 5, 8


def make_inputs(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    cost_volume = torch.randn(N, H * W, H, W, generator=gen, dtype=torch.float64)
    dimp = torch.rand(N, 1, H, W, generator=gen, dtype=torch.float64)
    label = torch.rand(N, 1, H, W, generator=gen, dtype=torch.float64)
    state = torch.randn(N, D, H, W, generator=gen, dtype=torch.float64)
    return cost_volume, dimp, label, state


@pytest.fixture
def predictor():
    torch.manual_seed(0)
    return ResponsePredictor(state_dim=D, representation_predictor_dims=(16,), conf_measure="entropy").double().eval()


def test_children_order_and_shapes():
    net = ResponsePredictor(state_dim=8, representation_predictor_dims=(16,), conf_measure="entropy")
    assert [n for n, _ in net.named_children()] == [
        "cost_volume_proc1",
        "cost_volume_proc2",
        "representation_predictor",
        "response_predictor",
        "state_predictor",
        "init_hidden_state_predictor",
        "is_target_predictor",
    ]
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["representation_predictor.0.0.weight"] == (16, 10, 3, 3)
    assert shapes["response_predictor.0.0.weight"] == (1, 16, 3, 3)
    assert shapes["init_hidden_state_predictor.0.0.weight"] == (8, 1, 3, 3)
    assert "init_hidden_state_predictor.0.0.bias" not in shapes
    assert shapes["state_predictor.conv_reset.weight"] == (8, 12, 3, 3)
    assert shapes["is_target_predictor.1.0.weight"] == (1, 4, 3, 3)
    assert len(shapes) == 43


@pytest.mark.parametrize("conf_measure,in_dim", [("max", 10), ("entropy", 10), ("none", 9)])
def test_representation_input_channels(conf_measure, in_dim):
    net = ResponsePredictor(state_dim=8, representation_predictor_dims=(64, 32), conf_measure=conf_measure)
    assert net.representation_predictor[0][0].in_channels == in_dim
    assert net.representation_predictor[1][0].out_channels == 32 == net.representation_dim


def test_unknown_conf_measure_raises():
    with pytest.raises(ValueError, match="conf_measure"):
        ResponsePredictor(conf_measure="variance")


def test_forward_shapes_and_propagation_semantics(predictor):
    cost_volume, dimp, label, _ = make_inputs()
    fused, state_new, aux = predictor(cost_volume, None, dimp, init_label=label)

    assert fused.shape == (N, 1, H, W) and state_new.shape == (N, D, H, W)
    assert ((fused >= 0) & (fused <= 1)).all()
    weights = aux["propagation_weights"]
    assert weights.shape == (N, H * W, 1, H, W)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(N, 1, H, W, dtype=torch.float64))

    # Propagation: h[n, :, q] = sum_p w[n, p, q] state0[n, :, p], with state0 from the label on the first frame.
    state0 = predictor.init_hidden_state_predictor(label)
    w = weights.reshape(N, H * W, H * W)
    expected_h = torch.stack([state0[n].reshape(D, -1) @ w[n] for n in range(N)]).reshape(N, D, H, W)
    torch.testing.assert_close(aux["propagated_h"], expected_h)

    entropy = -(w * (w + 1e-4).log()).sum(dim=1).reshape(N, 1, H, W)
    torch.testing.assert_close(aux["propagation_conf"], entropy)

    # Fused score from [h, dimp, conf]; GRU input [dimp, fused, their global maxima].
    rep = predictor.representation_predictor(torch.cat((expected_h, dimp, entropy), 1))
    torch.testing.assert_close(fused, predictor.response_predictor(rep))
    scores = torch.cat((dimp, fused), 1)
    gru_in = torch.cat((scores, scores.amax(dim=(2, 3), keepdim=True).expand(-1, -1, H, W)), 1)
    torch.testing.assert_close(state_new, predictor.state_predictor(gru_in, expected_h))

    torch.testing.assert_close(aux["is_target"], predictor.is_target_predictor(state0))
    torch.testing.assert_close(aux["is_target_new"], predictor.is_target_predictor(state_new))
    for key in ("is_target", "is_target_after_prop", "is_target_new", "propagation_conf", "fused_score_orig"):
        assert aux[key].shape == (N, 1, H, W) and torch.isfinite(aux[key]).all()


def test_given_state_is_used_and_max_confidence():
    torch.manual_seed(1)
    net = ResponsePredictor(state_dim=D, representation_predictor_dims=(6, 5), conf_measure="max").double().eval()
    cost_volume, dimp, _, state = make_inputs(1)
    _, _, aux = net(cost_volume, state, dimp)
    w = aux["propagation_weights"].reshape(N, H * W, H * W)
    torch.testing.assert_close(aux["propagation_conf"], w.max(dim=1)[0].reshape(N, 1, H, W))
    expected_h = torch.einsum("npq,ndp->ndq", w, state.reshape(N, D, -1)).reshape(N, D, H, W)
    torch.testing.assert_close(aux["propagated_h"], expected_h)
    torch.testing.assert_close(aux["is_target"], net.is_target_predictor(state))


def test_confidence_none_has_no_confidence_output():
    net = ResponsePredictor(state_dim=D, representation_predictor_dims=(4,), conf_measure="none").double()
    cost_volume, dimp, _, state = make_inputs(2)
    fused, _, aux = net(cost_volume, state, dimp)
    assert "propagation_conf" not in aux and fused.shape == (N, 1, H, W)


def test_dimp_threshold_and_window(predictor):
    cost_volume, dimp, label, _ = make_inputs(3)
    fused_plain, _, aux = predictor(cost_volume, None, dimp, init_label=label)
    torch.testing.assert_close(fused_plain, aux["fused_score_orig"])

    window = torch.linspace(0, 1, W, dtype=torch.float64).view(1, 1, 1, W)
    fused, _, aux = predictor(cost_volume, None, dimp, init_label=label, dimp_thresh=0.5, output_window=window)
    torch.testing.assert_close(aux["fused_score_orig"], fused_plain)
    torch.testing.assert_close(fused, fused_plain * (dimp > 0.5) * window)
    assert (fused[dimp <= 0.5] == 0).all()

    # The constructor's threshold is the default.
    predictor.dimp_thresh = 0.5
    fused_default, _, _ = predictor(cost_volume, None, dimp, init_label=label)
    torch.testing.assert_close(fused_default, fused_plain * (dimp > 0.5))


def test_missing_initial_label_raises(predictor):
    cost_volume, dimp, _, _ = make_inputs()
    with pytest.raises(ValueError, match="init_label"):
        predictor(cost_volume, None, dimp)


def test_backward_in_training_mode():
    torch.manual_seed(4)
    net = ResponsePredictor(state_dim=D, representation_predictor_dims=(16,), conf_measure="entropy").train()
    cost_volume, dimp, label, _ = (t.float() for t in make_inputs(4))
    fused, state_new, aux = net(cost_volume.requires_grad_(), None, dimp, init_label=label)
    loss = fused.sum() + state_new.square().sum() + sum(aux[k].sum() for k in ("is_target", "is_target_new"))
    loss.backward()
    assert torch.isfinite(cost_volume.grad).all() and cost_volume.grad.abs().sum() > 0
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
