"""Tests for ltr.models.target_classifier.optimizer."""

from __future__ import annotations

import math

import pytest
import torch

from ltr.models.target_classifier.optimizer import (
    DiMPL2SteepestDescentGN,
    DiMPSteepestDescentGN,
    PrDiMPSteepestDescentNewton,
)

F64 = torch.float64


def random_problem(n_images=3, n_seq=2, channels=4, size=6, fs=2, seed=0):
    """Features (I, S, C, H, W), initial filters (S, C, fs, fs) and boxes (I, S, 4) in float64."""
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(n_images, n_seq, channels, size, size, dtype=F64, generator=g)
    weights = 0.1 * torch.randn(n_seq, channels, fs, fs, dtype=F64, generator=g)
    xy = 16 * (1.0 + 3.0 * torch.rand(n_images, n_seq, 2, dtype=F64, generator=g))
    wh = 16 * (1.0 + torch.rand(n_images, n_seq, 2, dtype=F64, generator=g))
    return feat, weights, torch.cat((xy, wh), dim=-1)


def objective(opt, w, feat, bb):
    """The optimizer's reported objective at ``w``, times n_sequences (the sum over all sequences)."""
    return opt(w, feat, bb, num_iter=0)[2][0] * feat.shape[1]


def hvp_per_sequence(fun, w, v):
    """Per-sequence v^T H v of the scalar ``fun`` at ``w`` (the Hessian is block diagonal over sequences)."""
    _, hv = torch.autograd.functional.hvp(fun, w, v)
    return (v * hv).reshape(w.shape[0], -1).sum(dim=1)


ALL_OPTIMIZERS = [
    lambda: DiMPSteepestDescentGN(num_iter=3, init_step_length=0.9, init_filter_reg=0.1, num_dist_bins=10),
    lambda: DiMPL2SteepestDescentGN(num_iter=3, init_filter_reg=0.1),
    lambda: PrDiMPSteepestDescentNewton(num_iter=3, init_filter_reg=0.1, gauss_sigma=1.2),
]


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_zero_iterations_returns_initial_weights(make):
    opt = make().double()
    feat, w0, bb = random_problem()
    w, iterates, losses = opt(w0, feat, bb, num_iter=0)
    assert w is w0
    assert len(iterates) == 1 and iterates[0] is w0
    assert len(losses) == 1 and torch.isfinite(losses[0])
    _, _, no_losses = opt(w0, feat, bb, num_iter=0, compute_losses=False)
    assert no_losses == []


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_iterates_and_losses_lengths(make):
    opt = make().double()
    feat, w0, bb = random_problem()
    w, iterates, losses = opt(w0, feat, bb)
    assert len(iterates) == 4 and len(losses) == 4
    assert iterates[-1] is w
    assert all(it.shape == w0.shape for it in iterates)


def test_dimp_gn_parameters_and_predictor_init():
    opt = DiMPSteepestDescentGN(
        init_step_length=0.9, init_filter_reg=0.1, init_gauss_sigma=2.0, num_dist_bins=4, bin_displacement=0.5
    )
    names = [k for k, _ in opt.state_dict().items()]
    assert names == [
        "log_step_length",
        "filter_reg",
        "label_map_predictor.weight",
        "target_mask_predictor.0.weight",
        "spatial_weight_predictor.weight",
    ]
    torch.testing.assert_close(opt.log_step_length.data, torch.tensor([math.log(0.9)]))
    torch.testing.assert_close(opt.filter_reg.data, torch.tensor([0.1]))
    d = torch.tensor([0.0, 0.5, 1.0, 1.5])
    gauss = torch.exp(-0.5 * (d / 2.0) ** 2)
    torch.testing.assert_close(opt.label_map_predictor.weight.flatten(), gauss - gauss.min())
    torch.testing.assert_close(opt.target_mask_predictor[0].weight.flatten(), 4.0 * torch.tanh(2.0 - d))
    assert isinstance(opt.target_mask_predictor[1], torch.nn.Sigmoid)
    torch.testing.assert_close(opt.spatial_weight_predictor.weight.flatten(), torch.ones(4))


def test_dimp_gn_sigma_zero_and_linear_mask():
    opt = DiMPSteepestDescentGN(init_gauss_sigma=0, num_dist_bins=3, mask_act="linear", mask_init_factor=1.0)
    torch.testing.assert_close(opt.label_map_predictor.weight.flatten(), torch.tensor([1.0, 0.0, 0.0]))
    assert len(opt.target_mask_predictor) == 1
    d = torch.arange(3.0)
    torch.testing.assert_close(opt.target_mask_predictor[0].weight.flatten(), torch.tanh(2.0 - d) + 0.5)


def test_dimp_gn_invalid_options():
    with pytest.raises(ValueError, match="mask_act"):
        DiMPSteepestDescentGN(mask_act="tanh")
    with pytest.raises(ValueError, match="score_act"):
        DiMPSteepestDescentGN(score_act="elu")
    with pytest.raises(ValueError, match="act_param"):
        DiMPSteepestDescentGN(score_act="bentpar")


@pytest.mark.parametrize("score_act,act_param", [("relu", None), ("bentpar", 0.5)])
def test_dimp_gn_step_is_gauss_newton_along_gradient(score_act, act_param):
    # g must be half the gradient of the reported objective L; for the piecewise-linear 'relu' activation the
    # Gauss-Newton curvature ||J g||^2 + lambda ||g||^2 equals g^T (H_L / 2) g, which autograd gives exactly.
    opt = DiMPSteepestDescentGN(
        num_iter=1,
        init_step_length=0.7,
        init_filter_reg=0.2,
        num_dist_bins=8,
        bin_displacement=0.5,
        score_act=score_act,
        act_param=act_param,
        alpha_eps=0.3,
    ).double()
    feat, w0, bb = random_problem()
    w1, _, _ = opt(w0, feat, bb)

    w = w0.clone().requires_grad_(True)
    (grad_l,) = torch.autograd.grad(objective(opt, w, feat, bb), w)
    g = 0.5 * grad_l.detach()
    gg = (g * g).reshape(2, -1).sum(dim=1)
    # The parameters are stored in float32: use their exact values.
    step, reg = opt.log_step_length.exp().item(), (opt.filter_reg**2).item()
    if score_act == "relu":
        curvature = 0.5 * hvp_per_sequence(lambda x: objective(opt, x, feat, bb), w0, g)
    else:
        # Smooth activation: Gauss-Newton drops the residual-curvature term, so build ||J g||^2 by a JVP.
        n_images = feat.shape[0]
        dist = opt.distance_map(
            ((bb[..., :2] + bb[..., 2:] / 2) / 16).flip((-1,)).reshape(-1, 2), (feat.shape[-2] + 1, feat.shape[-1] + 1)
        )
        mask = opt.target_mask_predictor(dist).reshape(n_images, 2, 7, 7)
        spatial = opt.spatial_weight_predictor(dist).reshape(n_images, 2, 7, 7)

        def residual(x):
            scores = torch.nn.functional.conv2d(
                feat.reshape(n_images, -1, 6, 6), x.reshape(-1, 4, 2, 2), padding=1, groups=2
            )
            return math.sqrt(1 / n_images) * spatial * opt.score_activation(scores, mask)

        _, jg = torch.autograd.functional.jvp(residual, w0, g)
        curvature = (jg * jg).transpose(0, 1).reshape(2, -1).sum(dim=1) + reg * gg
    alpha = gg / (curvature + 0.3 * gg)
    expected = w0 - step * alpha.reshape(-1, 1, 1, 1) * g
    torch.testing.assert_close(w1, expected, rtol=1e-9, atol=1e-12)


def test_l2_single_channel_step_reaches_ridge_solution():
    # One channel, 1x1 filter: the objective is a 1-D quadratic, so one Gauss-Newton step with factor 1 lands on
    # the closed-form minimiser w* = (1/N) sum x y / ((1/N) sum x^2 + lambda).
    torch.manual_seed(0)
    n_images, size = 2, 5
    opt = DiMPL2SteepestDescentGN(num_iter=1, gauss_sigma=1.5, init_filter_reg=0.3).double()
    reg = (opt.filter_reg**2).item()
    feat = torch.randn(n_images, 1, 1, size, size, dtype=F64)
    bb = torch.tensor([[[20.0, 30.0, 16.0, 32.0]], [[40.0, 24.0, 16.0, 16.0]]], dtype=F64)
    w0 = torch.tensor([[[[0.7]]]], dtype=F64)
    w1, _, losses = opt(w0, feat, bb)

    rows = torch.arange(size, dtype=F64).view(-1, 1)
    cols = torch.arange(size, dtype=F64).view(1, -1)
    sxy = sxx = 0.0
    for i in range(n_images):
        cx = (bb[i, 0, 0] + bb[i, 0, 2] / 2) / 16 - 0.5
        cy = (bb[i, 0, 1] + bb[i, 0, 3] / 2) / 16 - 0.5
        y = torch.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2 * 1.5**2))
        x = feat[i, 0, 0]
        sxy += (x * y).sum() / n_images
        sxx += (x * x).sum() / n_images
    w_star = sxy / (sxx + reg)
    torch.testing.assert_close(w1.flatten(), w_star.reshape(1))
    assert losses[1] < losses[0]


def test_l2_hinge_labels_and_mask():
    opt = DiMPL2SteepestDescentGN(gauss_sigma=1.0, hinge_threshold=0.05)
    center = torch.tensor([[[2.0, 3.0]]])
    label = opt.get_label(center, (5, 6))
    assert label.shape == (1, 1, 5, 6)
    assert label[0, 0, 2, 3] == 1.0
    torch.testing.assert_close(label[0, 0, 2, 4], torch.tensor(math.exp(-0.5)))
    # Background cells (label <= threshold) are ReLU'd: negative scores there cost nothing.
    feat = -torch.ones(1, 1, 1, 8, 8)
    bb = torch.tensor([[[64.0, 64.0, 16.0, 16.0]]])
    w = torch.ones(1, 1, 1, 1)
    _, _, losses_neg = opt(w, feat, bb, num_iter=0)
    hinge_free = DiMPL2SteepestDescentGN(gauss_sigma=1.0)
    _, _, losses_l2 = hinge_free(w, feat, bb, num_iter=0)
    assert losses_neg[0] < losses_l2[0]


def test_prdimp_label_density():
    opt = PrDiMPSteepestDescentNewton(gauss_sigma=1.0)
    center = torch.tensor([[[3.0, 4.0], [2.5, 2.0]]], dtype=F64)
    dens = opt.get_label_density(center, (8, 9))
    assert dens.shape == (1, 2, 8, 9)
    torch.testing.assert_close(dens[0, 0, 3, 4], torch.tensor(1 / (2 * math.pi), dtype=F64))
    torch.testing.assert_close(dens[0, 0, 3, 5], torch.tensor(math.exp(-0.5) / (2 * math.pi), dtype=F64))

    norm = PrDiMPSteepestDescentNewton(gauss_sigma=1.0, normalize_label=True, init_uni_weight=0.2, label_shrink=0.1)
    dens = norm.get_label_density(center, (8, 9))
    torch.testing.assert_close(dens.sum(dim=(-2, -1)), torch.full((1, 2), 0.9, dtype=F64))
    thr = PrDiMPSteepestDescentNewton(gauss_sigma=1.0, label_threshold=0.05)
    dens = thr.get_label_density(center, (8, 9))
    assert dens[0, 0, 0, 0] == 0 and dens[0, 0, 3, 4] > 0.05


def test_prdimp_only_two_parameters():
    opt = PrDiMPSteepestDescentNewton(init_step_length=2.0, init_filter_reg=0.05)
    assert list(opt.state_dict()) == ["log_step_length", "filter_reg"]
    torch.testing.assert_close(opt.log_step_length.data, torch.tensor([math.log(2.0)]))


@pytest.mark.parametrize("softmax_reg", [None, 0.5])
def test_prdimp_step_is_newton_along_gradient(softmax_reg):
    # g is the gradient of the reported objective, and the closed-form curvature must equal the exact Hessian.
    opt = PrDiMPSteepestDescentNewton(
        num_iter=1, init_step_length=0.8, init_filter_reg=0.3, gauss_sigma=1.0, alpha_eps=0.05, softmax_reg=softmax_reg
    ).double()
    feat, w0, bb = random_problem()
    w1, _, _ = opt(w0, feat, bb)

    w = w0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(objective(opt, w, feat, bb), w)
    gg = (g * g).reshape(2, -1).sum(dim=1)
    curvature = hvp_per_sequence(lambda x: objective(opt, x, feat, bb), w0, g)
    alpha = gg / (curvature + 0.05 * gg)
    step = opt.log_step_length.exp().item()
    torch.testing.assert_close(w1, w0 - step * alpha.reshape(-1, 1, 1, 1) * g, rtol=1e-9, atol=1e-12)


def test_prdimp_single_channel_is_newton_step():
    # One channel, 1x1 filter: the step along the gradient with the exact curvature is the 1-D Newton step.
    torch.manual_seed(1)
    opt = PrDiMPSteepestDescentNewton(num_iter=1, init_filter_reg=0.5, gauss_sigma=0.8).double()
    feat = torch.randn(2, 1, 1, 4, 4, dtype=F64)
    bb = torch.tensor([[[16.0, 16.0, 16.0, 16.0]], [[24.0, 8.0, 32.0, 16.0]]], dtype=F64)
    w0 = torch.tensor([[[[0.4]]]], dtype=F64)
    w1, _, _ = opt(w0, feat, bb)

    labels = opt.get_label_density(((bb[..., :2] + bb[..., 2:] / 2) / 16 - 0.5).flip(-1), (4, 4))
    grad, hess = 0.25 * w0.item(), 0.25
    for i in range(2):
        x = feat[i, 0, 0].flatten()
        p = torch.softmax(w0.item() * x, dim=0)
        grad += 0.5 * (x @ (p - labels[i, 0].flatten())).item()
        hess += 0.5 * ((p * x * x).sum() - (p * x).sum() ** 2).item()
    torch.testing.assert_close(w1.flatten(), torch.tensor([w0.item() - grad / hess], dtype=F64))


@pytest.mark.parametrize("make", ALL_OPTIMIZERS)
def test_loss_decreases_on_random_problem(make):
    opt = make().double()
    feat, w0, bb = random_problem(seed=3)
    _, _, losses = opt(w0, feat, bb, num_iter=8)
    values = torch.stack(losses)
    assert (values[1:] <= values[:-1] + 1e-12).all(), values
    assert values[-1] < values[0]
    # Converging: the last step gains under 1% of the total decrease.
    assert values[-2] - values[-1] < 0.01 * (values[0] - values[-1])


def test_sample_weight_tensor_matches_uniform_default():
    opt = DiMPSteepestDescentGN(num_iter=2, num_dist_bins=6).double()
    feat, w0, bb = random_problem()
    w_default, _, _ = opt(w0, feat, bb)
    w_explicit, _, _ = opt(w0, feat, bb, sample_weight=torch.full((3, 2), 1 / 3, dtype=F64))
    torch.testing.assert_close(w_default, w_explicit)
    # Weighting one image only = optimising on that image alone.
    w_one, _, _ = opt(w0, feat, bb, sample_weight=torch.tensor([1.0, 0.0, 0.0], dtype=F64))
    w_ref, _, _ = opt(w0, feat[:1], bb[:1])
    torch.testing.assert_close(w_one, w_ref)


def test_min_filter_reg_clamps_regularisation():
    feat, w0, bb = random_problem()
    low = PrDiMPSteepestDescentNewton(num_iter=1, init_filter_reg=1e-6, min_filter_reg=0.05).double()
    ref = PrDiMPSteepestDescentNewton(num_iter=1, init_filter_reg=0.05, min_filter_reg=0.05).double()
    torch.testing.assert_close(low(w0, feat, bb)[0], ref(w0, feat, bb)[0])


@pytest.mark.parametrize("detach_length,connected", [(float("inf"), True), (0, False)])
def test_detach_length_controls_backprop_through_iterations(detach_length, connected):
    opt = DiMPSteepestDescentGN(num_iter=2, num_dist_bins=6, detach_length=detach_length).double()
    feat, w0, bb = random_problem()
    w0 = w0.requires_grad_(True)
    w, _, _ = opt(w0, feat, bb)
    (grad,) = torch.autograd.grad(w.sum(), w0, allow_unused=True)
    assert (grad is not None) == connected
    # The meta-parameters always receive gradients.
    (g_step,) = torch.autograd.grad(opt(w0, feat, bb)[0].square().sum(), opt.log_step_length)
    assert torch.isfinite(g_step).all() and g_step.abs().sum() > 0


def test_zero_gradient_gives_finite_zero_step():
    # All-zero features and a zero filter: g = 0, the clamped denominator keeps the update at exactly zero.
    opt = DiMPL2SteepestDescentGN(num_iter=2)
    feat = torch.zeros(2, 1, 3, 5, 5)
    w0 = torch.zeros(1, 3, 1, 1)
    bb = torch.tensor([[[16.0, 16.0, 32.0, 32.0]]] * 2)
    w, _, losses = opt(w0, feat, bb)
    assert torch.equal(w, w0)
    assert all(torch.isfinite(v) for v in losses)
