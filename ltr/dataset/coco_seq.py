"""MS COCO served as 1-frame "videos": one sequence per non-crowd object instance.

Same layout as :mod:`ltr.dataset.coco`. ``get_frames`` returns the instance's image once per requested frame id,
so that samplers which draw train and test frames from one sequence get the same image (to be augmented).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import (
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    resolve_root,
    sample_fraction,
    valid_boxes,
)
from ltr.dataset.coco import LAYOUT, CocoInstancesMixin

__all__ = ["MSCOCOSeq"]


class MSCOCOSeq(CocoInstancesMixin, BaseVideoDataset):
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
        ann_ids = self._load_instances(root, split, version)
        self.sequence_list = sample_fraction(ann_ids, data_fraction, seed)
        self._build_seq_per_class([self.get_class_name(i) for i in range(len(self.sequence_list))])
        self.class_list = self._category_names()

    def _ann_id(self, item_id: int) -> int:
        return self.sequence_list[item_id]

    # ---- API ---------------------------------------------------------------------------------------------------

    def is_video_sequence(self) -> bool:
        return False

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (1, 4) float32, 'mask': (1, H, W) float32, 'valid': (1,) bool, 'visible': (1,) bool}``."""
        bbox, mask = self._box_and_mask(seq_id)
        bbox, mask = bbox[None], mask[None]
        valid = valid_boxes(bbox)
        return {"bbox": bbox, "mask": mask, "valid": valid, "visible": valid.clone()}

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
