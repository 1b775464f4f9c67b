"""Lasot on a miniature on-disk copy of the LaSOT layout."""

from __future__ import annotations

import pytest
import torch

from ltr.dataset import Lasot

# sequence -> (boxes, full_occlusion, out_of_view)
SEQS = {
    "airplane-1": (["1,2,3,4", "2,3,4,5", "NaN,NaN,NaN,NaN"], "0,1,0", "0,0,0"),
    "airplane-2": (["5,5,0,5", "6,6,2,2"], "0,0", "0,1"),
    "bird-1": (["0,0,1,1", "1,1,1,1", "2,2,1,1", "3,3,1,1"], "0,0,0,0", "0,0,0,0"),
}


@pytest.fixture
def lasot_root(tmp_path, h):
    root = tmp_path / "lasot"
    color_index = 0
    for name, (boxes, occ, oov) in SEQS.items():
        cls = name.rsplit("-", 1)[0]
        seq = root / cls / name
        h.write_lines(seq / "groundtruth.txt", boxes)
        (seq / "full_occlusion.txt").write_text(occ)
        (seq / "out_of_view.txt").write_text(oov)
        for i in range(len(boxes)):
            h.write_jpeg(seq / "img" / f"{i + 1:08d}.jpg", h.frame_color(color_index))
            color_index += 1
    (root / "README.txt").write_text("not a class")
    return root


def test_vid_ids_boxes_visibility_and_frames(lasot_root, h):
    d = Lasot(root=lasot_root, vid_ids=[1, 2])
    assert d.get_name() == "lasot" and d.has_class_info() and d.has_occlusion_info()
    assert not d.has_segmentation_info() and d.is_video_sequence()
    assert d.sequence_list == ["airplane-1", "airplane-2", "bird-1", "bird-2"]
    assert d.get_class_list() == ["airplane", "bird"]
    assert d.get_sequences_in_class("airplane") == [0, 1] and d.get_sequences_in_class("bird") == [2, 3]

    info = d.get_sequence_info(0)
    assert set(info) == {"bbox", "valid", "visible"}
    assert info["bbox"].dtype == torch.float32 and info["bbox"].shape == (3, 4)
    assert info["bbox"][:2].tolist() == [[1, 2, 3, 4], [2, 3, 4, 5]]
    assert info["valid"].tolist() == [True, True, False]
    assert info["visible"].dtype == torch.bool and info["visible"].tolist() == [True, False, False]

    info = d.get_sequence_info(1)
    assert info["valid"].tolist() == [False, True]
    assert info["visible"].tolist() == [False, False]  # invalid box / out of view

    frames, anno, meta = d.get_frames(0, [2, 0])
    h.assert_color(frames[0], h.frame_color(2))
    h.assert_color(frames[1], h.frame_color(0))
    assert anno["bbox"][1].tolist() == [1, 2, 3, 4] and anno["visible"][0].item() is False
    assert meta["object_class_name"] == "airplane" and meta["major_class"] is None

    frames, _, meta = d.get_frames(2, [3])
    h.assert_color(frames[0], h.frame_color(3 + 2 + 3))
    assert meta["object_class_name"] == "bird"
    with pytest.raises(FileNotFoundError):
        d.get_sequence_info(3)  # bird-2 is listed by vid_ids but does not exist


def test_frames_with_given_anno_use_it(lasot_root):
    d = Lasot(root=lasot_root, vid_ids=[1])
    anno = {"bbox": torch.zeros(4, 4), "valid": torch.ones(4, dtype=torch.bool)}
    _, frame_anno, _ = d.get_frames(1, [1], anno=anno)
    assert set(frame_anno) == {"bbox", "valid"} and frame_anno["bbox"][0].tolist() == [0, 0, 0, 0]


def test_custom_and_packaged_split(lasot_root, tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("bird-1\nairplane-2\n")
    d = Lasot(root=lasot_root, split_file=split)
    assert d.sequence_list == ["bird-1", "airplane-2"]
    assert d.get_sequence_info(0)["bbox"].shape == (4, 4)

    train = Lasot(root=lasot_root, split="train")
    assert len(train) == 1120 and "airplane-2" in train.sequence_list and "airplane-1" not in train.sequence_list
    assert len(train.get_class_list()) == 70  # the split's classes besides the folders present


def test_data_fraction_is_deterministic(lasot_root):
    a = Lasot(root=lasot_root, split="train", data_fraction=0.1, seed=3)
    b = Lasot(root=lasot_root, split="train", data_fraction=0.1, seed=3)
    c = Lasot(root=lasot_root, split="train", data_fraction=0.1, seed=4)
    assert len(a) == 112 and a.sequence_list == b.sequence_list and a.sequence_list != c.sequence_list
    assert set(a.sequence_list) <= set(Lasot(root=lasot_root, split="train").sequence_list)


def test_argument_errors(lasot_root, tmp_path):
    with pytest.raises(ValueError, match="either split or vid_ids"):
        Lasot(root=lasot_root)
    with pytest.raises(ValueError, match="not both"):
        Lasot(root=lasot_root, split="train", vid_ids=[1])
    with pytest.raises(ValueError, match="unknown split 'val'"):
        Lasot(root=lasot_root, split="val")
    bad = tmp_path / "bad_split.txt"
    bad.write_text("airplane-1\nairplane\n")
    with pytest.raises(ValueError, match=r"bad_split\.txt, line 2"):
        Lasot(root=lasot_root, split_file=bad)


def test_malformed_and_inconsistent_annotations(lasot_root):
    seq = lasot_root / "bird" / "bird-1"
    (seq / "groundtruth.txt").write_text("0,0,1,1\n1,1,1,1\n2,2,1\n3,3,1,1\n")
    d = Lasot(root=lasot_root, vid_ids=[1])
    with pytest.raises(ValueError, match=r"bird-1/groundtruth\.txt', line 3"):
        d.get_sequence_info(1)
    (seq / "groundtruth.txt").write_text("0,0,1,1\n1,1,1,1\n")
    with pytest.raises(ValueError, match=r"full_occlusion\.txt': 4 labels, but the sequence has 2 frames"):
        d.get_sequence_info(1)


def test_missing_root_names_the_setting(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"lasot_dir.*<class>/<class>-<n>"):
        Lasot(vid_ids=[1])
    monkeypatch.setenv("LTR_LASOT_DIR", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=r"absent.*lasot_dir.*does not exist"):
        Lasot(vid_ids=[1])
