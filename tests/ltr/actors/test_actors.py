"""Actors: loss composition and statistic names, exactly on stub networks and on the real (tiny) networks."""

import math

import pytest
import torch
import torch.nn as nn

from ltr.actors import AtomActor, AtomBBKLActor, BaseActor, DiMPActor, KLDiMPActor
from ltr.models.bbreg.atom import atom_resnet18
from ltr.models.loss import KLRegression, KLRegressionGrid, LBHinge
from ltr.models.tracking.dimpnet import dimpnet18, klcedimpnet18
from pytracking.libs.tensordict import TensorDict

N_TRAIN, N_TEST, B, P = 2, 1, 2, 5
IMAGE_SZ = 96  # stride-16 features: 6x6, score maps 7x7 with filter size 4
SCORE_SZ = 7


class StubNet(nn.Module):
    """Returns fixed outputs (times a parameter equal to 1, so gradients flow) and records its inputs."""

    def __init__(self, output):
        super().__init__()
        self.one = nn.Parameter(torch.ones((), dtype=torch.float64))
        self.output = output
        self.calls = []

    def forward(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if isinstance(self.output, tuple):
            scores, other = self.output
            return [s * self.one for s in scores], other * self.one
        return self.output * self.one


class RecordingLoss(nn.Module):
    """Mean of the prediction, recording every call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, prediction, *args, **kwargs):
        self.calls.append((prediction, args, kwargs))
        return prediction.mean()


def boxes(n, b, p=None):
    box = torch.tensor([40.0, 44.0, 48.0, 40.0])
    shape = (n, b, 4) if p is None else (n, b, p, 4)
    return (box + torch.randn(shape)).clamp(min=1)


def tracking_batch(dtype=torch.float32):
    torch.manual_seed(0)
    return TensorDict(
        train_images=torch.randn(N_TRAIN, B, 3, IMAGE_SZ, IMAGE_SZ, dtype=dtype),
        test_images=torch.randn(N_TEST, B, 3, IMAGE_SZ, IMAGE_SZ, dtype=dtype),
        train_anno=boxes(N_TRAIN, B).to(dtype),
        test_anno=boxes(N_TEST, B).to(dtype),
        test_proposals=boxes(N_TEST, B, P).to(dtype),
        proposal_iou=(2 * torch.rand(N_TEST, B, P) - 1).to(dtype),
        train_label=torch.rand(N_TRAIN, B, SCORE_SZ, SCORE_SZ, dtype=dtype),
        test_label=torch.rand(N_TEST, B, SCORE_SZ, SCORE_SZ, dtype=dtype),
    )


def record_outputs(net):
    """The outputs of every forward pass of ``net`` (so the expected loss is computed from the same pass)."""
    outputs = []
    net.register_forward_hook(lambda module, args, output: outputs.append(output))
    return outputs


def constant_scores(values):
    return [torch.full((N_TEST, B, SCORE_SZ, SCORE_SZ), float(v), dtype=torch.float64) for v in values]


# ----------------------------------------------------------------------------------------------------- BaseActor
def test_base_actor_modes_and_device():
    net, loss = nn.Sequential(nn.Linear(2, 2), nn.Dropout()), nn.MSELoss()
    actor = BaseActor(net, {"iou": loss, "weight": 2.0})
    assert actor.eval() is actor
    assert not net.training and not loss.training
    actor.train()
    assert net.training and loss.training
    actor.train(False)
    assert not net.training
    assert actor.to("cpu") is actor
    with pytest.raises(NotImplementedError):
        actor(TensorDict())


# ----------------------------------------------------------------------------------------------------- AtomActor
def test_atom_actor_exact_mse_and_stats():
    iou_pred = torch.tensor([[[0.5, -0.5, 0.0], [1.0, 0.0, 0.25]]], dtype=torch.float64)  # (1, 2, 3)
    data = TensorDict(
        train_images=torch.zeros(1, 2, 3, 8, 8),
        test_images=torch.zeros(1, 2, 3, 8, 8),
        train_anno=torch.zeros(1, 2, 4),
        test_proposals=torch.zeros(1, 2, 3, 4),
        proposal_iou=torch.zeros(1, 2, 3, dtype=torch.float64),
    )
    net = StubNet(iou_pred)
    loss, stats = AtomActor(net, nn.MSELoss())(data)
    expected = (0.25 + 0.25 + 0 + 1 + 0 + 0.0625) / 6
    assert loss.item() == pytest.approx(expected, abs=1e-15)
    assert stats == {"Loss/total": pytest.approx(expected), "Loss/iou": pytest.approx(expected)}
    args, _ = net.calls[0]
    assert args[0] is data["train_images"] and args[3] is data["test_proposals"]
    loss.backward()
    assert net.one.grad is not None


def test_atom_actor_on_atom_resnet18():
    torch.manual_seed(1)
    net = atom_resnet18(backbone_pretrained=False, iou_input_dim=(32, 32), iou_inter_dim=(32, 32)).eval()
    data = tracking_batch()
    data["train_images"], data["train_anno"] = data["train_images"][:1], data["train_anno"][:1]
    outputs = record_outputs(net)
    loss, stats = AtomActor(net, nn.MSELoss())(data)
    iou = outputs[0].detach()
    assert iou.shape == (N_TEST, B, P)
    assert loss.item() == pytest.approx(((iou - data["proposal_iou"]) ** 2).mean().item(), rel=1e-6)
    assert set(stats) == {"Loss/total", "Loss/iou"}
    loss.backward()
    assert all(p.grad is None for p in net.feature_extractor.parameters())  # ATOM's backbone is frozen
    assert all(p.grad is not None for p in net.bb_regressor.parameters() if p.requires_grad)


def test_atom_bbkl_actor_uses_only_valid_frames():
    scores = torch.tensor([[[1.0, 2.0], [float("nan"), float("nan")]]], dtype=torch.float64)  # (1, 2, 2)
    data = TensorDict(
        train_images=torch.zeros(1, 2, 3, 8, 8),
        test_images=torch.zeros(1, 2, 3, 8, 8),
        train_anno=torch.zeros(1, 2, 4),
        test_anno=torch.tensor([[[0.0, 0, 4, 4], [1e5, 0, 4, 4]]]),
        test_proposals=torch.zeros(1, 2, 2, 4),
        proposal_density=torch.full((1, 2, 2), 0.5, dtype=torch.float64),
        gt_density=torch.tensor([[[1.0, 0.0], [1.0, 1.0]]], dtype=torch.float64),
    )
    loss, stats = AtomBBKLActor(StubNet(scores), KLRegression())(data)
    # One valid frame, samples s = (1, 2), q = 0.5, p = (1, 0):
    # logsumexp(s - log q) - log 2 - mean(s * p / q) = log(e^1 + e^2) + log 2 - log 2 - 1.
    expected = math.log(math.e + math.e**2) - 1.0
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    assert stats == {"Loss/total": pytest.approx(expected), "Loss/bb_ce": pytest.approx(expected)}


# ----------------------------------------------------------------------------------------------------- DiMPActor
def dimp_stub_batch():
    data = tracking_batch(torch.float64)
    data["proposal_iou"] = torch.zeros(N_TEST, B, P, dtype=torch.float64)
    data["test_label"] = torch.zeros(N_TEST, B, SCORE_SZ, SCORE_SZ, dtype=torch.float64)
    return data


def dimp_stub_net(values):
    return StubNet((constant_scores(values), torch.full((N_TEST, B, P), 0.5, dtype=torch.float64)))


def test_dimp_actor_weights_the_iterates_exactly():
    # Score maps of the 4 iterates are constant 1, 2, 3, 4 against a zero label: the MSE losses are 1, 4, 9, 16.
    weights = {"iou": 1.0, "test_clf": 100.0, "test_init_clf": 100.0, "test_iter_clf": 400.0}
    data = dimp_stub_batch()
    objective = {"test_clf": LBHinge(threshold=0.05), "iou": nn.MSELoss()}
    loss, stats = DiMPActor(dimp_stub_net([1, 2, 3, 4]), objective, weights)(data)
    # iou: 0.5^2 = 0.25; final 100 * 16; initial 100 * 1; intermediate (400 / 2) * (4 + 9).
    assert loss.item() == pytest.approx(0.25 + 1600 + 100 + 2600, abs=1e-9)
    assert stats == {
        "Loss/total": pytest.approx(4300.25),
        "Loss/iou": pytest.approx(0.25),
        "Loss/target_clf": pytest.approx(1600),
        "Loss/test_init_clf": pytest.approx(100),
        "Loss/test_iter_clf": pytest.approx(2600),
        "ClfTrain/test_loss": pytest.approx(16),
        "ClfTrain/test_init_loss": pytest.approx(1),
        "ClfTrain/test_iter_loss": pytest.approx(6.5),
    }
    assert list(stats)[:3] == ["Loss/total", "Loss/iou", "Loss/target_clf"]


def test_dimp_actor_list_of_iterate_weights_and_objective_arguments():
    weights = {"iou": 2.0, "test_clf": 1.0, "test_iter_clf": [10.0, 20.0]}
    data = dimp_stub_batch()
    clf = RecordingLoss()
    objective = {"test_clf": clf, "iou": nn.MSELoss()}
    loss, stats = DiMPActor(dimp_stub_net([1, 2, 3, 4]), objective, weights)(data)
    # Score means 1..4: final 4, intermediate 10 * 2 + 20 * 3 = 80, iou 2 * 0.25.
    assert loss.item() == pytest.approx(0.5 + 4 + 80, abs=1e-12)
    assert "Loss/test_init_clf" not in stats and stats["Loss/test_iter_clf"] == pytest.approx(80)
    assert stats["ClfTrain/test_iter_loss"] == pytest.approx(2.5)
    assert len(clf.calls) == 4
    _, args, _ = clf.calls[0]
    assert args[0] is data["test_label"] and args[1] is data["test_anno"]


def test_dimp_actor_default_weights_and_two_iterates():
    data = dimp_stub_batch()
    objective = {"test_clf": RecordingLoss(), "iou": nn.MSELoss()}
    actor = DiMPActor(dimp_stub_net([3, 5]), objective)
    assert actor.loss_weight == {"iou": 1.0, "test_clf": 1.0}
    loss, stats = actor(data)
    assert loss.item() == pytest.approx(0.25 + 5)
    assert set(stats) == {
        "Loss/total",
        "Loss/iou",
        "Loss/target_clf",
        "ClfTrain/test_loss",
        "ClfTrain/test_init_loss",
    }
    assert stats["ClfTrain/test_init_loss"] == pytest.approx(3)


def test_dimp_actor_on_dimpnet18():
    torch.manual_seed(2)
    net = dimpnet18(
        filter_size=4,
        optim_iter=3,
        backbone_pretrained=False,
        clf_feat_blocks=0,
        out_feature_dim=32,
        num_dist_bins=10,
        bin_displacement=0.5,
        iou_input_dim=(32, 32),
        iou_inter_dim=(32, 32),
    ).eval()
    data = tracking_batch()
    weights = {"iou": 1.0, "test_clf": 100.0, "test_init_clf": 100.0, "test_iter_clf": 400.0}
    objective = {"test_clf": LBHinge(threshold=0.05), "iou": nn.MSELoss()}
    outputs = record_outputs(net)
    loss, stats = DiMPActor(net, objective, weights)(data)

    scores, iou = [s.detach() for s in outputs[0][0]], outputs[0][1].detach()
    assert len(scores) == 4 and scores[0].shape == (N_TEST, B, SCORE_SZ, SCORE_SZ)
    clf = [objective["test_clf"](s, data["test_label"]).item() for s in scores]
    expected = ((iou - data["proposal_iou"]) ** 2).mean().item() + 100 * clf[-1] + 100 * clf[0] + 200 * sum(clf[1:3])
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert stats["ClfTrain/test_iter_loss"] == pytest.approx((clf[1] + clf[2]) / 2, rel=1e-5)
    assert len(stats) == 8
    loss.backward()
    assert net.classifier.filter_optimizer.log_step_length.grad is not None
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


# --------------------------------------------------------------------------------------------------- KLDiMPActor
def kl_stub_batch():
    data = dimp_stub_batch()
    data["test_anno"] = torch.tensor([[[10.0, 10, 20, 20], [1e5, 10, 20, 20]]])  # second test frame invalid
    data["proposal_density"] = torch.full((N_TEST, B, P), 0.5, dtype=torch.float64)
    data["gt_density"] = torch.ones(N_TEST, B, P, dtype=torch.float64)
    data["test_label_density"] = torch.ones(N_TEST, B, SCORE_SZ, SCORE_SZ, dtype=torch.float64)
    return data


def test_kldimp_actor_prdimp_composition_exactly():
    data = kl_stub_batch()
    bb_scores = torch.tensor([[[1.0] * P, [float("nan")] * P]], dtype=torch.float64)
    net = StubNet((constant_scores([1, 2, 3, 4]), bb_scores))
    bb, ce = RecordingLoss(), RecordingLoss()
    weights = {"bb_ce": 0.01, "clf_ce": 0.25, "clf_ce_init": 0.5, "clf_ce_iter": 1.0}
    loss, stats = KLDiMPActor(net, {"bb_ce": bb, "clf_ce": ce}, weights)(data)
    # bb_ce: mean of the valid frame's scores = 1; clf_ce of the iterates = their constants 1..4.
    expected = 0.01 * 1 + 0.25 * 4 + 0.5 * 1 + (1.0 / 2) * (2 + 3)
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    assert stats == {
        "Loss/total": pytest.approx(expected),
        "Loss/bb_ce": pytest.approx(1.0),
        "Loss/loss_bb_ce": pytest.approx(0.01),
        "Loss/clf_ce": pytest.approx(1.0),
        "Loss/clf_ce_init": pytest.approx(0.5),
        "Loss/clf_ce_iter": pytest.approx(2.5),
        "ClfTrain/clf_ce": pytest.approx(4),
        "ClfTrain/clf_ce_init": pytest.approx(1),
        "ClfTrain/clf_ce_iter": pytest.approx(2.5),
    }
    scores, args, kwargs = bb.calls[0]
    assert scores.shape == (1, P) and args == ()
    assert kwargs["mc_dim"] == 1 and kwargs["sample_density"].shape == (1, P)
    assert ce.calls[0][1] == (data["test_label_density"],) and ce.calls[0][2] == {"grid_dim": (-2, -1)}


def test_kldimp_actor_superdimp_hinge_terms():
    data = kl_stub_batch()
    bb_scores = torch.zeros(N_TEST, B, P, dtype=torch.float64)
    net = StubNet((constant_scores([1, 2, 3, 4]), bb_scores))
    weights = {"bb_ce": 0.01, "test_clf": 100.0, "test_init_clf": 100.0, "test_iter_clf": 400.0}
    objective = {"bb_ce": RecordingLoss(), "test_clf": LBHinge(threshold=0.05)}
    loss, stats = KLDiMPActor(net, objective, weights)(data)
    assert loss.item() == pytest.approx(1600 + 100 + 2600, abs=1e-9)
    assert set(stats) == {
        "Loss/total",
        "Loss/bb_ce",
        "Loss/loss_bb_ce",
        "Loss/target_clf",
        "Loss/test_init_clf",
        "Loss/test_iter_clf",
        "ClfTrain/test_loss",
        "ClfTrain/test_init_loss",
        "ClfTrain/test_iter_loss",
    }
    assert stats["Loss/test_iter_clf"] == pytest.approx(2600)


def test_kldimp_actor_rejects_non_finite_loss():
    data = kl_stub_batch()
    net = StubNet((constant_scores([1.0, float("inf")]), torch.zeros(N_TEST, B, P, dtype=torch.float64)))
    actor = KLDiMPActor(net, {"bb_ce": RecordingLoss(), "clf_ce": RecordingLoss()}, {"bb_ce": 1.0, "clf_ce": 1.0})
    with pytest.raises(FloatingPointError):
        actor(data)


def test_kldimp_actor_on_klcedimpnet18():
    torch.manual_seed(3)
    net = klcedimpnet18(
        filter_size=4,
        optim_iter=2,
        backbone_pretrained=False,
        clf_feat_blocks=0,
        out_feature_dim=32,
        iou_input_dim=(32, 32),
        iou_inter_dim=(32, 32),
        normalize_label=True,
    ).eval()
    data = tracking_batch()
    data["proposal_density"] = torch.rand(N_TEST, B, P) + 0.1
    data["gt_density"] = torch.rand(N_TEST, B, P)
    label_density = torch.rand(N_TEST, B, SCORE_SZ, SCORE_SZ)
    data["test_label_density"] = label_density / label_density.sum(dim=(-2, -1), keepdim=True)
    weights = {"bb_ce": 0.0025, "clf_ce": 0.25, "clf_ce_init": 0.25, "clf_ce_iter": 1.0}
    objective = {"bb_ce": KLRegression(), "clf_ce": KLRegressionGrid()}
    outputs = record_outputs(net)
    loss, stats = KLDiMPActor(net, objective, weights)(data)

    scores, bb = [s.detach() for s in outputs[0][0]], outputs[0][1].detach()
    ce = [KLRegressionGrid()(s, data["test_label_density"], grid_dim=(-2, -1)).item() for s in scores]
    bb_ce = KLRegression()(
        bb.reshape(-1, P), data["proposal_density"].reshape(-1, P), data["gt_density"].reshape(-1, P), mc_dim=1
    ).item()
    expected = 0.0025 * bb_ce + 0.25 * ce[-1] + 0.25 * ce[0] + ce[1]
    assert len(scores) == 3
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert stats["Loss/bb_ce"] == pytest.approx(bb_ce, rel=1e-5)
    assert stats["ClfTrain/clf_ce_iter"] == pytest.approx(ce[1], rel=1e-5)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
