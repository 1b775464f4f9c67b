"""SyntheticTracking over a tiny generated split: it must agree exactly with the evaluation-side loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ltr.dataset import SyntheticTracking
from pytracking.evaluation.syntheticdataset import SyntheticDataset
from pytracking.utils.box_ops import mask_to_xywh
from pytracking.utils.image_io import imread

# Small and quick to render; the cache is keyed on these parameters.
TINY = dict(num_sequences=3, min_frames=10, max_frames=10, width=48, height=36, textures="procedural")


@pytest.fixture(scope="module")
def syn_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    SyntheticTracking(root=root, **TINY)
    return root


def test_matches_the_evaluation_loader(syn_root):
    d = SyntheticTracking(root=syn_root, **TINY)
    seqs = SyntheticDataset("synthetic_train", root=syn_root, **TINY).get_sequence_list()
    assert d.get_name() == "synthetic_train" and d.sequence_list == seqs.names() and len(d) == 3
    assert d.has_class_info() and d.has_occlusion_info() and d.has_segmentation_info()
    assert not d.is_synthetic_video_dataset() and d.is_video_sequence()
    for seq_id, seq in enumerate(seqs):
        info = d.get_sequence_info(seq_id)
        assert info["bbox"].dtype == torch.float32
        np.testing.assert_array_equal(info["bbox"].numpy(), seq.ground_truth_rect)
        np.testing.assert_array_equal(info["visible"].numpy(), seq.target_visible)
        np.testing.assert_array_equal(info["valid"].numpy(), seq.target_visible)  # absent frames have 0,0,0,0
        assert ((info["visible_ratio"] > 0) == info["visible"]).all()
        assert info["visible_ratio"].max() <= 1


def test_frames_and_masks(syn_root):
    d = SyntheticTracking(root=syn_root, **TINY)
    seq = SyntheticDataset("synthetic_train", root=syn_root, **TINY).get_sequence_list()[1]
    ids = [0, 9, 4]
    frames, anno, meta = d.get_frames(1, ids)
    assert set(anno) == {"bbox", "valid", "visible", "visible_ratio", "mask"}
    for f, frame, mask, box in zip(ids, frames, anno["mask"], anno["bbox"]):
        assert frame.shape == (36, 48, 3) and frame.dtype == np.uint8
        np.testing.assert_array_equal(frame, imread(seq.frames[f]))
        assert mask.shape == (36, 48) and mask.dtype == torch.float32
        assert torch.equal(mask_to_xywh(mask).float(), box)
    assert meta["object_class_name"] in ("ellipse", "polygon", "rounded_rect")
    assert d.get_sequences_in_class(meta["object_class_name"]).count(1) == 1
    assert sorted(i for c in d.get_class_list() for i in d.get_sequences_in_class(c)) == [0, 1, 2]


def test_subsets_and_errors(syn_root, tmp_path):
    assert SyntheticTracking(root=syn_root, seq_ids=[2, 0], **TINY).sequence_list == ["syntrain_0002", "syntrain_0000"]
    a = SyntheticTracking(root=syn_root, data_fraction=0.67, seed=1, **TINY).sequence_list
    assert len(a) == 2 and a == SyntheticTracking(root=syn_root, data_fraction=0.67, seed=1, **TINY).sequence_list
    names = ["syntrain_0000", "syntrain_0001", "syntrain_0002"]
    assert SyntheticTracking(root=syn_root, generate=False).sequence_list == names  # read as it is
    with pytest.raises(ValueError, match="index 3 outside the split"):
        SyntheticTracking(root=syn_root, seq_ids=[3], **TINY)
    with pytest.raises(FileNotFoundError, match="generate=True"):
        SyntheticTracking(root=tmp_path, generate=False)
