"""TrackingNet on a miniature copy of the TRAIN_<s> layout."""

from __future__ import annotations

import pytest

from ltr.dataset import TrackingNet
from ltr.dataset import tracking_net as tn
from ltr.dataset.tracking_net import read_class_map

# (chunk, video) -> boxes
VIDEOS = {
    (0, "vidB_1"): ["1,2,3,4", "2,3,4,5", "3,4,0,6"],
    (0, "vidA_0"): ["5,6,7,8", "NaN,NaN,NaN,NaN"],
    (1, "vidC_2"): ["0,0,2,2"],
}


@pytest.fixture
def tn_root(tmp_path, h):
    root = tmp_path / "trackingnet"
    k = 0
    for (s, video), boxes in VIDEOS.items():
        h.write_lines(root / f"TRAIN_{s}" / "anno" / f"{video}.txt", boxes)
        for i in range(len(boxes)):
            h.write_jpeg(root / f"TRAIN_{s}" / "frames" / video / f"{i}.jpg", h.frame_color(k))
            k += 1
    return root


@pytest.fixture
def class_map(tmp_path):
    path = tmp_path / "classmap.txt"
    path.write_text("vidA_0\tdog\nvidB_1\tcat\nunused_3\tbus\n")
    return path


def test_sequences_annotations_and_frames(tn_root, class_map, h):
    d = TrackingNet(root=tn_root, set_ids=[0, 1], class_map=class_map)
    assert d.get_name() == "trackingnet" and not d.has_occlusion_info()
    assert d.sequence_list == [(0, "vidA_0"), (0, "vidB_1"), (1, "vidC_2")]
    info = d.get_sequence_info(1)
    assert info["bbox"].tolist() == [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 0, 6]]
    assert info["valid"].tolist() == [True, True, False] and info["visible"].tolist() == [True, True, False]
    assert d.get_sequence_info(0)["valid"].tolist() == [True, False]

    frames, anno, meta = d.get_frames(1, [0, 2])  # frames are 0-based: 0.jpg, 2.jpg
    h.assert_color(frames[0], h.frame_color(0))
    h.assert_color(frames[1], h.frame_color(2))
    assert anno["bbox"][1].tolist() == [3, 4, 0, 6] and meta["object_class_name"] == "cat"
    frames, _, meta = d.get_frames(2, [0])
    h.assert_color(frames[0], h.frame_color(5))
    assert meta["object_class_name"] == "Unknown"  # not in the class map

    assert d.has_class_info() and d.get_class_list() == ["Unknown", "cat", "dog"]
    assert d.get_sequences_in_class("dog") == [0]


def test_default_chunks_must_exist(tn_root):
    with pytest.raises(FileNotFoundError, match=r"TRAIN_2.*anno.*not found"):
        TrackingNet(root=tn_root)
    assert len(TrackingNet(root=tn_root, set_ids=[1])) == 1


def test_without_class_map(tn_root, tmp_path, monkeypatch):
    monkeypatch.setattr(tn, "DATA_SPECS_DIR", tmp_path / "no_specs")
    d = TrackingNet(root=tn_root, set_ids=[0])
    assert not d.has_class_info() and d.get_class_list() == []
    assert d.get_frames(0, [0])[2]["object_class_name"] is None
    with pytest.raises(ValueError, match=r"trackingnet_classmap\.txt is missing.*visionml/pytracking"):
        d.get_sequences_in_class("dog")


def test_malformed_class_map_and_data_fraction(tn_root, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("vidA_0\tdog\nvidB_1 cat\n")
    with pytest.raises(ValueError, match=r"bad\.txt', line 2"):
        read_class_map(bad)
    with pytest.raises(FileNotFoundError):
        TrackingNet(root=tn_root, set_ids=[0], class_map=tmp_path / "absent.txt")
    a = TrackingNet(root=tn_root, set_ids=[0, 1], data_fraction=0.67, seed=2).sequence_list
    assert len(a) == 2 and a == TrackingNet(root=tn_root, set_ids=[0, 1], data_fraction=0.67, seed=2).sequence_list


def test_missing_root():
    with pytest.raises(FileNotFoundError, match=r"trackingnet_dir.*TRAIN_<s>/anno"):
        TrackingNet()
