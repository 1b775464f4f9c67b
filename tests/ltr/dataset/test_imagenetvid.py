"""ImagenetVID on a miniature ILSVRC2015 VID layout: track extraction, visibility, the cache and frames."""

from __future__ import annotations

import json

import pytest

from ltr.dataset import ImagenetVID
from ltr.dataset.imagenetvid import parse_vid_annotations, target_to_image_ratio

W, H = 16, 12
SET, VID = "ILSVRC2015_VID_train_0001", "ILSVRC2015_train_00000007"

# Per frame: objects (trackid, name, xmin, ymin, xmax, ymax, occluded).
FRAMES = [
    [("0", "n01", 1, 2, 5, 8, 0)],
    [("0", "n01", 2, 2, 6, 8, 1), ("1", "n02", 0, 0, 16, 12, 0)],
    [("1", "n02", 0, 0, 15, 12, 0), ("2", "n03", 3, 3, 3, 9, 0)],
    [("0", "n01", 4, 4, 8, 10, 0), ("1", "n02", 1, 1, 15, 11, 0)],
]


def _xml(objects) -> str:
    parts = [f"<annotation><size><width>{W}</width><height>{H}</height></size>"]
    for tid, name, x1, y1, x2, y2, occ in objects:
        parts.append(
            f"<object><trackid>{tid}</trackid><name>{name}</name><bndbox><xmax>{x2}</xmax><xmin>{x1}</xmin>"
            f"<ymax>{y2}</ymax><ymin>{y1}</ymin></bndbox><occluded>{occ}</occluded><generated>0</generated></object>"
        )
    return "".join(parts) + "</annotation>"


@pytest.fixture
def vid_root(tmp_path, h):
    root = tmp_path / "ILSVRC2015"
    anno_dir = root / "Annotations" / "VID" / "train" / SET / VID
    anno_dir.mkdir(parents=True)
    for i, objects in enumerate(FRAMES):
        (anno_dir / f"{i:06d}.xml").write_text(_xml(objects))
        h.write_jpeg(root / "Data" / "VID" / "train" / SET / VID / f"{i:06d}.JPEG", h.frame_color(i), (H, W))
    return root


def test_tracks_end_at_their_first_gap(vid_root):
    tracks = parse_vid_annotations(vid_root)
    assert [(t["class_name"], t["start_frame"]) for t in tracks] == [("n01", 0), ("n02", 1), ("n03", 2)]
    t0, t1, t2 = tracks
    assert (t0["set_id"], t0["vid_id"], t0["image_size"]) == (1, 7, [W, H])
    assert t0["anno"] == [[1, 2, 4, 6], [2, 2, 4, 6]] and t0["target_visible"] == [True, False]
    assert t1["anno"] == [[0, 0, 16, 12], [0, 0, 15, 12], [1, 1, 14, 10]]
    assert t2["anno"] == [[3, 3, 0, 6]]
    assert target_to_image_ratio(t1) == 1.0


def test_dataset_filters_annotations_and_frames(vid_root, h):
    d = ImagenetVID(root=vid_root)
    assert d.get_name() == "imagenetvid"
    # The n02 track fills the whole first image (ratio 1, not < max_target_area=1).
    assert [t["class_name"] for t in d.sequence_list] == ["n01", "n03"]
    info = d.get_sequence_info(0)
    assert info["bbox"].tolist() == [[1, 2, 4, 6], [2, 2, 4, 6]]
    assert info["valid"].tolist() == [True, True] and info["visible"].tolist() == [True, False]
    assert d.get_sequence_info(1)["valid"].tolist() == [False]

    frames, anno, meta = d.get_frames(1, [0])
    h.assert_color(frames[0], h.frame_color(2), (H, W))  # the n03 track starts at frame 2
    assert meta["object_class_name"] == "n03" and anno["visible"][0].item() is False

    assert len(ImagenetVID(root=vid_root, min_length=2)) == 1
    assert len(ImagenetVID(root=vid_root, max_target_area=1.01)) == 3


def test_cache_is_written_and_reused(vid_root):
    ImagenetVID(root=vid_root)
    cache = vid_root / "cache.json"
    tracks = json.loads(cache.read_text())
    assert tracks == parse_vid_annotations(vid_root)
    assert not [p for p in vid_root.iterdir() if p.name.startswith(".cache.json")]  # no temporary file left
    tracks[0]["class_name"] = "from_cache"
    cache.write_text(json.dumps(tracks))
    assert ImagenetVID(root=vid_root).sequence_list[0]["class_name"] == "from_cache"

    cache.write_text('[{"set_id": 1, ')  # truncated
    with pytest.warns(UserWarning, match="unreadable cache"):
        d = ImagenetVID(root=vid_root)
    assert d.sequence_list[0]["class_name"] == "n01"
    assert json.loads(cache.read_text()) == parse_vid_annotations(vid_root)


def test_malformed_xml_and_missing_layout(vid_root, tmp_path):
    bad = vid_root / "Annotations" / "VID" / "train" / SET / VID / "000002.xml"
    bad.write_text("<annotation>\n<size><width>3</width>\n</annotation>")
    with pytest.raises(ValueError, match=r"000002\.xml', line 3"):
        parse_vid_annotations(vid_root)
    bad.write_text(_xml([("0", "n01", 1, 2, 5, 8, 0)]).replace("<xmin>1</xmin>", "<xmin>a</xmin>"))
    with pytest.raises(ValueError, match=r"000002\.xml': <bndbox/xmin> is not an integer"):
        parse_vid_annotations(vid_root)
    with pytest.raises(FileNotFoundError, match=r"Annotations/VID/train not found"):
        ImagenetVID(root=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"imagenet_dir.*Annotations/VID/train"):
        ImagenetVID()
