"""MSCOCO (image dataset) on a tiny instances file with polygon, RLE and crowd annotations."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest
import torch

from ltr.dataset import MSCOCO

# pycocotools (mask decoding) still uses a NumPy-1 __array__ signature; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_items_boxes_masks_and_meta(coco_root, h, capsys):
    d = MSCOCO(root=coco_root)
    assert capsys.readouterr().out == ""  # pycocotools' loading messages are swallowed
    assert d.get_name() == "coco" and not d.is_video_sequence()
    assert d.has_class_info() and d.has_segmentation_info()
    assert d.image_list == [11, 12, 14]  # the crowd annotation 13 is not an item
    assert len(d) == 3 and d.get_class_list() == ["cat", "car", "kite"]
    assert d.get_images_in_class("cat") == [0, 2] and d.get_images_in_class("car") == [1]

    info = d.get_image_info(1)
    assert info["bbox"].dtype == torch.float32 and info["bbox"].tolist() == [1, 1, 3, 3]
    assert info["valid"].item() is True and info["visible"].item() is True
    assert info["mask"].dtype == torch.float32 and info["mask"].shape == (6, 5)
    assert torch.equal(info["mask"], torch.from_numpy(h.RLE_MASK.astype(np.float32)))

    poly = d.get_image_info(0)["mask"]
    assert poly.shape == (10, 8) and set(poly.unique().tolist()) == {0.0, 1.0}
    rows, cols = torch.nonzero(poly, as_tuple=True)
    assert rows.min() >= 3 and rows.max() <= 7 and cols.min() >= 2 and cols.max() <= 5 and poly.sum() >= 12

    assert d.get_image_info(2)["valid"].item() is False

    frame, anno, meta = d.get_image(1)
    h.assert_color(frame, h.COCO_COLORS["img_b.jpg"], (6, 5))
    assert anno["bbox"].tolist() == [1, 1, 3, 3]
    assert meta["object_class_name"] == "car" and meta["major_class"] == "vehicle" and meta["root_class"] is None
    frame, _, _ = d.get_image(0)
    h.assert_color(frame, h.COCO_COLORS["img_a.jpg"], (10, 8))


def test_min_area_and_data_fraction(coco_root):
    assert MSCOCO(root=coco_root, min_area=5).image_list == [11, 12]
    a = MSCOCO(root=coco_root, data_fraction=0.67, seed=7).image_list
    assert len(a) == 2 and a == MSCOCO(root=coco_root, data_fraction=0.67, seed=7).image_list


def test_missing_files(coco_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"instances_val2017\.json not found"):
        MSCOCO(root=coco_root, split="val", version="2017")
    with pytest.raises(FileNotFoundError, match=r"coco_dir.*annotations/instances_"):
        MSCOCO()
    (coco_root / "annotations" / "instances_train2014.json").write_text(json.dumps({"images": []})[:-3])
    with pytest.raises(json.JSONDecodeError):
        MSCOCO(root=coco_root)


def test_missing_pycocotools_is_explained(coco_root, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("pycocotools"):
            raise ImportError("no pycocotools")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install pycocotools"):
        MSCOCO(root=coco_root)
