"""Frame sampling rules of ltr.data.sampler (fake datasets from this folder's conftest)."""

from __future__ import annotations

import pickle
import random
from collections import Counter

import numpy as np
import pytest
import torch

from ltr.data import sampler as smp
from pytracking.libs.tensordict import TensorDict

SMALL = (6, 8)  # frame size (H, W) where only the boxes matter


def _frame_ids(data: TensorDict, split: str) -> list[int]:
    """Frame ids recovered from the fake boxes (x = 20 + frame id)."""
    return [int(b[0].item()) - 20 for b in data[split + "_anno"]]


def test_item_content_and_length(fake_video_dataset):
    ds = fake_video_dataset(num_sequences=2, seq_len=25)
    s = smp.TrackingSampler([ds], None, samples_per_epoch=7, max_gap=5, num_test_frames=2, num_train_frames=3)
    assert len(s) == 7
    random.seed(0)
    d = s[0]
    assert isinstance(d, TensorDict)
    assert set(d) == {"train_images", "train_anno", "test_images", "test_anno", "dataset", "test_class"}
    assert len(d["train_images"]) == 3 and len(d["test_images"]) == 2
    assert d["train_images"][0].shape == (120, 160, 3) and d["train_images"][0].dtype == np.uint8
    assert d["dataset"] == "fake_video"
    seq_id = int(d["train_anno"][0][1].item()) - 30
    assert d["test_class"] == f"class{seq_id}"


def test_causal_sampling_orders_train_before_test_within_the_gap(fake_video_dataset):
    ds = fake_video_dataset(num_sequences=3, seq_len=60, image_size=SMALL)
    max_gap = 8
    s = smp.DiMPSampler([ds], None, 100, max_gap=max_gap, num_test_frames=3, num_train_frames=3)
    random.seed(1)
    for i in range(150):
        d = s[i]
        train, test = _frame_ids(d, "train"), _frame_ids(d, "test")
        base = train[0]
        assert 2 <= base < 60 - 3  # [num_train - 1, N - num_test)
        assert all(base - max_gap <= t < base for t in train[1:])
        assert all(base < t < base + max_gap for t in test)
        assert max(train) < min(test)


def test_interval_sampling_stays_within_the_gap(fake_video_dataset):
    ds = fake_video_dataset(num_sequences=2, seq_len=80, image_size=SMALL)
    s = smp.ATOMSampler([ds], None, 100, max_gap=10)
    assert (s.num_train_frames, s.num_test_frames, s.frame_sample_mode) == (1, 1, "interval")
    random.seed(2)
    offsets = []
    for i in range(200):
        d = s[i]
        (base,), (test,) = _frame_ids(d, "train"), _frame_ids(d, "test")
        assert -10 <= test - base < 10
        offsets.append(test - base)
    assert min(offsets) < 0 < max(offsets)  # test frames before and after the train frame


def test_invisible_frames_are_never_sampled(fake_video_dataset):
    hidden = set(range(0, 40, 3)) | {15, 16, 17}
    ds = fake_video_dataset(num_sequences=1, seq_len=40, invisible={0: sorted(hidden)}, image_size=SMALL)
    for mode in ("causal", "interval"):
        s = smp.TrackingSampler(
            [ds], None, 10, max_gap=6, num_test_frames=2, num_train_frames=2, frame_sample_mode=mode
        )
        random.seed(3)
        for i in range(100):
            d = s[i]
            assert not (set(_frame_ids(d, "train")) | set(_frame_ids(d, "test"))) & hidden


def test_gap_grows_until_test_frames_are_found(fake_video_dataset):
    # Visible frames every 10 frames only; with max_gap 3 no test frame is within reach until the gap has grown
    # by 10 (two failed attempts): the test frame is then always the next visible frame.
    n = 41
    visible_ids = {0, 10, 20, 30, 40}
    hidden = [f for f in range(n) if f not in visible_ids]
    ds = fake_video_dataset(num_sequences=1, seq_len=n, invisible={0: hidden}, image_size=SMALL)
    s = smp.DiMPSampler([ds], None, 10, max_gap=3, num_test_frames=1, num_train_frames=1)
    random.seed(4)
    for i in range(30):
        d = s[i]
        (base,), (test,) = _frame_ids(d, "train"), _frame_ids(d, "test")
        assert base in visible_ids and test == base + 10


def test_sequences_without_enough_visible_frames_are_skipped(fake_video_dataset):
    # Sequence 0: 30 frames, only 4 visible (needs > 2 * (1 + 1)); sequence 1: too short (15 < 20 frames).
    ds = fake_video_dataset(seq_len=[30, 15, 30], invisible={0: list(range(4, 30))}, image_size=SMALL)
    s = smp.DiMPSampler([ds], None, 10, max_gap=5, num_test_frames=1, num_train_frames=1)
    random.seed(5)
    seqs = {int(s[i]["train_anno"][0][1].item()) - 30 for i in range(40)}
    assert seqs == {2}


def test_image_datasets_repeat_their_single_frame(fake_image_dataset):
    ds = fake_image_dataset(num_images=3)
    s = smp.DiMPSampler([ds], None, 10, max_gap=50, num_test_frames=3, num_train_frames=2)
    random.seed(6)
    d = s[0]
    assert len(d["train_images"]) == 2 and len(d["test_images"]) == 3
    for img in d["train_images"] + d["test_images"]:
        np.testing.assert_array_equal(img, d["train_images"][0])
    assert all(torch.equal(b, d["train_anno"][0]) for b in d["train_anno"] + d["test_anno"])
    assert d["dataset"] == "fake_image" and d["test_class"] is None


def test_dataset_choice_follows_the_probabilities(fake_video_dataset, fake_image_dataset):
    # Tiny frames: this test draws many samples and looks only at the dataset names.
    video = fake_video_dataset(num_sequences=1, image_size=(4, 4))
    image = fake_image_dataset(num_images=3, image_size=(4, 4))
    s = smp.DiMPSampler([video, image], [1, 0], 10, max_gap=5, num_test_frames=1)
    random.seed(7)
    assert {s[i]["dataset"] for i in range(30)} == {"fake_video"}
    s = smp.DiMPSampler([video, image], [3, 1], 10, max_gap=5, num_test_frames=1)
    counts = Counter(s[i]["dataset"] for i in range(800))
    assert counts["fake_video"] / 800 == pytest.approx(0.75, abs=0.05)
    # Default: proportional to the dataset sizes (1 sequence vs 3 images).
    s = smp.DiMPSampler([video, image], None, 10, max_gap=5, num_test_frames=1)
    assert s.p_datasets == [0.25, 0.75]


def test_sampling_is_deterministic_under_seeds_and_processing_is_applied(fake_video_dataset):
    ds = fake_video_dataset(num_sequences=3, seq_len=40, image_size=SMALL)
    s = smp.DiMPSampler([ds], None, 10, max_gap=10, num_test_frames=2, num_train_frames=2)

    def run():
        random.seed(8)
        return [(_frame_ids(s[i], "train"), _frame_ids(s[i], "test")) for i in range(20)]

    first, second = run(), run()
    assert first == second and len(set(map(str, first))) > 5

    s.processing = lambda data: ("processed", data["dataset"])
    assert s[0] == ("processed", "fake_video")


def test_sampler_pickles(fake_video_dataset):
    s = smp.DiMPSampler([fake_video_dataset()], None, 10, max_gap=10, num_test_frames=2)
    s2 = pickle.loads(pickle.dumps(s))
    random.seed(9)
    a = _frame_ids(s[0], "test")
    random.seed(9)
    assert _frame_ids(s2[0], "test") == a


def test_invalid_arguments(fake_video_dataset):
    with pytest.raises(ValueError):
        smp.TrackingSampler([fake_video_dataset()], None, 10, 5, 1, frame_sample_mode="random")
    with pytest.raises(ValueError):
        smp.TrackingSampler([fake_video_dataset()], [1, 2], 10, 5, 1)
    with pytest.raises(ValueError):
        smp.TrackingSampler([fake_video_dataset()], [0], 10, 5, 1)


def test_unusable_datasets_and_sequences_raise_instead_of_looping(fake_video_dataset):
    ds = fake_video_dataset(num_sequences=2, seq_len=19)  # every sequence is too short
    s = smp.DiMPSampler([ds], None, 10, max_gap=5, num_test_frames=1)
    random.seed(10)
    with pytest.raises(RuntimeError, match="no sequence"):
        s[0]
    # No visible base frame in [num_train - 1, N - num_test): the causal rule cannot be met.
    visible = torch.tensor([False] * 25 + [True] * 5)
    s = smp.DiMPSampler([ds], None, 10, max_gap=5, num_test_frames=7)
    with pytest.raises(RuntimeError, match="no causal"):
        s._sample_causal(visible)
