"""MSCOCOSeq: COCO instances as 1-frame sequences, replicated for every requested frame id."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltr.dataset import MSCOCOSeq

# pycocotools (mask decoding) still uses a NumPy-1 __array__ signature; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_sequences_annotation_and_replicated_frames(coco_root, h):
    d = MSCOCOSeq(root=coco_root)
    assert d.get_name() == "coco" and not d.is_video_sequence()
    assert d.has_class_info() and d.has_segmentation_info() and not d.has_occlusion_info()
    assert d.sequence_list == [11, 12, 14] and len(d) == 3
    assert d.get_class_list() == ["cat", "car", "kite"]
    assert d.get_sequences_in_class("cat") == [0, 2] and d.get_sequences_in_class("car") == [1]

    info = d.get_sequence_info(1)
    assert info["bbox"].shape == (1, 4) and info["bbox"].tolist() == [[1, 1, 3, 3]]
    assert info["mask"].shape == (1, 6, 5)
    assert torch.equal(info["mask"][0], torch.from_numpy(h.RLE_MASK.astype(np.float32)))
    assert info["valid"].tolist() == [True] and info["visible"].tolist() == [True]
    assert d.get_sequence_info(2)["valid"].tolist() == [False]

    frames, anno, meta = d.get_frames(1, [0, 5, 9])
    assert len(frames) == 3
    for frame in frames:
        h.assert_color(frame, h.COCO_COLORS["img_b.jpg"], (6, 5))
    frames[0][0, 0] = 0
    assert frames[1][0, 0].tolist() != [0, 0, 0]  # independent copies
    assert [b.tolist() for b in anno["bbox"]] == [[1, 1, 3, 3]] * 3
    assert all(m.shape == (6, 5) for m in anno["mask"]) and [v.item() for v in anno["valid"]] == [True] * 3
    assert meta["object_class_name"] == "car" and meta["major_class"] == "vehicle"


def test_data_fraction_is_seeded(coco_root):
    a = MSCOCOSeq(root=coco_root, data_fraction=0.34, seed=0).sequence_list
    assert len(a) == 1 and a == MSCOCOSeq(root=coco_root, data_fraction=0.34, seed=0).sequence_list
