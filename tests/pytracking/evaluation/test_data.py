"""Sequence / SequenceList / BaseDataset semantics: init data, trimming, laziness, name indexing, errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pytracking.evaluation import BaseDataset, Sequence, SequenceList
from pytracking.evaluation.data import mask_box, read_label_map
from pytracking.utils.image_io import imwrite_indexed

GT = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]], dtype=np.float64)


def test_default_init_from_first_row():
    seq = Sequence("a", ["f0", "f1", "f2", "f3"], "otb", GT.astype(int), object_class="car")
    assert seq.ground_truth_rect.dtype == np.float64
    assert seq.init_info() == {"init_bbox": [1.0, 2.0, 3.0, 4.0]}
    assert seq.init_bbox() == [1.0, 2.0, 3.0, 4.0]
    assert seq.init_mask() is None
    assert seq.frame_info(1) == {}
    np.testing.assert_array_equal(seq.get_bbox(2), [9, 10, 11, 12])
    assert seq.target_class() == "car"
    assert seq.get("target_class") == "car"
    assert seq.get_info(["init_bbox", "init_mask", "target_class"]) == {
        "init_bbox": [1.0, 2.0, 3.0, 4.0],
        "target_class": "car",
    }


def test_trims_to_earliest_init_frame():
    vis = np.array([1, 0, 1, 1], dtype=bool)
    seq = Sequence(
        "a",
        ["f0", "f1", "f2", "f3"],
        "x",
        GT,
        ground_truth_seg=["m0", "m1", "m2", "m3"],
        init_data={3: {"bbox": [0, 0, 1, 1]}, 2: {"bbox": GT[2]}},
        target_visible=vis,
    )
    assert seq.frames == ["f2", "f3"]
    np.testing.assert_array_equal(seq.ground_truth_rect, GT[2:])
    assert seq.ground_truth_seg == ["m2", "m3"]
    np.testing.assert_array_equal(seq.target_visible, [True, True])
    assert sorted(seq.init_data) == [0, 1]
    assert seq.init_bbox() == [9.0, 10.0, 11.0, 12.0]
    assert seq.init_bbox(1) == [0.0, 0.0, 1.0, 1.0]


def test_lazy_fields_are_loaded_once_on_access():
    calls = {"frames": 0, "gt": 0}

    def frames():
        calls["frames"] += 1
        return ["a.jpg", "b.jpg"]

    def gt():
        calls["gt"] += 1
        return GT[:2]

    seq = Sequence("s", frames, "x", gt)
    assert calls == {"frames": 0, "gt": 0}
    assert seq.name == "s" and repr(seq) == "Sequence(name='s', dataset='x')"
    assert calls == {"frames": 0, "gt": 0}
    assert seq.frames == ["a.jpg", "b.jpg"]
    assert calls == {"frames": 1, "gt": 0}
    assert seq.init_bbox() == [1.0, 2.0, 3.0, 4.0]
    seq.ground_truth_rect, seq.frames  # noqa: B018  (cached: no second load)
    assert calls == {"frames": 1, "gt": 1}


def test_missing_file_error_raised_only_on_use():
    def gt():
        raise FileNotFoundError("ground-truth file not found: /nowhere/gt.txt")

    seq = Sequence("s", ["a"], "x", gt)
    with pytest.raises(FileNotFoundError, match="/nowhere/gt.txt"):
        _ = seq.ground_truth_rect


def test_multi_object_ground_truth_and_init(tmp_path):
    labels = np.zeros((6, 8), dtype=np.uint8)
    labels[1:3, 2:5] = 1
    labels[4:6, 6:8] = 2
    imwrite_indexed(tmp_path / "m0.png", labels)
    gt = {"1": GT[:2], "2": GT[2:]}
    seq = Sequence(
        "mo", ["f0", "f1"], "dv", gt, ground_truth_seg=[str(tmp_path / "m0.png"), None], object_ids=[1, 2],
        multiobj_mode=True,
    )  # fmt: skip
    info = seq.init_info()
    assert info["init_bbox"] == {"1": [1.0, 2.0, 3.0, 4.0], "2": [9.0, 10.0, 11.0, 12.0]}
    np.testing.assert_array_equal(info["init_mask"], labels)
    assert info["object_ids"] == ["1", "2"] and info["sequence_object_ids"] == ["1", "2"]
    assert seq.get_bbox(1, "2").tolist() == [13, 14, 15, 16]
    assert list(seq.get_bbox(0)) == ["1", "2"]

    single = Sequence("so", ["f0", "f1"], "dv", gt, ground_truth_seg=[str(tmp_path / "m0.png"), None], object_ids=[2])
    assert single.init_bbox() == [9.0, 10.0, 11.0, 12.0]
    np.testing.assert_array_equal(single.init_mask(), (labels == 2).astype(np.uint8))


def test_label_map_reads_davis2016_binary_masks_as_id_1(tmp_path):
    mask = np.zeros((4, 5), dtype=np.uint8)
    mask[1:3, 1:4] = 255
    Image.fromarray(mask, mode="L").save(tmp_path / "m.png")
    labels = read_label_map(tmp_path / "m.png")
    np.testing.assert_array_equal(labels, (mask == 255).astype(np.uint8))
    np.testing.assert_array_equal(mask_box(labels == 1), [1, 1, 3, 2])
    assert np.isnan(mask_box(labels == 7)).all()


def test_sequence_list_indexing_and_concatenation():
    seqs = SequenceList(Sequence(n, [], "x", None, init_data={0: {}}) for n in "abcd")
    assert seqs["c"].name == "c"
    assert seqs[1].name == "b"
    assert isinstance(seqs[1:3], SequenceList) and seqs[1:3].names() == ["b", "c"]
    assert seqs[["d", 0]].names() == ["d", "a"]
    assert seqs[(2,)].names() == ["c"]
    both = seqs[:1] + seqs[3:]
    assert isinstance(both, SequenceList) and both.names() == ["a", "d"]
    with pytest.raises(KeyError, match="'zz'"):
        seqs["zz"]
    with pytest.raises(TypeError):
        seqs[1.5]


class _Dummy(BaseDataset):
    name = "dummy"
    path_attr = "otb_path"

    def sequence_names(self):
        return ["s1", "s2"]

    def _construct_sequence(self, name):
        return Sequence(name, [], self.name, np.zeros((1, 4)))


def test_base_dataset_missing_setting_names_attr_and_env_var(monkeypatch, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"`otb_path`.*PYTRACKING_OTB_PATH"):
        _Dummy()
    monkeypatch.setenv("PYTRACKING_OTB_PATH", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match=r"absent.*`otb_path`.*PYTRACKING_OTB_PATH"):
        _Dummy()
    monkeypatch.setenv("PYTRACKING_OTB_PATH", str(tmp_path))
    ds = _Dummy()
    assert len(ds) == 2 and ds.get_sequence_list().names() == ["s1", "s2"]
    assert ds.get_sequence("s2").name == "s2"
    with pytest.raises(KeyError):
        ds.get_sequence("s3")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _Dummy(root=tmp_path / "nope")
