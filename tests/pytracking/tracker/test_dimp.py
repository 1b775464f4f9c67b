"""DiMP tracker: sample memory, localisation flags, IoU-Net box refinement, and end-to-end runs with randomly
initialised networks written in the official checkpoint layout."""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from ltr.admin.checkpoint import save_network
from ltr.models.tracking import dimpnet
from pytracking.evaluation import Sequence, Tracker
from pytracking.evaluation.otbdataset import OTBDataset
from pytracking.parameter.dimp import dimp18
from pytracking.tracker.dimp import get_tracker_class
from pytracking.tracker.dimp.dimp import DiMP
from pytracking.tracker.dimp.memory import SampleMemory
from pytracking.utils.box_ops import rect_to_rel, rel_to_rect

PARAMETER_FILES = [
    "dimp18",
    "dimp50",
    "prdimp18",
    "prdimp50",
    "super_dimp",
    "dimp18_vot18",
    "dimp50_vot18",
    "dimp50_vot19",
    "prdimp50_vot18",
]

# Constructor arguments of the networks written here: the official ones (see OFFICIAL_NETWORKS in conftest.py),
# except the initial-filter label sigmas (0.9 here, 4.5 there) and PrDiMP-18's optim_min_reg (the default here).
DIMP18_KWARGS = dict(
    filter_size=4,
    optim_iter=5,
    optim_init_step=0.9,
    optim_init_reg=0.1,
    init_gauss_sigma=0.9,
    num_dist_bins=100,
    bin_displacement=0.1,
    mask_init_factor=3.0,
)
PRDIMP18_KWARGS = dict(
    filter_size=4,
    optim_iter=5,
    optim_init_step=1.0,
    optim_init_reg=0.05,
    gauss_sigma=0.9,
    alpha_eps=0.05,
    normalize_label=True,
    init_initializer="zero",
)


# ---------------------------------------------------------------------------------------------------- helpers


def write_network(directory: Path, file_name: str, factory, **kwargs) -> None:
    """A randomly initialised network saved like the official model files."""
    torch.manual_seed(0)
    net = factory(backbone_pretrained=False, **kwargs)
    save_network(directory / file_name, net, epoch=50, actor_type="DiMPActor")


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("networks")
    write_network(directory, "dimp18.pth", dimpnet.dimpnet18, **DIMP18_KWARGS)
    write_network(directory, "prdimp18.pth.tar", dimpnet.klcedimpnet18, **PRDIMP18_KWARGS)
    return directory


def moving_square(directory: Path, num_frames: int = 8) -> Sequence:
    """A red rectangle moving right and down over a grey background, saved as PNG frames."""
    frames, boxes = [], []
    for i in range(num_frames):
        image = np.full((120, 160, 3), 60, np.uint8)
        x, y = 40 + 3 * i, 30 + 2 * i
        image[y : y + 24, x : x + 30] = (40, 40, 220)  # BGR on disk: red once read as RGB
        path = directory / f"{i:04d}.png"
        cv2.imwrite(str(path), image)
        frames.append(str(path))
        boxes.append([x, y, 30, 24])
    return Sequence("square", frames, "synthetic", np.array(boxes, dtype=np.float64))


def check_boxes(output: dict, num_frames: int, image_hw: tuple[int, int]) -> np.ndarray:
    boxes = np.array(output["target_bbox"], dtype=np.float64)
    assert boxes.shape == (num_frames, 4)
    assert np.isfinite(boxes).all()
    assert (boxes[:, 2:] > 0).all()
    h, w = image_hw
    cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
    assert ((cx >= 0) & (cx <= w) & (cy >= 0) & (cy <= h)).all()
    assert (boxes[:, 2] <= 2 * w).all() and (boxes[:, 3] <= 2 * h).all()
    return boxes


def bare_tracker(**overrides) -> DiMP:
    """A DiMP with the dimp18 parameters and a hand-set state (no network), for testing single steps."""
    params = dimp18.parameters()
    for name, value in overrides.items():
        setattr(params, name, value)
    tracker = DiMP(params)
    tracker.feature_sz = torch.tensor([18.0, 18.0])
    tracker.kernel_size = torch.tensor([4.0, 4.0])
    tracker.img_sample_sz = torch.tensor([288.0, 288.0])
    tracker.img_support_sz = tracker.img_sample_sz
    tracker.output_window = None
    tracker.pos = torch.tensor([100.0, 100.0])
    tracker.target_sz = torch.tensor([32.0, 32.0])
    tracker.target_scale = 1.0
    return tracker


# ------------------------------------------------------------------------------------------- parameter files


def test_tracker_class_and_parameter_values():
    assert get_tracker_class() is DiMP
    params = {
        name: importlib.import_module(f"pytracking.parameter.dimp.{name}").parameters() for name in PARAMETER_FILES
    }
    for name, p in params.items():
        assert set(p.to_dict()) >= set(DiMP.DEFAULTS), name
    assert params["dimp50"].net.net_path == "dimp50.pth" and params["dimp18"].net.net_path == "dimp18.pth"
    assert params["dimp50"].image_sample_size == 288 and params["dimp50"].search_area_scale == 5
    assert params["dimp50"].augmentation["relativeshift"][1] == (-0.6, 0.6)
    assert params["prdimp18"].score_preprocess == "softmax" and params["prdimp18"].box_refinement_space == "relative"
    assert params["prdimp18"].target_not_found_threshold == 0.04
    assert params["prdimp50"].border_mode == "inside_major" and params["prdimp50"].image_sample_size == 352
    assert params["super_dimp"].score_preprocess == "none" and params["super_dimp"].patch_max_scale_change == 1.5
    assert params["super_dimp"].net.net_path == "super_dimp.pth.tar"
    assert params["dimp18_vot18"].feature_size_odd is False and params["dimp18_vot18"].image_sample_size == 224
    assert params["dimp50_vot18"].perform_hn_without_windowing is True
    assert params["dimp50_vot19"].image_sample_size == 256 and params["dimp50_vot19"].box_refinement_iter == 3
    assert params["prdimp50_vot18"].train_skipping == 1 and params["prdimp50_vot18"].score_preprocess == "none"


# ----------------------------------------------------------------------------------------------- sample memory


def test_sample_memory_weights_and_replacement():
    samples = torch.arange(2.0).reshape(2, 1, 1, 1)
    mem = SampleMemory(samples, torch.zeros(2, 4), capacity=3, init_min_weight=0.0)
    assert mem.add(torch.full((1, 1, 1, 1), 5.0), torch.ones(4), 0.2) == 2
    torch.testing.assert_close(mem.weights, torch.tensor([0.4, 0.4, 0.2]))
    # Full: the lowest weight is replaced, initial samples included when they are not protected.
    assert mem.add(torch.full((1, 1, 1, 1), 6.0), torch.ones(4), 0.5) == 2
    torch.testing.assert_close(mem.weights, torch.tensor([0.2, 0.2, 0.5]) / 0.9)
    stored, boxes, weights = mem.stored()
    assert stored.flatten().tolist() == [0.0, 1.0, 6.0] and math.isclose(float(weights.sum()), 1.0, rel_tol=1e-6)


def test_sample_memory_protects_initial_samples():
    mem = SampleMemory(torch.zeros(2, 1, 1, 1), torch.zeros(2, 4), capacity=4, init_min_weight=0.25)
    slots = [mem.add(torch.full((1, 1, 1, 1), float(i)), torch.ones(4), 0.5) for i in range(1, 6)]
    assert slots[:2] == [2, 3]
    assert all(s in (2, 3) for s in slots)  # initial slots are never overwritten
    assert math.isclose(float(mem.weights[:2].sum()), 0.25, rel_tol=1e-6)
    assert math.isclose(float(mem.weights.sum()), 1.0, rel_tol=1e-6)


# ------------------------------------------------------------------------------------------------ geometry


def test_iounet_box_and_output_box():
    tracker = bare_tracker()
    # Target centred on the sample: its box is centred in the 288 x 288 patch.
    box = tracker.get_iounet_box(
        torch.tensor([100.0, 100.0]), torch.tensor([32.0, 64.0]), torch.tensor([100.0, 100.0]), 2.0
    )
    assert box.tolist() == [128.0, 136.0, 32.0, 16.0]
    assert tracker.current_box() == [84.5, 84.5, 32.0, 32.0]
    # The centred sample position moves half a cell when feature size + kernel size is odd.
    tracker.kernel_size = torch.tensor([3.0, 3.0])
    assert tracker.get_centered_sample_pos().tolist() == [108.0, 108.0]


def test_softmax_score_preprocessing_with_regulariser():
    tracker = bare_tracker(score_preprocess="softmax", softmax_reg=1.0)
    scores = torch.tensor([0.0, 1.0, 2.0, math.log(3.0)], dtype=torch.float64).reshape(1, 1, 2, 2)
    out = tracker.preprocess_scores(scores)
    denom = 1 + math.e + math.e**2 + 3 + math.e
    torch.testing.assert_close(out.flatten(), torch.tensor([1, math.e, math.e**2, 3], dtype=torch.float64) / denom)


def score_map(peaks: dict[tuple[int, int], float]) -> torch.Tensor:
    scores = torch.zeros(1, 1, 19, 19)
    for (y, x), v in peaks.items():
        scores[0, 0, y, x] = v
    return scores


@pytest.mark.parametrize(
    ("peaks", "flag", "disp"),
    [
        ({(9, 9): 0.2}, "not_found", (0, 0)),
        ({(9, 11): 1.0}, "normal", (0, 2)),
        ({(9, 9): 1.0, (9, 10): 0.95}, "normal", (0, 0)),  # inside the masked neighbourhood
        ({(9, 9): 1.0, (2, 2): 0.6}, "hard_negative", (0, 0)),  # weaker distractor
        ({(9, 9): 1.0, (1, 1): 0.9}, "hard_negative", (0, 0)),  # strong distractor far from the previous position
        ({(16, 16): 1.0, (9, 9): 0.9}, "hard_negative", (0, 0)),  # the runner-up sits where the target was
        ({(1, 1): 1.0, (17, 17): 0.9}, "uncertain", (-8, -8)),  # both far away
    ],
)
def test_localize_advanced_flags(peaks, flag, disp):
    tracker = bare_tracker()
    sample_pos = torch.tensor([[100.0, 100.0]])
    translation, scale_ind, _, got = tracker.localize_target(score_map(peaks), sample_pos, torch.tensor([1.0]))
    assert (got, scale_ind) == (flag, 0)
    assert translation.tolist() == [16.0 * d for d in disp]


# ----------------------------------------------------------------------------------------- box refinement


def quadratic_iou_net(target: torch.Tensor) -> SimpleNamespace:
    """A stand-in IoU predictor whose 'IoU' is ``-|box - target|^2 / 2``: gradient ``target - box``."""

    def predict_iou(modulation, feat, boxes):
        return -0.5 * ((boxes - target) ** 2).sum(-1)

    return SimpleNamespace(bb_regressor=SimpleNamespace(predict_iou=predict_iou))


def test_optimize_boxes_default_space_scales_steps_by_box_size():
    tracker = bare_tracker(box_refinement_iter=1, box_refinement_step_length=0.01, box_refinement_space="default")
    target = torch.tensor([12.0, 8.0, 20.0, 10.0], dtype=torch.float64)
    tracker.net, tracker.iou_modulation = quadratic_iou_net(target), None
    box = torch.tensor([[10.0, 10.0, 20.0, 10.0]], dtype=torch.float64)
    out, iou = tracker.optimize_boxes([], box)
    # step * grad * [w, h, w, h] = 0.01 * [2, -2, 0, 0] * [20, 10, 20, 10]
    torch.testing.assert_close(out, torch.tensor([[10.4, 9.8, 20.0, 10.0]], dtype=torch.float64))
    torch.testing.assert_close(iou, torch.tensor([-4.0], dtype=torch.float64))  # of the boxes before the step


def test_optimize_boxes_relative_space_converges():
    tracker = bare_tracker(box_refinement_iter=150, box_refinement_step_length=1e-3, box_refinement_space="relative")
    target = torch.tensor([12.0, 8.0, 22.0, 11.0], dtype=torch.float64)
    tracker.net, tracker.iou_modulation = quadratic_iou_net(target), None
    boxes = torch.tensor([[10.0, 10.0, 20.0, 10.0], [14.0, 7.0, 25.0, 12.0]], dtype=torch.float64)
    out, _ = tracker.optimize_boxes([], boxes)
    torch.testing.assert_close(out, target.expand(2, 4), atol=1e-3, rtol=0)
    # Relative parametrisation round trip (normalised by the first box's size).
    rel = rect_to_rel(boxes, boxes[:1, 2:])
    torch.testing.assert_close(rel_to_rect(rel, boxes[:1, 2:]), boxes)


# ------------------------------------------------------------------------------------------------ end to end


def small_dimp18():
    """dimp18 with a small search region and light augmentation (fast on CPU), and the not-found test off: a
    random network scores low everywhere, and every frame should exercise the IoU-Net refinement and update."""
    params = dimp18.parameters()
    params.image_sample_size = 8 * 16
    params.augmentation = {"fliplr": True, "relativeshift": [(0.6, -0.6)], "dropout": (1, 0.2)}
    params.target_not_found_threshold = -1.0
    params.train_skipping = 2
    params.num_init_random_boxes = 4
    params.box_refinement_iter = 2
    return params


@pytest.mark.slow
def test_small_dimp18_refines_boxes_deterministically(network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path, num_frames=4)
    tracker = Tracker("dimp", "dimp18", parameters=small_dimp18)
    runs = [check_boxes(tracker.run_sequence(seq, seed=s), 4, (120, 160)) for s in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0][0].tolist() == [40, 30, 30, 24]
    assert not np.array_equal(runs[0][1:], np.repeat(runs[0][:1], 3, axis=0))  # the box is refined
    assert not np.array_equal(runs[0], runs[2])  # random augmentation shifts and proposals depend on the seed


@pytest.mark.slow
def test_dimp18_parameter_file_on_moving_square(network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path)
    runs = [Tracker("dimp", "dimp18").run_sequence(seq, seed=3) for _ in range(2)]
    boxes = check_boxes(runs[0], 8, (120, 160))
    np.testing.assert_array_equal(boxes, np.array(runs[1]["target_bbox"]))
    assert boxes[0].tolist() == [40, 30, 30, 24]


@pytest.mark.slow
def test_prdimp18_runs(network_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    seq = moving_square(tmp_path, num_frames=5)
    runs = [Tracker("dimp", "prdimp18").run_sequence(seq, seed=0) for _ in range(2)]
    boxes = check_boxes(runs[0], 5, (120, 160))
    np.testing.assert_array_equal(boxes, np.array(runs[1]["target_bbox"]))


@pytest.mark.slow
def test_dimp18_on_real_otb_crossing(network_dir, shared_real, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(network_dir))
    full = OTBDataset(root=shared_real / "OTB").get_sequence("Crossing")
    seq = Sequence("Crossing", full.frames[:5], "otb", full.ground_truth_rect[:5])
    runs = [Tracker("dimp", "dimp18").run_sequence(seq, seed=7) for _ in range(2)]
    boxes = check_boxes(runs[0], 5, (240, 360))
    np.testing.assert_array_equal(boxes, np.array(runs[1]["target_bbox"]))
    np.testing.assert_allclose(boxes[0], full.ground_truth_rect[0])
