"""Training datasets: sequences (videos) and images with box, visibility and mask annotations.

Every dataset exposes the same API (:class:`BaseVideoDataset` / :class:`BaseImageDataset`); samplers in
``ltr.data.sampler`` draw training frames through ``get_sequence_info`` and ``get_frames``.
"""

from ltr.dataset.base_image_dataset import BaseImageDataset
from ltr.dataset.base_video_dataset import BaseVideoDataset
from ltr.dataset.coco import MSCOCO
from ltr.dataset.coco_seq import MSCOCOSeq
from ltr.dataset.got10k import Got10k
from ltr.dataset.imagenetvid import ImagenetVID
from ltr.dataset.lasot import Lasot
from ltr.dataset.synthetic import SyntheticTracking
from ltr.dataset.tracking_net import TrackingNet

__all__ = [
    "BaseImageDataset",
    "BaseVideoDataset",
    "Got10k",
    "ImagenetVID",
    "Lasot",
    "MSCOCO",
    "MSCOCOSeq",
    "SyntheticTracking",
    "TrackingNet",
]
