"""BaseVideoDataset / BaseImageDataset defaults and the shared loader helpers."""

from __future__ import annotations

import math
import random
from collections import OrderedDict

import pytest
import torch

from ltr.dataset import base_video_dataset as bvd
from ltr.dataset.base_image_dataset import BaseImageDataset
from ltr.dataset.base_video_dataset import (
    OBJECT_META_KEYS,
    BaseVideoDataset,
    frames_annotation,
    load_boxes,
    load_labels,
    object_meta,
    read_data_spec,
    resolve_root,
    sample_fraction,
    valid_boxes,
)


def test_object_meta_has_every_key_in_order():
    meta = object_meta(object_class_name="dog", major_class="animal")
    assert isinstance(meta, OrderedDict)
    assert list(meta) == list(OBJECT_META_KEYS)
    assert meta == OrderedDict(
        object_class_name="dog", motion_class=None, major_class="animal", root_class=None, motion_adverb=None
    )
    with pytest.raises(KeyError, match="object_class"):
        object_meta(object_class="dog")


def test_sample_fraction_is_seeded_and_sized():
    items = list(range(10))
    assert sample_fraction(items, None, 0) == items
    sub = sample_fraction(items, 0.35, seed=5)
    assert sub == random.Random(5).sample(items, 3)
    assert sample_fraction(items, 0.35, seed=5) == sub
    assert sorted(sample_fraction(items, 1.0, seed=1)) == items
    random.seed(3)
    a = sample_fraction(items, 0.5, seed=None)
    random.seed(3)
    assert sample_fraction(items, 0.5, seed=None) == a and len(a) == 5
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="data_fraction"):
            sample_fraction(items, bad, 0)


def test_load_boxes_nan_and_delimiters(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\nNaN,NaN,NaN,NaN\n5,6,0,8\n")
    boxes = load_boxes(path)
    assert boxes.dtype == torch.float32 and boxes.shape == (3, 4)
    assert boxes[0].tolist() == [1, 2, 3, 4] and boxes[2].tolist() == [5, 6, 0, 8]
    assert torch.isnan(boxes[1]).all()
    assert valid_boxes(boxes).tolist() == [True, False, False]
    path.write_text("1.5 2 3 4\n5\t6 7 8\n")
    assert load_boxes(path).tolist() == [[1.5, 2, 3, 4], [5, 6, 7, 8]]


def test_load_boxes_errors_name_file_and_line(tmp_path):
    path = tmp_path / "gt.txt"
    path.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(ValueError, match=r"gt\.txt', line 2"):
        load_boxes(path)
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="expected 4 values"):
        load_boxes(path)
    with pytest.raises(FileNotFoundError):
        load_boxes(tmp_path / "missing.txt")


def test_load_labels_column_row_and_length(tmp_path):
    col = tmp_path / "absence.label"
    col.write_text("0\n1\n0\n")
    row = tmp_path / "full_occlusion.txt"
    row.write_text("0,0,1")
    assert load_labels(col).tolist() == [0, 1, 0]
    assert load_labels(row, 3).tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match=r"3 labels, but the sequence has 4 frames \(.*gt\.txt\)"):
        load_labels(col, 4, tmp_path / "gt.txt")


def test_frames_annotation_indexes_and_clones():
    anno = {"bbox": torch.arange(12.0).reshape(3, 4), "valid": torch.tensor([True, False, True])}
    out = frames_annotation(anno, [2, 0, 2])
    assert [b.tolist() for b in out["bbox"]] == [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]
    assert [v.item() for v in out["valid"]] == [True, True, True]
    out["bbox"][0][0] = -1
    assert anno["bbox"][2, 0] == 8


def test_resolve_root_errors_name_the_setting(tmp_path, monkeypatch):
    from ltr.admin.environment import local_file_path

    with pytest.raises(FileNotFoundError) as e:
        resolve_root("GOT-10k", "got10k_dir", None, "list.txt and sequence folders")
    msg = str(e.value)
    assert f"{local_file_path()}: got10k_dir" in msg and "LTR_GOT10K_DIR" in msg
    assert "list.txt and sequence folders" in msg

    monkeypatch.setenv("LTR_GOT10K_DIR", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=r"nope.*got10k_dir.*does not exist"):
        resolve_root("GOT-10k", "got10k_dir", None, "x")
    monkeypatch.setenv("LTR_GOT10K_DIR", str(tmp_path))
    assert resolve_root("GOT-10k", "got10k_dir", None, "x") == tmp_path
    with pytest.raises(FileNotFoundError, match=r"argument root"):
        resolve_root("GOT-10k", "got10k_dir", tmp_path / "other", "x")


def test_explicit_root_does_not_read_the_settings(tmp_path):
    from ltr.admin.environment import local_file_path

    assert resolve_root("X", "lasot_dir", tmp_path, "x") == tmp_path
    assert not local_file_path().exists()


def test_read_data_spec_missing_and_custom(tmp_path, monkeypatch):
    monkeypatch.setattr(bvd, "DATA_SPECS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"visionml/pytracking, ltr/data_specs/some_split\.txt"):
        read_data_spec("some_split.txt", "GOT-10k")
    custom = tmp_path / "mine.txt"
    custom.write_text("a\n\n b \n")
    assert read_data_spec("ignored.txt", "X", custom) == ["a", "b"]
    with pytest.raises(FileNotFoundError, match="split file not found"):
        read_data_spec("ignored.txt", "X", tmp_path / "absent.txt")


class _Tiny(BaseVideoDataset):
    def __init__(self, classes):
        super().__init__("tiny", None)
        self.sequence_list = [f"s{i}" for i in range(len(classes))]
        self._build_seq_per_class(classes)

    def has_class_info(self):
        return True


def test_base_video_dataset_defaults_and_classes():
    d = BaseVideoDataset("plain", None)
    assert (d.get_name(), len(d), d.get_num_sequences(), d.get_num_classes()) == ("plain", 0, 0, 0)
    assert d.is_video_sequence() and not d.is_synthetic_video_dataset() and not d.is_mot_dataset()
    assert not (d.has_class_info() or d.has_occlusion_info() or d.has_segmentation_info())
    assert d.get_class_list() == []
    with pytest.raises(ValueError, match="no class information"):
        d.get_sequences_in_class("x")
    with pytest.raises(NotImplementedError):
        d.get_sequence_info(0)
    with pytest.raises(NotImplementedError):
        d.get_frames(0, [0])

    t = _Tiny(["dog", None, "cat", "dog"])
    assert len(t) == 4 and t.get_class_list() == ["cat", "dog"] and t.get_num_classes() == 2
    assert t.get_sequences_in_class("dog") == [0, 3]
    with pytest.raises(KeyError, match=r"'bird'.*\['cat', 'dog'\]"):
        t.get_sequences_in_class("bird")


def test_base_image_dataset_defaults():
    d = BaseImageDataset("imgs", None)
    d.image_list = [1, 2, 3]
    assert len(d) == 3 and d.get_num_images() == 3 and d.get_name() == "imgs"
    assert not d.is_video_sequence() and not d.has_class_info() and not d.has_segmentation_info()
    with pytest.raises(ValueError, match="no class information"):
        d.get_images_in_class("x")
    with pytest.raises(NotImplementedError):
        d.get_image(0)


def test_valid_boxes_is_bool_and_strict():
    boxes = torch.tensor([[0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 1, -1], [0, 0, math.inf, 2]], dtype=torch.float32)
    v = valid_boxes(boxes)
    assert v.dtype == torch.bool and v.tolist() == [True, False, False, True]
