"""ATOM tracker: the classifier's least-squares problems, projection / label / score-grid geometry, the memory,
and end-to-end runs of every parameter file with a random ATOM-18 checkpoint in the official layout."""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from pytracking.evaluation import Sequence, Tracker
from pytracking.evaluation.otbdataset import OTBDataset
from pytracking.libs.optimization import ConjugateGradient
from pytracking.libs.tensorlist import TensorList
from pytracking.parameter.atom import default
from pytracking.tracker.atom import get_tracker_class
from pytracking.tracker.atom.atom import ATOM, pca_projection
from pytracking.tracker.atom.optim import ConvProblem, FactorizedConvProblem, make_activation
from pytracking.tracker.base.box_refinement import RefinementSettings
from pytracking.tracker.base.io_contract import validate_output
from pytracking.tracker.dimp.memory import SampleMemory

PARAMETER_FILES = ["default", "default_vot", "multiscale_no_iounet", "atom_prob_ml", "atom_gmm_sampl"]
D64 = torch.float64


def load_params(name: str):
    return importlib.import_module(f"pytracking.parameter.atom.{name}").parameters()


# ------------------------------------------------------------------------------------------- parameter files


def test_tracker_class_and_parameter_values():
    assert get_tracker_class() is ATOM
    params = {name: load_params(name) for name in PARAMETER_FILES}
    for name, p in params.items():
        assert set(p.to_dict()) >= set(ATOM.DEFAULTS), name
    d = params["default"]
    assert d.max_image_sample_size == d.min_image_sample_size == 288**2 and d.search_area_scale == 5
    assert (d.CG_iter, d.init_CG_iter, d.init_GN_iter, d.post_init_CG_iter) == (5, 60, 6, 0)
    assert d.fletcher_reeves is False and d.response_activation == ("mlu", 0.05)
    assert d.proj_init_method == d.filter_init_method == "randn"
    assert len(d.augmentation["rotate"]) == 12 and len(d.augmentation["blur"]) == 5
    assert d.augmentation["dropout"] == (7, 0.2) and d.sample_memory_size == 250 and d.train_skipping == 10
    (feat,) = d.features.features
    assert feat.net_path == "atom_default.pth" and feat.output_layers == ["layer3"] and feat.normalize_power == 2
    (fp,) = d.features.get_fparams("feature_params")
    assert (fp.learning_rate, fp.init_samples_minimum_weight, fp.compressed_dim) == (0.01, 0.25, 64)
    assert (fp.kernel_size, fp.filter_reg, fp.projection_reg, fp.output_sigma_factor) == ((4, 4), 0.1, 1e-4, 0.25)

    vot = params["default_vot"]
    assert vot.max_image_sample_size == 224**2 and vot.search_area_scale == 4 and vot.window_output is True
    assert (vot.target_not_found_threshold, vot.distractor_threshold, vot.hard_negative_threshold) == (-1, 100, 0.3)
    assert vot.dispalcement_scale == 0.7
    (vfp,) = vot.features.get_fparams("feature_params")
    assert vfp.learning_rate == 0.0075 and vfp.init_samples_minimum_weight == 0

    ms = params["multiscale_no_iounet"]
    assert ms.use_iou_net is False
    torch.testing.assert_close(ms.scale_factors, 1.02 ** torch.arange(-2.0, 3.0))
    for name, step in (("atom_prob_ml", (2e-4, 10e-4)), ("atom_gmm_sampl", (1e-2, 5e-2))):
        p = params[name]
        assert p.features.features[0].net_path == name and p.box_refinement_space == "relative"
        assert p.box_refinement_iter == 10 and p.box_refinement_step_length == step


# ---------------------------------------------------------------------------------------- optimisation problems


def test_mlu_activation_values():
    mlu = make_activation(("mlu", 0.05))
    x = torch.tensor([2.0, 0.0, -0.05 * math.log(2.0), -10.0], dtype=D64)
    torch.testing.assert_close(mlu(x), torch.tensor([2.0, 0.0, -0.025, 0.05 * (math.exp(-200) - 1)], dtype=D64))
    assert make_activation("none")(x) is x
    with pytest.raises(ValueError):
        make_activation("tanh")


def correlate_same(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Direct 'same' correlation of x (N, C, H, W) with one filter f (1, C, kh, kw): output cell (i, j) sums
    f[c, a, b] * x[c, i - kh // 2 + a, j - kw // 2 + b] over the cells inside the map."""
    n, c, h, w = x.shape
    kh, kw = f.shape[-2:]
    out = torch.zeros(n, 1, h, w, dtype=x.dtype)
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    y, xx = i - kh // 2 + a, j - kw // 2 + b
                    if 0 <= y < h and 0 <= xx < w:
                        out[:, 0, i, j] += (f[0, :, a, b] * x[:, :, y, xx]).sum(dim=1)
    return out


def tiny_case():
    torch.manual_seed(3)
    x = torch.randn(3, 4, 5, 5, dtype=D64)
    y = torch.randn(3, 1, 5, 5, dtype=D64)
    f = torch.randn(1, 2, 2, 2, dtype=D64)
    P = torch.randn(2, 4, 1, 1, dtype=D64)
    w = torch.tensor([0.5, 0.3, 0.2], dtype=D64)
    return x, y, f, P, w


def test_factorized_problem_residuals_match_direct_computation():
    x, y, f, P, w = tiny_case()
    relu, mlu = make_activation("relu"), make_activation(("mlu", 0.05))
    problem = FactorizedConvProblem(TensorList([x]), TensorList([y]), [0.1], [1e-4], TensorList([w]), relu, mlu)
    data, reg_f, reg_p = problem(TensorList([f, P]))

    compressed = torch.einsum("dc,nchw->ndhw", P[:, :, 0, 0], x).clamp(min=0)
    scores = correlate_same(compressed, f)
    expected = w.sqrt().view(-1, 1, 1, 1) * (mlu(scores) - y)
    torch.testing.assert_close(data, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(reg_f, math.sqrt(0.1) * f)
    torch.testing.assert_close(reg_p, math.sqrt(1e-4) * P)

    # Per-block inner products (one feature block: filter and projection parts share one value) and preconditioner.
    a, b = TensorList([f, P]), TensorList([2 * f, -P])
    ip = problem.ip_input(a, b)
    value = 2 * (f * f).sum() - (P * P).sum()
    assert len(ip) == 2 and all(torch.allclose(v, value) for v in ip)
    m1 = problem.M1(a)
    torch.testing.assert_close(m1[0], f / 0.1)
    torch.testing.assert_close(m1[1], P / 1e-4)


def test_conv_problem_residuals_and_cg_solution_equal_the_ridge_solution():
    x, y, f, _, w = tiny_case()
    x = x[:, :2]
    problem = ConvProblem(TensorList([x]), TensorList([y]), [0.1], TensorList([w]), make_activation("none"))
    data, reg = problem(TensorList([f]))
    torch.testing.assert_close(data, w.sqrt().view(-1, 1, 1, 1) * (correlate_same(x, f) - y))
    torch.testing.assert_close(reg, math.sqrt(0.1) * f)

    # Linear residuals: 8 CG iterations from zero solve the 8-unknown ridge regression exactly.
    design = torch.stack([correlate_same(x, e.view(1, 2, 2, 2)).flatten() for e in torch.eye(8, dtype=D64)], dim=1)
    weights = w.repeat_interleave(25)
    lhs = design.t() @ (weights[:, None] * design) + 0.1 * torch.eye(8, dtype=D64)
    ridge = torch.linalg.solve(lhs, design.t() @ (weights * y.flatten()))
    filt = TensorList([torch.zeros(1, 2, 2, 2, dtype=D64)])
    ConjugateGradient(problem, filt, fletcher_reeves=False).run(8)
    torch.testing.assert_close(filt[0].flatten(), ridge, rtol=1e-8, atol=1e-10)


def test_pca_projection_finds_the_principal_directions():
    # Channel data Q @ Z with zero-mean, mutually orthogonal rows of Z (variances 9, 4, 1): Q's columns are the
    # principal directions in that order.
    z = torch.tensor([[3.0, 3, -3, -3], [2, -2, 2, -2], [1, -1, -1, 1]], dtype=D64)
    q, _ = torch.linalg.qr(torch.tensor([[1.0, 2, 0], [0, 1, 1], [1, 0, 1]], dtype=D64))
    x = (q @ z + 5.0).reshape(3, 1, 2, 2).permute(1, 0, 2, 3)  # one sample, 3 channels, 2 x 2; offset removed
    proj = pca_projection(x, 2)
    assert proj.shape == (2, 3, 1, 1)
    overlap = proj[:, :, 0, 0] @ q
    torch.testing.assert_close(overlap.abs(), torch.tensor([[1.0, 0, 0], [0, 1, 0]], dtype=D64), atol=1e-10, rtol=0)


# ------------------------------------------------------------------------------------------------- geometry


def bare_tracker(feature_sz: float = 18.0, kernel: float = 4.0, sample_sz: float = 288.0, **overrides) -> ATOM:
    """An ATOM with the default parameters and a hand-set state (no network), for testing single steps."""
    params = default.parameters()
    for name, value in overrides.items():
        setattr(params, name, value)
    t = ATOM(params)
    t.fparams = TensorList([default.feature_params()])
    t.device = torch.device("cpu")
    t.img_sample_sz = t.img_support_sz = torch.tensor([sample_sz, sample_sz])
    t.output_sz = t.img_support_sz.clone()
    t.score_sz = (t.output_sz - (t.output_sz + 1) % 2).long()
    t.output_window = None
    t.feature_sz = TensorList([torch.tensor([feature_sz, feature_sz])])
    t.kernel_size = TensorList([torch.tensor([kernel, kernel])])
    t.sigma = TensorList([torch.tensor([1.5, 1.5])])
    t.pos, t.target_sz, t.target_scale = torch.tensor([100.0, 120.0]), torch.tensor([32.0, 32.0]), 1.0
    t.base_target_sz, t.image_sz = t.target_sz.clone(), torch.tensor([240.0, 320.0])
    return t


def test_sample_size_follows_area_bounds_and_stride_parity():
    t = ATOM(default.parameters())
    t.features = SimpleNamespace(stride=lambda: torch.tensor([16.0]))
    t.target_sz = torch.tensor([40.0, 50.0])
    t.setup_sample_size()
    assert math.isclose(t.target_scale, math.sqrt(250 * 200) / 288, rel_tol=1e-6)
    assert t.img_sample_sz.tolist() == [288.0, 288.0] and t.output_sz.tolist() == [288.0, 288.0]
    assert t.scale_factors.tolist() == [1.0]
    t.params.feature_size_odd = True
    t.setup_sample_size()
    assert t.img_sample_sz.tolist() == [304.0, 304.0]  # 19 cells: odd
    t.params.feature_size_odd = False
    t.params.search_area_shape = "initrect"
    t.setup_sample_size()
    assert t.img_sample_sz.tolist() == [256.0, 320.0]  # round(base size * 5) = (258, 322), snapped to even cells


def test_label_peaks_at_the_target():
    t = bare_tracker()
    centred = t.get_iounet_box(t.pos, t.target_sz, t.pos, 1.0)  # target at the patch centre
    assert centred.tolist() == [128.0, 128.0, 32.0, 32.0]
    (label,) = t.label_function(centred, 0)[:, 0]
    assert label.shape == (18, 18)
    # Even kernel: the 'same' output's zero displacement is cell 9 = 18 / 2.
    assert int(label.argmax()) == 9 * 18 + 9 and float(label[9, 9]) == 1.0
    assert math.isclose(float(label[9, 10]), math.exp(-1 / (2 * 1.5**2)), rel_tol=1e-6)
    # One cell (16 px) to the right and two up.
    shifted = t.label_function(centred + torch.tensor([16.0, -32.0, 0.0, 0.0]), 0)[0, 0]
    assert float(shifted[7, 10]) == 1.0
    # Odd kernel on an odd map: the middle cell.
    t = bare_tracker(feature_sz=19.0, kernel=5.0, sample_sz=304.0)
    label = t.label_function(t.get_iounet_box(t.pos, t.target_sz, t.pos, 1.0), 0)[0, 0]
    assert float(label[9, 9]) == 1.0


def test_upsampled_scores_put_zero_displacement_in_the_middle():
    t = bare_tracker()
    for (i, j), disp in (((9, 9), (0, 0)), ((9, 11), (0, 32)), ((3, 14), (-96, 80))):
        raw = torch.zeros(1, 1, 18, 18, dtype=D64)
        raw[0, 0, i, j] = 1.0
        scores = t.upsample_scores(TensorList([raw]))
        assert scores.shape == (1, 1, 287, 287)
        idx = int(scores.flatten().argmax())
        assert (idx // 287 - 143, idx % 287 - 143) == disp
    # Even kernel on an odd map: the output is centred half a cell (8 px) up-left.
    t = bare_tracker(feature_sz=19.0, kernel=4.0, sample_sz=304.0)
    raw = torch.zeros(1, 1, 19, 19, dtype=D64)
    raw[0, 0, 9, 10] = 1.0
    idx = int(t.upsample_scores(TensorList([raw])).flatten().argmax())
    assert (idx // 303 - 151, idx % 303 - 151) == (-8, 8)


def test_localize_target_translation_and_flags():
    t = bare_tracker()
    raw = torch.zeros(2, 1, 18, 18)
    raw[0, 0, 9, 11] = 1.0  # scale 0: 2 cells right
    raw[1, 0, 8, 9] = 0.5
    sample_pos = torch.tensor([100.0, 120.0])
    translation, scale_ind, scores, flag = t.localize_target(TensorList([raw]), sample_pos, torch.tensor([1.0, 2.0]))
    assert (scale_ind, flag) == (0, "normal") and scores.shape == (2, 1, 287, 287)
    assert translation.tolist() == [0.0, 32.0]
    raw[0, 0, 2, 2] = 0.95  # a distractor far from the target
    _, _, _, flag = t.localize_target(TensorList([raw]), sample_pos, torch.tensor([1.0, 2.0]))
    assert flag == "hard_negative"
    _, _, _, flag = t.localize_target(TensorList([raw * 0.1]), sample_pos, torch.tensor([1.0, 2.0]))
    assert flag == "not_found"
    # Simple localisation: the best scale's peak, scaled by that scale.
    t.params.advanced_localization = False
    raw = torch.zeros(2, 1, 18, 18)
    raw[1, 0, 10, 9] = 1.0
    translation, scale_ind, _, flag = t.localize_target(TensorList([raw]), sample_pos, torch.tensor([1.0, 2.0]))
    assert (scale_ind, flag, translation.tolist()) == (1, "normal", [32.0, 0.0])


def test_memory_update_stores_sample_label_and_weights():
    t = bare_tracker()
    boxes = torch.tensor([[128.0, 128.0, 32.0, 32.0]] * 2)
    t.memory = [SampleMemory(torch.zeros(2, 3, 18, 18), boxes, capacity=4, init_min_weight=0.0)]
    t.labels = TensorList([torch.zeros(4, 1, 18, 18)])
    box = torch.tensor([144.0, 112.0, 32.0, 32.0])  # one cell right, one up
    t.update_memory(TensorList([torch.ones(1, 3, 18, 18)]), box)
    torch.testing.assert_close(t.memory[0].weights, torch.tensor([0.495, 0.495, 0.01, 0.0]))
    assert float(t.labels[0][2, 0, 8, 10]) == 1.0 and float(t.labels[0][3].abs().sum()) == 0.0
    t.update_memory(TensorList([2 * torch.ones(1, 3, 18, 18)]), box, learning_rate=0.5)
    assert math.isclose(float(t.memory[0].weights[3]), 0.5, rel_tol=1e-6)
    assert float(t.memory[0].samples[3].mean()) == 2.0


def test_refinement_step_pair_is_expanded():
    t = bare_tracker(box_refinement_step_length=(2e-4, 1e-3), box_refinement_space="relative")
    assert RefinementSettings.from_params(t.params).step_length == (2e-4, 2e-4, 1e-3, 1e-3)
    assert RefinementSettings.from_params(bare_tracker().params).step_length == 1.0


def test_output_box_convention():
    t = bare_tracker()
    t.pos, t.target_sz = torch.tensor([50.0, 60.0]), torch.tensor([21.0, 31.0])
    assert t.current_box() == [45.0, 40.0, 31.0, 21.0]


# ------------------------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def network_dir(official_network_dir) -> Path:
    """A random ``atom_resnet18`` in the official layout, under the file names the parameter files use."""
    return official_network_dir("atom_default.pth", "atom_prob_ml", "atom_gmm_sampl")


def moving_square(directory: Path, num_frames: int = 5) -> Sequence:
    """A red rectangle moving right and down over a grey background (PNG frames)."""
    frames, boxes = [], []
    for i in range(num_frames):
        image = np.full((120, 160, 3), 60, np.uint8)
        x, y = 50 + 3 * i, 40 + 2 * i
        image[y : y + 24, x : x + 30] = (40, 40, 220)
        path = directory / f"{i:04d}.png"
        cv2.imwrite(str(path), image)
        frames.append(str(path))
        boxes.append([x, y, 30, 24])
    return Sequence("square", frames, "synthetic", np.array(boxes, dtype=np.float64))


def small(name: str):
    """The parameter file ``name`` made fast for CPU tests: 128 px search region, light augmentation, fewer
    optimiser iterations, frequent updates."""

    def parameters():
        params = load_params(name)
        params.max_image_sample_size = params.min_image_sample_size = 128**2
        params.augmentation = {
            "fliplr": True,
            "rotate": [10],
            "blur": [(2, 0.2)],
            "relativeshift": [(0.6, -0.6)],
            "dropout": (2, 0.2),
        }
        params.init_CG_iter, params.init_GN_iter, params.CG_iter = 8, 2, 2
        params.train_skipping = 2
        params.sample_memory_size = 20
        params.num_init_random_boxes = 4
        params.box_refinement_iter = 2
        return params

    return parameters


def run(name: str, seq: Sequence, seed: int) -> tuple[np.ndarray, list]:
    outputs = []

    def check(frame_num, image, out):
        validate_output(out, image.shape)
        outputs.append(out)

    result = Tracker("atom", name, parameters=small(name)).run_sequence(seq, seed=seed, callback=check)
    return np.array(result["target_bbox"], dtype=np.float64), outputs


def check_boxes(boxes: np.ndarray, num_frames: int, image_hw: tuple[int, int]) -> None:
    assert boxes.shape == (num_frames, 4) and np.isfinite(boxes).all() and (boxes[:, 2:] > 0).all()
    h, w = image_hw
    cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
    # The tracker keeps at least target_inside_ratio (0.2) of the target inside the image.
    mx, my = 0.3 * boxes[:, 2] + 1, 0.3 * boxes[:, 3] + 1
    assert ((cx >= -mx) & (cx <= w + mx) & (cy >= -my) & (cy <= h + my)).all()
    assert (boxes[:, 2] <= 2 * w).all() and (boxes[:, 3] <= 2 * h).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", PARAMETER_FILES)
def test_parameter_file_runs_on_synthetic_and_real_frames(name, network_dir, shared_real, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path)
    boxes, outputs = run(name, seq, seed=5)
    check_boxes(boxes, 5, (120, 160))
    assert boxes[0].tolist() == [50, 40, 30, 24]
    assert len(outputs) == 5 and all("target_bbox" in o for o in outputs[1:])
    again, _ = run(name, seq, seed=5)
    np.testing.assert_array_equal(boxes, again)

    full = OTBDataset(root=shared_real / "OTB").get_sequence("Crossing")
    real = Sequence("Crossing", full.frames[:5], "otb", full.ground_truth_rect[:5])
    real_boxes, _ = run(name, real, seed=7)
    check_boxes(real_boxes, 5, (240, 360))
    np.testing.assert_allclose(real_boxes[0], full.ground_truth_rect[0])


@pytest.mark.slow
def test_multiscale_without_iounet_follows_the_square_and_skips_the_iounet(network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path, num_frames=4)
    torch.manual_seed(0)
    tracker = ATOM(small("multiscale_no_iounet")())
    tracker.initialize(cv2.imread(seq.frames[0])[:, :, ::-1], {"init_bbox": list(seq.ground_truth_rect[0])})
    for frame in seq.frames[1:]:
        box = tracker.track(cv2.imread(frame)[:, :, ::-1].copy())["target_bbox"]
    # Even with random weights the classifier follows this easy target (deterministic given the seed).
    gt0, gt = seq.ground_truth_rect[0], seq.ground_truth_rect[-1]
    assert np.hypot(*(np.array(box[:2]) - gt[:2])) < 0.6 * np.hypot(*(gt0[:2] - gt[:2]))
    (feature,) = tracker.params.features.features
    assert feature._iounet_features is None and not hasattr(tracker, "iou_modulation")
    assert len(tracker.scale_factors) == 5


@pytest.mark.slow
def test_debug_views_and_refinement_on_the_default_tracker(network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path, num_frames=3)
    params = small("default")()
    params.target_not_found_threshold = -1.0  # a random classifier may score low: keep refining every frame
    torch.manual_seed(0)
    tracker = ATOM(params)
    registered = []
    tracker.visdom = SimpleNamespace(register=lambda data, mode, level, title: registered.append((mode, title)))
    frames = [cv2.imread(f)[:, :, ::-1].copy() for f in seq.frames]
    out = tracker.initialize(frames[0], {"init_bbox": list(seq.ground_truth_rect[0])})
    validate_output(out)
    assert tracker.img_sample_sz.tolist() == [128.0, 128.0] and tracker.feature_sz[0].tolist() == [8.0, 8.0]
    # 5 transforms + 2 dropout copies, projected to 64 channels.
    samples, boxes, weights = tracker.memory[0].stored()
    assert samples.shape == (7, 64, 8, 8) and math.isclose(float(weights.sum()), 1.0, rel_tol=1e-6)
    assert tracker.projection_matrix[0].shape == (64, 256, 1, 1) and tracker.filter[0].shape == (1, 64, 4, 4)
    first = tracker.current_box()
    for image in frames[1:]:
        validate_output(tracker.track(image), image.shape)
    assert ("heatmap", "Score Map") in registered and ("Tracking", "Tracking") in registered
    assert tracker.memory[0].num_stored == 9
    assert tracker.current_box() != first  # the IoU-Net moved the box
    assert torch.isfinite(tracker.filter[0]).all()


def test_feature_window_and_missing_features_are_handled():
    with pytest.raises(ValueError, match="params.features"):
        params = default.parameters()
        params.features = None
        ATOM(params).initialize(np.zeros((20, 20, 3), np.uint8), {"init_bbox": [5, 5, 4, 4]})
    t = bare_tracker(feature_window=True)
    t.setup_windows()
    x = TensorList([torch.ones(1, 2, 18, 18)])
    windowed = t.preprocess_sample(x)[0]
    hann = 0.5 * (1 - torch.cos(2 * math.pi * torch.arange(1, 19, dtype=D64) / 19))
    torch.testing.assert_close(windowed[0, 1], torch.outer(hann, hann).float())


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {"optimizer": "GradientDescentL2", "optimizer_step_length": 0.0005, "optimizer_momentum": 0.5},
        {"update_projection_matrix": False, "proj_init_method": "pca", "filter_init_method": "zeros"},
        {"use_projection_matrix": False, "CG_forgetting_rate": 75, "init_CG_iter": [3, 3]},
        {"feature_window": True, "window_output": True, "perform_hn_without_windowing": True},
        {"advanced_localization": False, "projection_activation": ("mlu", 0.1), "response_activation": "relu"},
    ],
)
def test_optional_settings_run(options, network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path, num_frames=3)
    params = small("default")()
    for name, value in options.items():
        setattr(params, name, value)
    torch.manual_seed(0)
    tracker = ATOM(params)
    frames = [cv2.imread(f)[:, :, ::-1].copy() for f in seq.frames]
    tracker.initialize(frames[0], {"init_bbox": list(seq.ground_truth_rect[0])})
    boxes = [tracker.track(image)["target_bbox"] for image in frames[1:]]
    check_boxes(np.array([list(seq.ground_truth_rect[0])] + boxes), 3, (120, 160))
    assert all(torch.isfinite(f).all() for f in tracker.filter)
    expected_dim = 256 if options.get("use_projection_matrix") is False else 64
    assert [tuple(m.shape) for m in tracker.iou_modulation] == [(1, 256, 1, 1), (1, 256, 1, 1)]
    assert tracker.filter[0].shape == (1, expected_dim, 4, 4)


@pytest.mark.slow
def test_iounet_augmentation_uses_the_box_preserving_samples(network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path, num_frames=2)
    params = small("default")()
    params.iounet_augmentation = True
    # Identity, shift, flip and blur keep the box; the dropout copies (identity transforms too) have no IoU features.
    params.augmentation = {"relativeshift": [(0.6, -0.6)], "fliplr": True, "blur": [1], "dropout": (2, 0.2)}
    params.random_shift_factor = 0
    params.features.initialize()
    regressor = params.features.features[0].net.bb_regressor
    calls = []
    real = regressor.get_modulation

    def spy(feat, boxes):
        calls.append(boxes.clone())
        return real(feat, boxes)

    monkeypatch.setattr(regressor, "get_modulation", spy)
    torch.manual_seed(0)
    tracker = ATOM(params)
    tracker.initialize(cv2.imread(seq.frames[0])[:, :, ::-1].copy(), {"init_bbox": list(seq.ground_truth_rect[0])})
    (boxes,) = calls
    box = tracker.get_iounet_box(tracker.pos, tracker.target_sz, tracker.pos.round(), tracker.target_scale)
    # Relative shift (dy, dx) = (0.6, -0.6) times half the 128 px sample, truncated to pixels: (38, -38).
    expected = torch.stack([box, box + torch.tensor([-38.0, 38.0, 0, 0]), box, box])
    torch.testing.assert_close(boxes, expected)
    assert [tuple(m.shape) for m in tracker.iou_modulation] == [(1, 256, 1, 1), (1, 256, 1, 1)]
