"""Base class of the training datasets that serve single annotated images (one object instance per item)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch
import torch.utils.data

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import ImageLoader, PathLike

__all__ = ["BaseImageDataset"]


class BaseImageDataset(torch.utils.data.Dataset):
    """A collection of annotated images; an item is one object instance in one image.

    Subclasses fill ``image_list`` (and ``class_list`` / ``im_per_class``) and implement :meth:`get_image_info`
    and :meth:`get_image`.

    Args:
        name: dataset name (:meth:`get_name`).
        root: dataset folder.
        image_loader: reads an image file as (H, W, 3) uint8 RGB.
    """

    def __init__(self, name: str, root: PathLike | None, image_loader: ImageLoader = default_image_loader) -> None:
        self.name = name
        self.root = root
        self.image_loader = image_loader
        self.image_list: list = []
        self.class_list: list[str] = []
        self.im_per_class: dict[str, list[int]] = {}

    def __len__(self) -> int:
        """Number of items (images)."""
        return self.get_num_images()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.get_name()!r}, root={self.root!r}, images={len(self)})"

    def get_name(self) -> str:
        """Name of the dataset."""
        return self.name

    def is_video_sequence(self) -> bool:
        """Always ``False``: items are single images."""
        return False

    def is_synthetic_video_dataset(self) -> bool:
        """Always ``False``."""
        return False

    def is_mot_dataset(self) -> bool:
        """Always ``False``: one object per item."""
        return False

    def has_class_info(self) -> bool:
        """Whether the items have object classes."""
        return False

    def has_occlusion_info(self) -> bool:
        """Whether visibility comes from occlusion annotations."""
        return False

    def has_segmentation_info(self) -> bool:
        """Whether object masks are available."""
        return False

    def get_num_images(self) -> int:
        """Number of items."""
        return len(self.image_list)

    def get_num_classes(self) -> int:
        """Number of object classes."""
        return len(self.class_list)

    def get_class_list(self) -> list[str]:
        """Names of the object classes."""
        return list(self.class_list)

    def get_images_in_class(self, class_name: str) -> list[int]:
        """Ids of the items whose object belongs to ``class_name``.

        Raises:
            ValueError: the dataset has no class information.
            KeyError: unknown class (the message lists the classes).
        """
        if not self.has_class_info():
            raise ValueError(f"{self.get_name()}: the dataset has no class information")
        if class_name not in self.im_per_class:
            raise KeyError(f"{self.get_name()}: unknown class {class_name!r}; classes: {sorted(self.im_per_class)}")
        return list(self.im_per_class[class_name])

    def get_image_info(self, image_id: int) -> dict[str, torch.Tensor]:
        """Annotation of one item: ``'bbox'`` (4,) float32 ``[x, y, w, h]``, ``'valid'`` and ``'visible'`` (bool
        scalars) and, with segmentation, ``'mask'`` (H, W) float32 in {0, 1}."""
        raise NotImplementedError

    def get_image(
        self, image_id: int, anno: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, torch.Tensor], OrderedDict]:
        """Image (H, W, 3) uint8 RGB, annotation (:meth:`get_image_info`, or ``anno``) and object meta data."""
        raise NotImplementedError
