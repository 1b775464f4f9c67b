"""Data pipeline for training: loaders, samplers, processing and transforms.

Submodules: :mod:`~ltr.data.image_loader`, :mod:`~ltr.data.transforms`, :mod:`~ltr.data.processing_utils`,
:mod:`~ltr.data.processing`, :mod:`~ltr.data.sampler`, :mod:`~ltr.data.loader`. As in the original, the loader
class is also available here (``from ltr.data import LTRLoader``).
"""

from ltr.data.loader import LTRLoader

__all__ = ["LTRLoader"]
