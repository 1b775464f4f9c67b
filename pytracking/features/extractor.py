"""Feature extractors: sample image patches around the target and run a set of features on them.

:class:`MultiResolutionExtractor` is what the ATOM parameter files put in ``params.features``: it samples one
patch per search scale (:func:`~pytracking.features.preprocessing.sample_patch_multiscale`) and concatenates the
outputs of all its features into one ``TensorList`` (one entry per output map). Features that are not meant for
the sequence's colour mode (``use_for_color`` / ``use_for_gray``) are skipped once :meth:`set_is_color` is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from pytracking.features.featurebase import FeatureBase
from pytracking.features.preprocessing import sample_patch_multiscale, sample_patch_transformed
from pytracking.libs.tensorlist import TensorList

__all__ = ["ExtractorBase", "MultiResolutionExtractor"]


class ExtractorBase:
    """A list of features that are initialised together.

    Args:
        features: the features (:class:`~pytracking.features.featurebase.FeatureBase` instances).
    """

    def __init__(self, features: Sequence[FeatureBase]):
        self.features = list(features)
        self.is_color: bool | None = None

    def initialize(self) -> None:
        """Initialise every feature (loads their networks)."""
        for f in self.features:
            f.initialize()

    def set_is_color(self, is_color: bool | None) -> None:
        """Restrict the active features to those used for colour (True) or grey (False) images; None: all."""
        self.is_color = is_color

    def _active(self) -> list[FeatureBase]:
        if self.is_color is None:
            return self.features
        return [f for f in self.features if (f.use_for_color if self.is_color else f.use_for_gray)]

    def _flat(self, values: Sequence[Any]) -> TensorList:
        """One entry per output map: the lists of multi-output features are flattened."""
        out = TensorList()
        for v in values:
            out.extend(v if isinstance(v, TensorList) else [v])
        return out


class MultiResolutionExtractor(ExtractorBase):
    """Features of patches sampled at several scales around one position.

    Args:
        features: the features.
        patch_mode: border mode of the patch sampling (``'replicate'``, ``'inside'``, ``'inside_major'``).
        max_scale_change: bound on the shrink of ``'inside*'`` crops.
    """

    def __init__(
        self, features: Sequence[FeatureBase], patch_mode: str = "replicate", max_scale_change: float | None = None
    ):
        super().__init__(features)
        self.patch_mode = patch_mode
        self.max_scale_change = max_scale_change

    def stride(self) -> torch.Tensor:
        """Stride (image pixels per cell) of each output map, a 1-D float tensor."""
        return torch.tensor([float(s) for s in self._flat([f.stride() for f in self._active()])])

    def size(self, input_sz: torch.Tensor) -> TensorList:
        """Size ``[h, w]`` of each output map for patches of size ``input_sz`` ``[h, w]``."""
        return self._flat([f.size(input_sz) for f in self._active()])

    def dim(self) -> TensorList:
        """Number of channels of each output map."""
        return self._flat([f.dim() for f in self._active()])

    def get_fparams(self, name: str | None = None) -> Any:
        """The features' ``fparams`` (a list), or their attribute ``name`` flattened over outputs (a TensorList).

        With ``FeatureParams(feature_params=[p1, p2])`` on a two-output feature, ``get_fparams('feature_params')``
        gives ``TensorList([p1, p2])``: one parameter set per output map.
        """
        active = self._active()
        if name is None:
            return [f.fparams for f in active]
        return self._flat([getattr(f.fparams, name) for f in active])

    def get_attribute(self, name: str, ignore_missing: bool = False) -> TensorList:
        """Attribute ``name`` of every active feature (None where missing, or skipped with ``ignore_missing``)."""
        if ignore_missing:
            return TensorList(getattr(f, name) for f in self._active() if hasattr(f, name))
        return TensorList(getattr(f, name, None) for f in self._active())

    def get_unique_attribute(self, name: str) -> Any:
        """Attribute ``name`` of the one active feature that has it.

        Raises:
            RuntimeError: no feature, or more than one, has the attribute.
        """
        owners = [f for f in self._active() if hasattr(f, name)]
        if len(owners) != 1:
            raise RuntimeError(f"attribute {name!r} is held by {len(owners)} features; exactly one was expected")
        return getattr(owners[0], name)

    def extract(
        self,
        im: torch.Tensor,
        pos: torch.Tensor,
        scales: float | Sequence[float] | torch.Tensor,
        image_sz: torch.Tensor,
        return_patches: bool = False,
    ) -> tuple[TensorList, torch.Tensor] | tuple[TensorList, torch.Tensor, torch.Tensor]:
        """Features of patches of ``scale * image_sz`` pixels centred at ``pos``, resized to ``image_sz``.

        Args:
            im: image ``(1, 3, H, W)``, RGB in [0, 255].
            pos: centre ``[y, x]`` (truncated to an integer pixel by the sampling).
            scales: ``S`` scale factors (a number for one scale).
            image_sz: patch size ``[h, w]`` fed to the features.
            return_patches: also return the patches.

        Returns:
            ``(features, patch_coords)``: a TensorList with one ``(S, C_i, h_i, w_i)`` map per output, and the
            sampled regions ``(S, 4)`` ``[y0, x0, y1, x1]``; plus the patches ``(S, 3, h, w)`` on request.
        """
        patches, coords = sample_patch_multiscale(
            im, pos, scales, image_sz, mode=self.patch_mode, max_scale_change=self.max_scale_change
        )
        feats = self._flat([f.get_feature(patches) for f in self._active()])
        if return_patches:
            return feats, coords, patches
        return feats, coords

    def extract_transformed(
        self, im: torch.Tensor, pos: torch.Tensor, scale: float, image_sz: torch.Tensor, transforms: Sequence[Any]
    ) -> TensorList:
        """Features of one patch under several transforms (the first-frame augmentation).

        Args:
            im: image ``(1, 3, H, W)``.
            pos: centre ``[y, x]``.
            scale: sample scale; the patch covers ``scale * image_sz`` pixels.
            image_sz: sampled size ``[h, w]`` (usually larger than the network input; the transforms crop).
            transforms: callables from :mod:`pytracking.features.augmentation`.

        Returns:
            A TensorList with one ``(len(transforms), C_i, h_i, w_i)`` map per output.
        """
        patches = sample_patch_transformed(im, pos, scale, image_sz, transforms)
        return self._flat([f.get_feature(patches) for f in self._active()])
