"""MS COCO served as 1-frame "videos": one sequence per non-crowd object instance.

Same layout as :mod:`ltr.dataset.coco`. ``get_frames`` returns the instance's image once per requested frame id,
so that samplers which draw train and test frames from one sequence get the same image (to be augmented).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import (
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    object_meta,
    resolve_root,
    sample_fraction,
)
from ltr.dataset.coco import LAYOUT, load_coco

__all__ = ["MSCOCOSeq"]


class MSCOCOSeq(BaseVideoDataset):
    """COCO object instances as 1-frame sequences.

    Args:
        root: dataset folder; default the ``coco_dir`` setting.
        image_loader: reads an image as (H, W, 3) uint8 RGB.
        data_fraction: keep a random fraction of the instances.
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
        split: str = "train",
        version: str = "2014",
        seed: int | None = 0,
    ) -> None:
        root = resolve_root("COCO", "coco_dir", root, LAYOUT)
        super().__init__("coco", root, image_loader)
        self.coco_set, self.img_pth = load_coco(root, split, version)
        self.cats = self.coco_set.cats
        ann_ids = [a for a, ann in self.coco_set.anns.items() if ann["iscrowd"] == 0]
        self.sequence_list = sample_fraction(ann_ids, data_fraction, seed)
        self._build_seq_per_class([self._category(a)["name"] for a in self.sequence_list])
        # All categories, in the annotation file's order (also those without a selected instance).
        self.class_list = [cat["name"] for cat in self.cats.values()]

    def _category(self, ann_id: int) -> dict[str, Any]:
        return self.cats[self.coco_set.anns[ann_id]["category_id"]]

    # ---- API ---------------------------------------------------------------------------------------------------

    def is_video_sequence(self) -> bool:
        return False

    def has_class_info(self) -> bool:
        return True

    def has_segmentation_info(self) -> bool:
        return True

    def get_class_name(self, seq_id: int) -> str:
        """Category name of sequence ``seq_id``."""
        return self._category(self.sequence_list[seq_id])["name"]

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (1, 4) float32, 'mask': (1, H, W) float32, 'valid': (1,) bool, 'visible': (1,) bool}``."""
        anno = self.coco_set.anns[self.sequence_list[seq_id]]
        bbox = torch.tensor(anno["bbox"], dtype=torch.float32).reshape(1, 4)
        mask = torch.from_numpy(self.coco_set.annToMask(anno).astype(np.float32))[None]
        valid = (bbox[:, 2] > 0) & (bbox[:, 3] > 0)
        return {"bbox": bbox, "mask": mask, "valid": valid, "visible": valid.clone()}

    def get_meta_info(self, seq_id: int) -> OrderedDict:
        """Object meta data: category name and supercategory (as ``major_class``)."""
        cat = self._category(self.sequence_list[seq_id])
        return object_meta(object_class_name=cat["name"], major_class=cat.get("supercategory"))

    def _image_path(self, seq_id: int) -> str:
        image_info = self.coco_set.loadImgs([self.coco_set.anns[self.sequence_list[seq_id]]["image_id"]])[0]
        return os.fspath(self.img_pth / image_info["file_name"])

    def get_frames(
        self, seq_id: int, frame_ids: Sequence[int], anno: dict | None = None
    ) -> tuple[list[np.ndarray], dict[str, list], OrderedDict]:
        """The instance's image and annotation repeated ``len(frame_ids)`` times (the ids themselves are ignored)."""
        frame = self.image_loader(self._image_path(seq_id))
        frames = [frame.copy() for _ in frame_ids]
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        frame_anno = {key: [value[0, ...].clone() for _ in frame_ids] for key, value in anno.items()}
        return frames, frame_anno, self.get_meta_info(seq_id)
