"""Image loaders under the original's import path; the implementation lives in :mod:`pytracking.utils.image_io`.

Unlike the original, every loader raises (``FileNotFoundError`` or ``ImageReadError``) instead of printing and
returning ``None``.
"""

from pytracking.utils.image_io import (
    ImageReadError,
    default_image_loader,
    imread,
    imread_indexed,
    imwrite_indexed,
    jpeg4py_loader,
    jpeg4py_loader_w_failsafe,
    opencv_loader,
    opencv_seg_loader,
    pil_loader,
)

__all__ = [
    "ImageReadError",
    "default_image_loader",
    "imread",
    "imread_indexed",
    "imwrite_indexed",
    "jpeg4py_loader",
    "jpeg4py_loader_w_failsafe",
    "opencv_loader",
    "opencv_seg_loader",
    "pil_loader",
]
