"""Base class of the training datasets that serve single annotated images (one object instance per item)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import DatasetBase, ImageLoader, PathLike

__all__ = ["BaseImageDataset"]


class BaseImageDataset(DatasetBase):
    """A collection of annotated images; an item is one object instance in one image.

    Subclasses fill ``image_list`` (and ``class_list`` / ``im_per_class``) and implement :meth:`get_image_info`
    and :meth:`get_image`.

    Args:
        name, root, image_loader: see :class:`~ltr.dataset.base_video_dataset.DatasetBase`.
    """

    item_kind = "images"

    def __init__(self, name: str, root: PathLike | None, image_loader: ImageLoader = default_image_loader) -> None:
        super().__init__(name, root, image_loader)
        self.image_list: list = []
        self.im_per_class: dict[str, list[int]] = {}

    def _count(self) -> int:
        return self.get_num_images()

    def get_num_images(self) -> int:
        """Number of items."""
        return len(self.image_list)

    def get_images_in_class(self, class_name: str) -> list[int]:
        """Ids of the items whose object belongs to ``class_name``.

        Raises:
            ValueError: the dataset has no class information.
            KeyError: unknown class (the message lists the classes).
        """
        return self._items_in_class(class_name, self.im_per_class)

    def get_image_info(self, image_id: int) -> dict[str, torch.Tensor]:
        """Annotation of one item: ``'bbox'`` (4,) float32 ``[x, y, w, h]``, ``'valid'`` and ``'visible'`` (bool
        scalars) and, with segmentation, ``'mask'`` (H, W) float32 in {0, 1}."""
        raise NotImplementedError

    def get_image(
        self, image_id: int, anno: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, torch.Tensor], OrderedDict]:
        """Image (H, W, 3) uint8 RGB, annotation (:meth:`get_image_info`, or ``anno``) and object meta data."""
        raise NotImplementedError
