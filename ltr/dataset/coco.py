"""MS COCO as an image dataset: one item per non-crowd object instance.

Layout under ``coco_dir``::

    images/<split><version>/<file_name>                 e.g. images/train2014/COCO_train2014_000000000009.jpg
    annotations/instances_<split><version>.json         COCO instances annotations

Boxes are COCO's ``[x, y, w, h]``; masks come from the polygon or RLE segmentation (``pycocotools``, imported when
a COCO dataset is created).

Reference: Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_image_dataset import BaseImageDataset
from ltr.dataset.base_video_dataset import ImageLoader, PathLike, object_meta, resolve_root, sample_fraction

__all__ = ["MSCOCO", "load_coco"]

LAYOUT = "images/<split><version>/ and annotations/instances_<split><version>.json (e.g. train2014)"


def load_coco(root: Path, split: str, version: str) -> tuple[Any, Path]:
    """Load ``annotations/instances_<split><version>.json`` with pycocotools.

    Returns:
        ``(coco, image_dir)``: the ``pycocotools.coco.COCO`` object and ``images/<split><version>``.

    Raises:
        ImportError: pycocotools is not installed.
        FileNotFoundError: the annotation file is missing.
    """
    try:
        from pycocotools.coco import COCO
    except ImportError as e:
        raise ImportError("The COCO datasets need pycocotools, which is not installed: pip install pycocotools") from e
    anno_path = root / "annotations" / f"instances_{split}{version}.json"
    if not anno_path.is_file():
        raise FileNotFoundError(f"COCO: annotation file {os.fspath(anno_path)} not found; expected {LAYOUT}")
    # pycocotools prints progress messages while loading; keep them out of the caller's output.
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(os.fspath(anno_path))
    return coco, root / "images" / f"{split}{version}"


class CocoInstancesMixin:
    """What :class:`MSCOCO` and :class:`~ltr.dataset.coco_seq.MSCOCOSeq` share: the annotation file, and per item
    (one non-crowd object instance) its category, meta data, image file, box and mask.

    Mixed in before the dataset base class; the dataset maps its item ids to COCO annotation ids in :meth:`_ann_id`.
    """

    coco_set: Any
    cats: dict[int, dict[str, Any]]
    img_pth: Path

    def _load_instances(self, root: Path, split: str, version: str) -> list[int]:
        """Load the annotation file (sets ``coco_set``, ``img_pth``, ``cats``); the non-crowd annotation ids."""
        self.coco_set, self.img_pth = load_coco(root, split, version)
        self.cats = self.coco_set.cats
        return [a for a, ann in self.coco_set.anns.items() if ann["iscrowd"] == 0]

    def _category_names(self) -> list[str]:
        """Every category name, in the annotation file's order (also categories without a selected instance)."""
        return [cat["name"] for cat in self.cats.values()]

    def _ann_id(self, item_id: int) -> int:
        """COCO annotation id of item ``item_id``."""
        raise NotImplementedError

    def _category(self, ann_id: int) -> dict[str, Any]:
        return self.cats[self.coco_set.anns[ann_id]["category_id"]]

    def has_class_info(self) -> bool:
        return True

    def has_segmentation_info(self) -> bool:
        return True

    def get_class_name(self, item_id: int) -> str:
        """Category name of item ``item_id``."""
        return self._category(self._ann_id(item_id))["name"]

    def get_meta_info(self, item_id: int) -> OrderedDict:
        """Object meta data: category name and supercategory (as ``major_class``)."""
        cat = self._category(self._ann_id(item_id))
        return object_meta(object_class_name=cat["name"], major_class=cat.get("supercategory"))

    def _image_path(self, item_id: int) -> str:
        image_info = self.coco_set.loadImgs([self.coco_set.anns[self._ann_id(item_id)]["image_id"]])[0]
        return os.fspath(self.img_pth / image_info["file_name"])

    def _box_and_mask(self, item_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The instance's box, (4,) float32 ``[x, y, w, h]``, and mask, (H, W) float32 in {0, 1}."""
        anno = self.coco_set.anns[self._ann_id(item_id)]
        bbox = torch.tensor(anno["bbox"], dtype=torch.float32).reshape(4)
        return bbox, torch.from_numpy(self.coco_set.annToMask(anno).astype(np.float32))


class MSCOCO(CocoInstancesMixin, BaseImageDataset):
    """COCO object instances as single images.

    Args:
        root: dataset folder; default the ``coco_dir`` setting.
        image_loader: reads an image as (H, W, 3) uint8 RGB.
        data_fraction: keep a random fraction of the instances.
        min_area: keep only instances whose ``area`` is larger than this.
        split: ``'train'`` or ``'val'``.
        version: ``'2014'`` or ``'2017'``.
        seed: seed of the ``data_fraction`` draw (``None``: the global :mod:`random` state).

    Raises:
        ImportError: pycocotools is not installed.
        FileNotFoundError: the dataset folder or the annotation file is missing.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        image_loader: ImageLoader = default_image_loader,
        data_fraction: float | None = None,
        min_area: float | None = None,
        split: str = "train",
        version: str = "2014",
        seed: int | None = 0,
    ) -> None:
        root = resolve_root("COCO", "coco_dir", root, LAYOUT)
        super().__init__("coco", root, image_loader)
        ann_ids = self._load_instances(root, split, version)
        self.class_list = self._category_names()
        if min_area is not None:
            ann_ids = [a for a in ann_ids if self.coco_set.anns[a]["area"] > min_area]
        self.image_list = sample_fraction(ann_ids, data_fraction, seed)
        self.im_per_class = self._items_per_class([self.get_class_name(i) for i in range(len(self.image_list))])

    def _ann_id(self, item_id: int) -> int:
        return self.image_list[item_id]

    # ---- API ---------------------------------------------------------------------------------------------------

    def get_image_info(self, image_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (4,) float32, 'mask': (H, W) float32, 'valid', 'visible': bool scalars}``."""
        bbox, mask = self._box_and_mask(image_id)
        valid = (bbox[2] > 0) & (bbox[3] > 0)
        return {"bbox": bbox, "mask": mask, "valid": valid, "visible": valid.clone()}

    def get_image(
        self, image_id: int, anno: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, torch.Tensor], OrderedDict]:
        frame = self.image_loader(self._image_path(image_id))
        if anno is None:
            anno = self.get_image_info(image_id)
        return frame, anno, self.get_meta_info(image_id)
