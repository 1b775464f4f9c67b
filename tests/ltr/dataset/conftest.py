"""Helpers shared by the dataset tests: tiny JPEG frames of known colours and a tiny COCO instances file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

FRAME_H, FRAME_W = 12, 16


def frame_color(index: int) -> tuple[int, int, int]:
    """A distinct RGB colour per index (far apart so that JPEG rounding cannot confuse them)."""
    return (40 * (index % 6) + 20, 200 - 30 * (index % 5), 60 + 50 * (index % 4))


def write_jpeg(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (FRAME_H, FRAME_W)) -> None:
    """A uniform RGB image saved as a high-quality JPEG (OpenCV writes BGR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.empty((*size, 3), np.uint8)
    img[:] = color
    assert cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])


def assert_color(frame: np.ndarray, color: tuple[int, int, int], size: tuple[int, int] = (FRAME_H, FRAME_W)) -> None:
    """The frame is (H, W, 3) uint8 of the given RGB colour (up to JPEG rounding)."""
    assert frame.shape == (*size, 3) and frame.dtype == np.uint8
    diff = np.abs(frame.astype(np.int64) - np.array(color)).max()
    assert diff <= 3, (frame[0, 0], color)


def write_lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


# ---------------------------------------------------------------------------------------------------------------
# COCO

#: 6 x 5 (H x W) mask of the RLE instance, written column-major as COCO's uncompressed RLE.
RLE_MASK = np.array(
    [
        [0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ],
    dtype=np.uint8,
)


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE: run lengths of the column-major pixels, starting with a run of zeros."""
    flat = mask.flatten(order="F")
    counts, value, run = [], 0, 0
    for px in flat:
        if px == value:
            run += 1
        else:
            counts.append(run)
            value, run = px, 1
    counts.append(run)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


COCO_IMAGES = [
    {"id": 1, "file_name": "img_a.jpg", "height": 10, "width": 8},
    {"id": 2, "file_name": "img_b.jpg", "height": 6, "width": 5},
]
COCO_CATEGORIES = [
    {"id": 3, "name": "cat", "supercategory": "animal"},
    {"id": 7, "name": "car", "supercategory": "vehicle"},
    {"id": 9, "name": "kite", "supercategory": "sports"},
]
COCO_ANNOTATIONS = [
    # Polygon: the rectangle x 2..5, y 3..7.
    {
        "id": 11,
        "image_id": 1,
        "category_id": 3,
        "iscrowd": 0,
        "area": 12.0,
        "bbox": [2.0, 3.0, 3.0, 4.0],
        "segmentation": [[2, 3, 5, 3, 5, 7, 2, 7]],
    },
    # Uncompressed RLE, not crowd.
    {
        "id": 12,
        "image_id": 2,
        "category_id": 7,
        "iscrowd": 0,
        "area": 7.0,
        "bbox": [1.0, 1.0, 3.0, 3.0],
        "segmentation": uncompressed_rle(RLE_MASK),
    },
    # Crowd region: never an item.
    {
        "id": 13,
        "image_id": 2,
        "category_id": 7,
        "iscrowd": 1,
        "area": 30.0,
        "bbox": [0.0, 0.0, 5.0, 6.0],
        "segmentation": uncompressed_rle(np.ones((6, 5), np.uint8)),
    },
    # Degenerate box (zero width): an item, but not valid.
    {
        "id": 14,
        "image_id": 1,
        "category_id": 3,
        "iscrowd": 0,
        "area": 1.0,
        "bbox": [1.0, 1.0, 0.0, 2.0],
        "segmentation": [[1, 1, 1, 3, 1, 3]],
    },
]
COCO_COLORS = {"img_a.jpg": (200, 40, 60), "img_b.jpg": (30, 160, 220)}


@pytest.fixture
def coco_root(tmp_path) -> Path:
    """A COCO folder with ``annotations/instances_train2014.json`` and two images."""
    pytest.importorskip("pycocotools")
    root = tmp_path / "coco"
    anno = {"images": COCO_IMAGES, "annotations": COCO_ANNOTATIONS, "categories": COCO_CATEGORIES}
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "instances_train2014.json").write_text(json.dumps(anno))
    for img in COCO_IMAGES:
        write_jpeg(root / "images" / "train2014" / img["file_name"], COCO_COLORS[img["file_name"]],
                   (img["height"], img["width"]))  # fmt: skip
    return root


@pytest.fixture
def h():
    """The helpers above (test modules cannot import this conftest: ``conftest`` resolves to tests/conftest.py)."""
    return SimpleNamespace(
        FRAME_H=FRAME_H,
        FRAME_W=FRAME_W,
        frame_color=frame_color,
        write_jpeg=write_jpeg,
        assert_color=assert_color,
        write_lines=write_lines,
        RLE_MASK=RLE_MASK,
        COCO_COLORS=COCO_COLORS,
    )
