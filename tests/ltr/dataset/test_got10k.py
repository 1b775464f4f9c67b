"""Got10k on a miniature copy of GOT-10k's train folder."""

from __future__ import annotations

import pytest
import torch

from ltr.dataset import Got10k
from ltr.dataset import base_video_dataset as bvd
from ltr.dataset.got10k import read_meta_info

META = """[METAINFO]
url: https://youtu.be/xyz
begin: 00:00:01
end: 00:00:09
anno_fps: 10Hz
object_class: {cls}
motion_class: {motion}
major_class: {major}
root_class: animal
motion_adverb: slowly
resolution: (1280, 720)
"""

# name -> (boxes, absence, cover, meta class or None)
SEQS = {
    "GOT-10k_Train_000001": (["10,20,30,40", "11,21,31,41", "0,0,0,0"], [0, 0, 1], [8, 3, 0], "fox"),
    "GOT-10k_Train_000002": (["1,1,5,5", "2,2,5,5"], [0, 0], [0, 4], "ant"),
    "GOT-10k_Train_000003": (["1,1,NaN,5", "2,2,5,5"], [0, 0], [8, 8], None),
}


@pytest.fixture
def got_root(tmp_path, h):
    root = tmp_path / "train"
    h.write_lines(root / "list.txt", list(SEQS))
    k = 0
    for name, (boxes, absence, cover, cls) in SEQS.items():
        seq = root / name
        h.write_lines(seq / "groundtruth.txt", boxes)
        h.write_lines(seq / "absence.label", absence)
        h.write_lines(seq / "cover.label", cover)
        if cls is not None:
            (seq / "meta_info.ini").write_text(META.format(cls=cls, motion="walking", major="mammal"))
        for i in range(len(boxes)):
            h.write_jpeg(seq / f"{i + 1:08d}.jpg", h.frame_color(k))
            k += 1
    return root


def test_all_sequences_annotations_and_frames(got_root, h):
    d = Got10k(root=got_root)
    assert d.get_name() == "got10k" and len(d) == 3 and d.has_class_info() and d.has_occlusion_info()
    assert d.get_class_list() == ["ant", "fox"]
    assert d.get_sequences_in_class("fox") == [0] and d.get_sequences_in_class("ant") == [1]

    info = d.get_sequence_info(0)
    assert set(info) == {"bbox", "valid", "visible", "visible_ratio"}
    assert info["bbox"].tolist() == [[10, 20, 30, 40], [11, 21, 31, 41], [0, 0, 0, 0]]
    assert info["valid"].tolist() == [True, True, False]
    assert info["visible"].tolist() == [True, True, False]
    assert info["visible_ratio"].dtype == torch.float32 and info["visible_ratio"].tolist() == [1.0, 0.375, 0.0]

    info = d.get_sequence_info(1)
    assert info["visible"].tolist() == [False, True]  # cover 0 means fully hidden
    assert d.get_sequence_info(2)["valid"].tolist() == [False, True]  # NaN width

    frames, anno, meta = d.get_frames(1, [1, 0, 1])
    for frame, k in zip(frames, [4, 3, 4]):
        h.assert_color(frame, h.frame_color(k))
    assert [v.item() for v in anno["visible_ratio"]] == [0.5, 0.0, 0.5]
    assert list(meta.items()) == [
        ("object_class_name", "ant"),
        ("motion_class", "walking"),
        ("major_class", "mammal"),
        ("root_class", "animal"),
        ("motion_adverb", "slowly"),
    ]
    assert d.get_frames(2, [0])[2]["object_class_name"] is None  # no meta_info.ini


def test_read_meta_info_missing_file(tmp_path):
    assert list(read_meta_info(tmp_path / "none.ini").values()) == [None] * 5


def test_seq_ids_custom_split_and_fraction(got_root, tmp_path):
    assert Got10k(root=got_root, seq_ids=[2, 0]).sequence_list == ["GOT-10k_Train_000003", "GOT-10k_Train_000001"]
    split = tmp_path / "split.txt"
    split.write_text("1\n2\n")
    d = Got10k(root=got_root, split_file=split)
    assert d.sequence_list == ["GOT-10k_Train_000002", "GOT-10k_Train_000003"]
    a = Got10k(root=got_root, data_fraction=0.7, seed=1).sequence_list
    assert len(a) == 2 and a == Got10k(root=got_root, data_fraction=0.7, seed=1).sequence_list


def test_packaged_split_against_a_small_folder(got_root, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"index \d+ is outside list\.txt \(3 sequences"):
        Got10k(root=got_root, split="train")
    with pytest.raises(ValueError, match="unknown split 'test'"):
        Got10k(root=got_root, split="test")
    with pytest.raises(ValueError, match="not both"):
        Got10k(root=got_root, split="val", seq_ids=[0])
    monkeypatch.setattr(bvd, "DATA_SPECS_DIR", tmp_path / "no_specs")
    with pytest.raises(FileNotFoundError, match=r"got10k_vot_val_split\.txt is missing.*visionml/pytracking"):
        Got10k(root=got_root, split="votval")


def test_bad_split_file_and_annotations(got_root, tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("0\nfoo\n")
    with pytest.raises(ValueError, match=r"split\.txt, line 2: 'foo' is not an index"):
        Got10k(root=got_root, split_file=split)
    seq = got_root / "GOT-10k_Train_000002"
    (seq / "cover.label").write_text("8\n")
    d = Got10k(root=got_root)
    with pytest.raises(ValueError, match=r"cover\.label': 1 labels, but the sequence has 2 frames"):
        d.get_sequence_info(1)
    (seq / "absence.label").write_text("0\n1.5\n")
    with pytest.raises(ValueError, match=r"absence\.label', line 2"):
        d.get_sequence_info(1)


def test_missing_folder_and_list(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"got10k_dir.*list\.txt"):
        Got10k()
    monkeypatch.setenv("LTR_GOT10K_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"list\.txt not found; got10k_dir must be GOT-10k's train folder"):
        Got10k()
