"""ATOM / DiMP / probabilistic processing: output keys, shapes, crop geometry, proposals and labels."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import torch

from ltr.data import processing, sampler
from ltr.data import processing_utils as pu
from ltr.data import transforms as tfm
from pytracking.libs.tensordict import TensorDict

ZERO_JITTER = {"center_jitter_factor": {"train": 0, "test": 0}, "scale_jitter_factor": {"train": 0, "test": 0}}
JITTER = {"center_jitter_factor": {"train": 3, "test": 4.5}, "scale_jitter_factor": {"train": 0.25, "test": 0.5}}
IOU_PROPOSALS = {"min_iou": 0.1, "boxes_per_frame": 8, "sigma_factor": [0.01, 0.05, 0.1, 0.2, 0.3]}
LABEL_PARAMS = {"sigma_factor": 0.05, "kernel_sz": 4, "feature_sz": 8, "end_pad_if_even": True}
GMM_PROPOSALS = {"boxes_per_frame": 16, "gt_sigma": (0.05, 0.05), "proposal_sigma": [(0.05, 0.05), (0.5, 0.5)]}


def _sample(fake_video_dataset, num_train=3, num_test=3, seed=0) -> TensorDict:
    """One raw sampler item (no processing) from the fake video dataset."""
    s = sampler.DiMPSampler([fake_video_dataset()], None, 10, 10, num_test, num_train)
    random.seed(seed)
    return s[0]


def _box_of_frame(data: TensorDict, split: str, i: int) -> torch.Tensor:
    return data[split + "_anno"][i].clone()


def test_dimp_sequence_outputs_and_exact_crop_boxes(fake_video_dataset):
    raw = _sample(fake_video_dataset)
    proc = processing.DiMPProcessing(
        2.0, 64, **ZERO_JITTER, mode="sequence", proposal_params=IOU_PROPOSALS, label_function_params=LABEL_PARAMS
    )
    torch.manual_seed(0)
    out = proc(raw.copy())
    assert set(out) == {
        "train_images",
        "train_anno",
        "test_images",
        "test_anno",
        "dataset",
        "test_class",
        "test_proposals",
        "proposal_iou",
        "train_label",
        "test_label",
    }
    assert out["train_images"].shape == (3, 3, 64, 64) and out["test_images"].shape == (3, 3, 64, 64)
    assert out["train_anno"].shape == (3, 4) and out["test_anno"].shape == (3, 4)
    assert out["test_proposals"].shape == (3, 8, 4) and out["proposal_iou"].shape == (3, 8)
    assert out["train_label"].shape == (3, 9, 9) and out["test_label"].shape == (3, 9, 9)
    # Fake boxes are 40 x 30 centred at (40 + f, 45 + s): crop side ceil(sqrt(1200) * 2) = 70 with corner
    # (5 + f, 10 + s), inside the 160 x 120 frame, so every target lands at (15, 20) * 64 / 70.
    expected = torch.tensor([15.0, 20.0, 40.0, 30.0]) * 64 / 70
    for split in ("train", "test"):
        torch.testing.assert_close(out[split + "_anno"], expected.expand(3, 4))
    assert out["dataset"] == "fake_video"


def test_dimp_proposal_iou_is_twice_the_iou_minus_one(fake_video_dataset):
    proc = processing.DiMPProcessing(2.0, 64, **JITTER, mode="sequence", proposal_params=IOU_PROPOSALS)
    random.seed(1)
    torch.manual_seed(1)
    out = proc(_sample(fake_video_dataset, seed=1))
    assert "train_label" not in out
    for f in range(3):
        iou = pu.iou(out["test_anno"][f].view(1, 4), out["test_proposals"][f])
        torch.testing.assert_close(out["proposal_iou"][f], 2 * iou - 1, rtol=0, atol=1e-6)
    assert out["proposal_iou"].min() > 2 * 0.1 - 1 and out["proposal_iou"].max() <= 1


def test_dimp_labels_are_the_gaussians_of_the_crop_boxes(fake_video_dataset):
    proc = processing.DiMPProcessing(
        5.0, (96, 64), **JITTER, crop_type="inside_major", max_scale_change=1.5, mode="sequence",
        label_function_params={"sigma_factor": 0.05, "kernel_sz": 4, "feature_sz": (12, 8)},
    )  # fmt: skip
    torch.manual_seed(2)
    out = proc(_sample(fake_video_dataset, seed=2))
    assert out["train_images"].shape == (3, 3, 64, 96)
    expected = pu.gaussian_label_function(out["test_anno"], 0.05, 4, (12, 8), (96, 64))
    assert out["test_label"].shape == (3, 9, 13)
    torch.testing.assert_close(out["test_label"], expected, rtol=0, atol=0)


def test_pair_mode_outputs_single_frames_and_rejects_several(fake_video_dataset):
    proc = processing.ATOMProcessing(
        2.0, 64, **JITTER, proposal_params={**IOU_PROPOSALS, "boxes_per_frame": 16}, mode="pair"
    )
    torch.manual_seed(3)
    out = proc(_sample(fake_video_dataset, num_train=1, num_test=1, seed=3))
    assert out["train_images"].shape == (3, 64, 64) and out["test_anno"].shape == (4,)
    assert out["test_proposals"].shape == (16, 4) and out["proposal_iou"].shape == (16,)
    torch.testing.assert_close(
        out["proposal_iou"], 2 * pu.iou(out["test_anno"].view(1, 4), out["test_proposals"]) - 1, rtol=0, atol=1e-6
    )
    with pytest.raises(ValueError, match="pair"):
        proc(_sample(fake_video_dataset, num_train=2, num_test=1))


def test_atom_zero_jitter_centres_the_target(fake_video_dataset):
    proc = processing.ATOMProcessing(2.0, 63, **ZERO_JITTER, proposal_params=IOU_PROPOSALS, mode="sequence")
    out = proc(_sample(fake_video_dataset, seed=4))
    # transform_image_to_crop puts the (unjittered) target centre at (63 - 1) / 2 = 31.
    centres = out["test_anno"][:, :2] + out["test_anno"][:, 2:] / 2
    torch.testing.assert_close(centres, torch.full((3, 2), 31.0))
    assert out["test_proposals"].shape == (3, 8, 4)


def test_gmm_proposal_method(fake_video_dataset):
    params = {"boxes_per_frame": 12, "proposal_method": "gmm", "proposal_sigma": [(0.05, 0.05), (0.3, 0.3)]}
    proc = processing.DiMPProcessing(2.0, 64, **JITTER, mode="sequence", proposal_params=params)
    torch.manual_seed(5)
    out = proc(_sample(fake_video_dataset, seed=5))
    assert out["test_proposals"].shape == (3, 12, 4)
    iou = pu.iou(out["test_anno"][0].view(1, 4), out["test_proposals"][0])
    torch.testing.assert_close(out["proposal_iou"][0], 2 * iou - 1)


def test_klbbreg_outputs(fake_video_dataset):
    proc = processing.KLBBregProcessing(
        2.0, 64, **JITTER, mode="sequence", proposal_params={**GMM_PROPOSALS, "add_mean_box": True}
    )
    torch.manual_seed(6)
    out = proc(_sample(fake_video_dataset, seed=6))
    assert out["test_proposals"].shape == (3, 17, 4)
    assert out["proposal_density"].shape == (3, 17) and out["gt_density"].shape == (3, 17)
    torch.testing.assert_close(out["test_proposals"][:, 0], out["test_anno"])
    assert torch.all(out["proposal_density"][:, 0] == -1) and torch.all(out["gt_density"][:, 0] == 1)
    assert torch.all(out["proposal_density"][:, 1:] > 0)


def test_kldimp_label_densities_and_distractors(fake_video_dataset):
    density_params = {**LABEL_PARAMS, "normalize": True}
    proc = processing.KLDiMPProcessing(
        2.0, 64, **ZERO_JITTER, mode="sequence", proposal_params=GMM_PROPOSALS,
        label_function_params=LABEL_PARAMS, label_density_params=density_params,
    )  # fmt: skip
    raw = _sample(fake_video_dataset, seed=7)
    raw["is_distractor_test_frame"] = [False, True, False]
    torch.manual_seed(7)
    out = proc(raw)
    for key, shape in [
        ("test_proposals", (3, 16, 4)),
        ("proposal_density", (3, 16)),
        ("gt_density", (3, 16)),
        ("train_label", (3, 9, 9)),
        ("test_label", (3, 9, 9)),
        ("train_label_density", (3, 9, 9)),
        ("test_label_density", (3, 9, 9)),
    ]:
        assert out[key].shape == shape, key
    torch.testing.assert_close(out["train_label_density"].sum(dim=(-2, -1)), torch.ones(3))
    # The distractor frame's box is moved out of the crop: zero label, uniform density.
    assert out["test_anno"][1, 0].item() == pytest.approx(99999999.9)
    assert out["test_label"][1].max() == 0
    torch.testing.assert_close(out["test_label_density"][1], torch.full((9, 9), 1 / 81))
    assert out["test_label"][0].max() > 0.5


def test_joint_transform_rolls_once_and_split_transforms_roll_per_frame(fake_video_dataset):
    class CountingRoll(tfm.TransformBase):
        def __init__(self):
            super().__init__()
            self.rolls = 0

        def roll(self):
            self.rolls += 1

    joint, split = CountingRoll(), CountingRoll()
    proc = processing.DiMPProcessing(
        2.0, 32, **JITTER, mode="sequence",
        joint_transform=tfm.Transform(joint), transform=tfm.Transform(split, tfm.ToTensor()),
    )  # fmt: skip
    proc(_sample(fake_video_dataset, num_train=2, num_test=3))
    assert joint.rolls == 1  # train frames roll, test frames reuse it (new_roll=False)
    assert split.rolls == 5  # one roll per cropped frame


def test_train_and_test_transforms_are_separate(fake_video_dataset):
    proc = processing.DiMPProcessing(
        2.0, 32, **ZERO_JITTER, mode="sequence",
        train_transform=tfm.ToTensor(),
        test_transform=tfm.Transform(tfm.ToTensor(), tfm.Normalize([1, 1, 1], [1, 1, 1])),
    )  # fmt: skip
    out = proc(_sample(fake_video_dataset))
    assert out["train_images"].min() >= 0 and out["test_images"].max() <= 0


def test_joint_flip_is_consistent_across_frames(fake_video_dataset):
    proc = processing.DiMPProcessing(
        2.0, 64, **ZERO_JITTER, mode="sequence", joint_transform=tfm.RandomHorizontalFlip(1.0)
    )
    out = proc(_sample(fake_video_dataset))
    # Flipping the frames flips the crops (centred crops of the flipped boxes): the red target stays centred.
    img = out["test_images"][0].numpy()
    red = (img[0] > 0.99) & (img[1] < 0.01) & (img[2] < 0.01)
    ys, xs = np.nonzero(red)
    assert abs((xs.min() + xs.max() + 1) / 2 - 32) <= 1 and abs((ys.min() + ys.max() + 1) / 2 - 32) <= 1


def test_processing_is_deterministic_under_seeds_and_pickles(fake_video_dataset):
    proc = processing.DiMPProcessing(
        5.0, 64, **JITTER, mode="sequence", proposal_params=IOU_PROPOSALS, label_function_params=LABEL_PARAMS,
        transform=tfm.Transform(tfm.ToTensorAndJitter(0.2), tfm.Normalize([0.5] * 3, [0.25] * 3)),
        joint_transform=tfm.Transform(tfm.ToGrayscale(0.5)),
    )  # fmt: skip
    clone = pickle.loads(pickle.dumps(proc))
    raw = _sample(fake_video_dataset, seed=8)

    def run(p):
        random.seed(9)
        np.random.seed(9)
        torch.manual_seed(9)
        return p(TensorDict({k: list(v) if isinstance(v, list) else v for k, v in raw.items()}))

    a, b = run(proc), run(clone)
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[key]), key
        else:
            assert value == b[key]


def test_invalid_arguments():
    with pytest.raises(ValueError):
        processing.DiMPProcessing(2.0, 64, **JITTER, mode="triplet")
    with pytest.raises(ValueError):
        processing.DiMPProcessing(2.0, 64, **JITTER, crop_type="reflect")
    with pytest.raises(NotImplementedError):
        processing.BaseProcessing()(TensorDict())


def test_stack_tensors():
    assert processing.stack_tensors([torch.zeros(2), torch.ones(2)]).shape == (2, 2)
    assert processing.stack_tensors((torch.zeros(1),)).shape == (1, 1)
    assert processing.stack_tensors(["a", "b"]) == ["a", "b"]
    assert processing.stack_tensors("name") == "name"
