"""Processing of sampled frames into network inputs: crops around jittered boxes, augmentation, proposals, labels.

A processing object is called by a sampler (``ltr.data.sampler``) with a :class:`TensorDict` holding
``train_images`` / ``test_images`` (lists of (H, W, 3) uint8 RGB arrays) and ``train_anno`` / ``test_anno``
(lists of (4,) ``[x, y, w, h]`` boxes), plus pass-through entries (``dataset``, ``test_class``). It returns the
same dict with the images replaced by crops (through the transforms) and the boxes mapped into crop coordinates,
plus the training targets of the network family:

* :class:`ATOMProcessing`: ``test_proposals`` and ``proposal_iou`` (IoU mapped to [-1, 1]);
* :class:`DiMPProcessing`: the same proposals (optional) and Gaussian ``train_label`` / ``test_label``;
* :class:`KLBBregProcessing`: GMM-sampled ``test_proposals``, ``proposal_density`` and ``gt_density``;
* :class:`KLDiMPProcessing`: those plus labels and ``train_label_density`` / ``test_label_density``.

With ``mode='sequence'`` per-frame tensors are stacked to (num_frames, ...); with ``mode='pair'`` (one train
and one test frame) the lists are replaced by their single element.

Randomness: the box jitter and GMM sampling draw from torch, :func:`processing_utils.perturb_box` from Python's
:mod:`random`, the transforms from :mod:`random` and numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from ltr.data import processing_utils as prutils
from ltr.data import transforms as tfm
from pytracking.libs.tensordict import TensorDict

__all__ = [
    "stack_tensors",
    "BaseProcessing",
    "ATOMProcessing",
    "DiMPProcessing",
    "KLBBregProcessing",
    "KLDiMPProcessing",
]

Mode = Literal["pair", "sequence"]
_SPLITS = ("train", "test")


def stack_tensors(x: Any) -> Any:
    """Stack a list/tuple of tensors along a new dim 0; anything else is returned unchanged."""
    if isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(x[0], torch.Tensor):
        return torch.stack(list(x))
    return x


def _first_element(x: Any) -> Any:
    return x[0] if isinstance(x, list) else x


class BaseProcessing:
    """Holds the transforms; subclasses implement ``__call__(data) -> data``.

    Args:
        transform: applied to the crops of both splits when the split's own transform is not given; default
            :class:`~ltr.data.transforms.ToTensor`.
        train_transform: transform of the train crops.
        test_transform: transform of the test crops.
        joint_transform: applied to the full frames before cropping, with one roll for all train and test frames.
    """

    def __init__(
        self,
        transform: tfm.Transform | tfm.TransformBase | None = None,
        train_transform: tfm.Transform | tfm.TransformBase | None = None,
        test_transform: tfm.Transform | tfm.TransformBase | None = None,
        joint_transform: tfm.Transform | tfm.TransformBase | None = None,
    ) -> None:
        transform = tfm.Transform(tfm.ToTensor()) if transform is None else _as_transform(transform)
        self.transform = {
            "train": transform if train_transform is None else _as_transform(train_transform),
            "test": transform if test_transform is None else _as_transform(test_transform),
            "joint": None if joint_transform is None else _as_transform(joint_transform),
        }

    def __call__(self, data: TensorDict) -> TensorDict:
        raise NotImplementedError


def _as_transform(t: tfm.Transform | tfm.TransformBase) -> tfm.Transform:
    """A bare transform wrapped in :class:`~ltr.data.transforms.Transform` (which adds joint / per-frame modes)."""
    return t if isinstance(t, tfm.Transform) else tfm.Transform(t)


class _CropProcessing(BaseProcessing):
    """Shared steps: joint transform, jittered crops of each split, per-frame transforms, output formatting.

    Subclasses implement ``_crop`` and add their training targets in the two hooks of :meth:`__call__`.

    Args:
        search_area_factor: crop side over the target's geometric-mean side.
        output_sz: crop size, a number or ``(w, h)`` (ATOM: a number).
        center_jitter_factor: ``{'train': f, 'test': f}``; the centre moves by up to ``f * sqrt(w h) / 2``.
        scale_jitter_factor: ``{'train': f, 'test': f}``; the size is multiplied by ``exp(N(0, 1) * f)``.
        mode: ``'pair'`` or ``'sequence'``.
        **kwargs: the transforms of :class:`BaseProcessing`.
    """

    def __init__(
        self,
        search_area_factor: float,
        output_sz: int | Sequence[int],
        center_jitter_factor: dict[str, float],
        scale_jitter_factor: dict[str, float],
        mode: Mode = "pair",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in ("pair", "sequence"):
            raise ValueError(f"{type(self).__name__}: unknown mode {mode!r}; choose 'pair' or 'sequence'")
        self.search_area_factor = search_area_factor
        self.output_sz = output_sz
        self.center_jitter_factor = center_jitter_factor
        self.scale_jitter_factor = scale_jitter_factor
        self.mode = mode

    def _get_jittered_box(self, box: torch.Tensor, mode: str) -> torch.Tensor:
        """Randomly rescaled and shifted copy of a (4,) box (``mode``: ``'train'`` or ``'test'``)."""
        jittered_size = box[2:4] * torch.exp(torch.randn(2) * self.scale_jitter_factor[mode])
        max_offset = jittered_size.prod().sqrt() * torch.tensor(self.center_jitter_factor[mode]).float()
        jittered_center = box[0:2] + 0.5 * box[2:4] + max_offset * (torch.rand(2) - 0.5)
        return torch.cat((jittered_center - 0.5 * jittered_size, jittered_size), dim=0)

    def _apply_joint_transform(self, data: TensorDict) -> None:
        joint = self.transform["joint"]
        if joint is None:
            return
        data["train_images"], data["train_anno"] = joint(image=data["train_images"], bbox=data["train_anno"])
        data["test_images"], data["test_anno"] = joint(
            image=data["test_images"], bbox=data["test_anno"], new_roll=False
        )

    def _crop(self, frames: list, jittered: list, boxes: list) -> tuple[list, list]:
        """Crops of the frames around the jittered boxes and the boxes in crop coordinates."""
        raise NotImplementedError

    def _crop_splits(self, data: TensorDict) -> None:
        for s in _SPLITS:
            if self.mode != "sequence" and len(data[s + "_images"]) != 1:
                raise ValueError(f"{type(self).__name__}: in 'pair' mode each split must have exactly one frame")
            jittered = [self._get_jittered_box(a, s) for a in data[s + "_anno"]]
            crops, boxes = self._crop(data[s + "_images"], jittered, data[s + "_anno"])
            data[s + "_images"], data[s + "_anno"] = self.transform[s](image=crops, bbox=boxes, joint=False)

    def _format(self, data: TensorDict) -> TensorDict:
        if self.mode == "sequence":
            return data.apply(stack_tensors)
        return data.apply(_first_element)

    def _add_frame_targets(self, data: TensorDict) -> None:
        """Hook: per-frame targets (lists over the frames) computed from the crop boxes before stacking."""

    def _add_stacked_targets(self, data: TensorDict) -> None:
        """Hook: targets computed from the formatted (stacked, or single-frame in 'pair' mode) crop boxes."""

    def __call__(self, data: TensorDict) -> TensorDict:
        """Process one sample (see the class docstring for the keys)."""
        self._apply_joint_transform(data)
        self._crop_splits(data)
        self._add_frame_targets(data)
        data = self._format(data)
        self._add_stacked_targets(data)
        return data


class ATOMProcessing(_CropProcessing):
    """ATOM's processing: square crops (:func:`~ltr.data.processing_utils.jittered_center_crop`) and IoU proposals.

    Args:
        search_area_factor: crop side over the target's geometric-mean side.
        output_sz: side of the square crops.
        center_jitter_factor: ``{'train': f, 'test': f}``.
        scale_jitter_factor: ``{'train': f, 'test': f}``.
        proposal_params: ``boxes_per_frame``, ``min_iou``, ``sigma_factor`` (and ``proposal_method``
            ``'default'`` or ``'gmm'`` with ``proposal_sigma``).
        mode: ``'pair'`` or ``'sequence'``.
        **kwargs: the transforms of :class:`BaseProcessing`.

    Output keys: ``train_images``, ``train_anno``, ``test_images``, ``test_anno``, ``test_proposals``
    ((num_frames,) boxes_per_frame, 4), ``proposal_iou`` (IoU * 2 - 1), and the sampler's pass-through entries.
    """

    def __init__(
        self,
        search_area_factor: float,
        output_sz: int,
        center_jitter_factor: dict[str, float],
        scale_jitter_factor: dict[str, float],
        proposal_params: dict[str, Any],
        mode: Mode = "pair",
        **kwargs: Any,
    ) -> None:
        super().__init__(search_area_factor, output_sz, center_jitter_factor, scale_jitter_factor, mode, **kwargs)
        self.proposal_params = proposal_params

    def _crop(self, frames: list, jittered: list, boxes: list) -> tuple[list, list]:
        crops, boxes_crop, _ = prutils.jittered_center_crop(
            frames, jittered, boxes, self.search_area_factor, self.output_sz
        )
        return crops, boxes_crop

    def _add_frame_targets(self, data: TensorDict) -> None:
        _add_iou_proposals(data, self.proposal_params)


def _iou_proposals(box: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """``boxes_per_frame`` proposals around ``box`` and their IoU with it mapped to [-1, 1] (``2 * IoU - 1``)."""
    num = params["boxes_per_frame"]
    method = params.get("proposal_method", "default")
    if method == "default":
        proposals = torch.zeros((num, 4))
        gt_iou = torch.zeros(num)
        for i in range(num):
            proposals[i, :], gt_iou[i] = prutils.perturb_box(
                box, min_iou=params["min_iou"], sigma_factor=params["sigma_factor"]
            )
    elif method == "gmm":
        proposals, _, _ = prutils.sample_box_gmm(box, params["proposal_sigma"], num_samples=num)
        gt_iou = prutils.iou(box.view(1, 4), proposals.view(-1, 4))
    else:
        raise ValueError(f"unknown proposal_method {method!r}; choose 'default' or 'gmm'")
    return proposals, gt_iou * 2 - 1


def _add_iou_proposals(data: TensorDict, params: dict[str, Any]) -> None:
    """``test_proposals`` and ``proposal_iou``: lists over the test frames of :func:`_iou_proposals`."""
    proposals, gt_iou = zip(*[_iou_proposals(a, params) for a in data["test_anno"]])
    data["test_proposals"] = list(proposals)
    data["proposal_iou"] = list(gt_iou)


class _AdaptiveCropProcessing(_CropProcessing):
    """Crops made by :func:`~ltr.data.processing_utils.target_image_crop` (crop type and scale-change limit)."""

    def __init__(
        self,
        search_area_factor: float,
        output_sz: int | Sequence[int],
        center_jitter_factor: dict[str, float],
        scale_jitter_factor: dict[str, float],
        crop_type: prutils.CropMode = "replicate",
        max_scale_change: float | None = None,
        mode: Mode = "pair",
        **kwargs: Any,
    ) -> None:
        super().__init__(search_area_factor, output_sz, center_jitter_factor, scale_jitter_factor, mode, **kwargs)
        if crop_type not in ("replicate", "inside", "inside_major"):
            raise ValueError(f"unknown crop_type {crop_type!r}; choose 'replicate', 'inside' or 'inside_major'")
        self.crop_type = crop_type
        self.max_scale_change = max_scale_change

    def _crop(self, frames: list, jittered: list, boxes: list) -> tuple[list, list]:
        return prutils.target_image_crop(
            frames,
            jittered,
            boxes,
            self.search_area_factor,
            self.output_sz,
            mode=self.crop_type,
            max_scale_change=self.max_scale_change,
        )


def _add_gaussian_labels(data: TensorDict, params: dict[str, Any], output_sz: Any) -> None:
    """``train_label`` / ``test_label``: Gaussian labels (N, H, W) of each split's (N, 4) crop boxes.

    Args:
        data: the formatted sample, modified in place.
        params: ``label_function_params`` (``sigma_factor``, ``kernel_sz``, ``feature_sz``, ``end_pad_if_even``).
        output_sz: crop size, a number or ``(w, h)``.
    """
    for s in _SPLITS:
        data[s + "_label"] = prutils.gaussian_label_function(
            data[s + "_anno"].view(-1, 4),
            params["sigma_factor"],
            params["kernel_sz"],
            params["feature_sz"],
            output_sz,
            end_pad_if_even=params.get("end_pad_if_even", True),
        )


class DiMPProcessing(_AdaptiveCropProcessing):
    """DiMP's processing: adaptive crops (:func:`~ltr.data.processing_utils.target_image_crop`), optional IoU
    proposals and Gaussian classification labels.

    Args:
        search_area_factor: crop side over the target's geometric-mean side.
        output_sz: crop size, a number or ``(w, h)``.
        center_jitter_factor: ``{'train': f, 'test': f}``.
        scale_jitter_factor: ``{'train': f, 'test': f}``.
        crop_type: ``'replicate'``, ``'inside'`` or ``'inside_major'``.
        max_scale_change: largest crop shrink for the inside crop types.
        mode: ``'pair'`` or ``'sequence'``.
        proposal_params: as :class:`ATOMProcessing`; ``None`` skips the proposals.
        label_function_params: ``sigma_factor``, ``kernel_sz``, ``feature_sz`` (and ``end_pad_if_even``);
            ``None`` skips the labels.
        **kwargs: the transforms of :class:`BaseProcessing`.

    Output keys: ``train_images`` / ``test_images`` ((F,) 3, H, W in 'sequence' mode), ``train_anno`` /
    ``test_anno`` ((F,) 4), ``test_proposals`` ((F,) boxes_per_frame, 4), ``proposal_iou``, ``train_label`` /
    ``test_label`` (F, feat + pad, feat + pad) and the sampler's pass-through entries.
    """

    def __init__(
        self,
        search_area_factor: float,
        output_sz: int | Sequence[int],
        center_jitter_factor: dict[str, float],
        scale_jitter_factor: dict[str, float],
        crop_type: prutils.CropMode = "replicate",
        max_scale_change: float | None = None,
        mode: Mode = "pair",
        proposal_params: dict[str, Any] | None = None,
        label_function_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            search_area_factor,
            output_sz,
            center_jitter_factor,
            scale_jitter_factor,
            crop_type=crop_type,
            max_scale_change=max_scale_change,
            mode=mode,
            **kwargs,
        )
        self.proposal_params = proposal_params
        self.label_function_params = label_function_params

    def _add_frame_targets(self, data: TensorDict) -> None:
        if self.proposal_params:
            _add_iou_proposals(data, self.proposal_params)

    def _add_stacked_targets(self, data: TensorDict) -> None:
        if self.label_function_params is not None:
            _add_gaussian_labels(data, self.label_function_params, self.output_sz)


class KLBBregProcessing(_AdaptiveCropProcessing):
    """Processing of the probabilistic IoU-Net (ATOM-prob-ML): adaptive crops and GMM-sampled proposals.

    Args:
        search_area_factor: crop side over the target's geometric-mean side.
        output_sz: crop size, a number or ``(w, h)``.
        center_jitter_factor: ``{'train': f, 'test': f}``.
        scale_jitter_factor: ``{'train': f, 'test': f}``.
        crop_type: ``'replicate'``, ``'inside'`` or ``'inside_major'``.
        max_scale_change: largest crop shrink for the inside crop types.
        mode: ``'pair'`` or ``'sequence'``.
        proposal_params: ``proposal_sigma`` (list of ``(center_std, size_std)``), ``gt_sigma``,
            ``boxes_per_frame`` and optional ``add_mean_box``.
        **kwargs: the transforms of :class:`BaseProcessing`.

    Output keys: the crops and boxes, ``test_proposals``, ``proposal_density`` and ``gt_density``.
    """

    def __init__(
        self,
        search_area_factor: float,
        output_sz: int | Sequence[int],
        center_jitter_factor: dict[str, float],
        scale_jitter_factor: dict[str, float],
        crop_type: prutils.CropMode = "replicate",
        max_scale_change: float | None = None,
        mode: Mode = "pair",
        proposal_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            search_area_factor,
            output_sz,
            center_jitter_factor,
            scale_jitter_factor,
            crop_type=crop_type,
            max_scale_change=max_scale_change,
            mode=mode,
            **kwargs,
        )
        self.proposal_params = proposal_params

    def _generate_proposals(self, box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = self.proposal_params
        return prutils.sample_box_gmm(
            box,
            p["proposal_sigma"],
            gt_sigma=p["gt_sigma"],
            num_samples=p["boxes_per_frame"],
            add_mean_box=p.get("add_mean_box", False),
        )

    def _add_frame_targets(self, data: TensorDict) -> None:
        proposals, proposal_density, gt_density = zip(*[self._generate_proposals(a) for a in data["test_anno"]])
        data["test_proposals"] = list(proposals)
        data["proposal_density"] = list(proposal_density)
        data["gt_density"] = list(gt_density)


class KLDiMPProcessing(KLBBregProcessing):
    """PrDiMP / SuperDiMP processing: :class:`KLBBregProcessing` plus Gaussian labels and label densities.

    Args:
        search_area_factor: crop side over the target's geometric-mean side.
        output_sz: crop size, a number or ``(w, h)``.
        center_jitter_factor: ``{'train': f, 'test': f}``.
        scale_jitter_factor: ``{'train': f, 'test': f}``.
        crop_type: ``'replicate'``, ``'inside'`` or ``'inside_major'``.
        max_scale_change: largest crop shrink for the inside crop types.
        mode: ``'pair'`` or ``'sequence'``.
        proposal_params: as :class:`KLBBregProcessing`.
        label_function_params: as :class:`DiMPProcessing` (``None``: no ``*_label``).
        label_density_params: ``sigma_factor``, ``kernel_sz``, ``feature_sz`` and optional ``interp_factor``,
            ``end_pad_if_even``, ``uni_weight``, ``threshold``, ``normalize``, ``shrink`` (``None``: no
            ``*_label_density``).
        **kwargs: the transforms of :class:`BaseProcessing`.

    Frames flagged by a sampler entry ``is_distractor_train_frame`` / ``is_distractor_test_frame`` get their box
    moved far outside the crop (x = y = 99999999.9), so that their labels are zero.
    """

    def __init__(
        self,
        search_area_factor: float,
        output_sz: int | Sequence[int],
        center_jitter_factor: dict[str, float],
        scale_jitter_factor: dict[str, float],
        crop_type: prutils.CropMode = "replicate",
        max_scale_change: float | None = None,
        mode: Mode = "pair",
        proposal_params: dict[str, Any] | None = None,
        label_function_params: dict[str, Any] | None = None,
        label_density_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            search_area_factor,
            output_sz,
            center_jitter_factor,
            scale_jitter_factor,
            crop_type=crop_type,
            max_scale_change=max_scale_change,
            mode=mode,
            proposal_params=proposal_params,
            **kwargs,
        )
        self.label_function_params = label_function_params
        self.label_density_params = label_density_params

    def _generate_label_density(self, target_bb: torch.Tensor) -> torch.Tensor:
        p = self.label_density_params
        feat_sz = p["feature_sz"] * p.get("interp_factor", 1)
        label = prutils.gaussian_label_function(
            target_bb.view(-1, 4),
            p["sigma_factor"],
            p["kernel_sz"],
            feat_sz,
            self.output_sz,
            end_pad_if_even=p.get("end_pad_if_even", True),
            density=True,
            uni_bias=p.get("uni_weight", 0.0),
        )
        label = label * (label > p.get("threshold", 0.0)).to(label.dtype)
        if p.get("normalize", False):
            total = label.sum(dim=(-2, -1))
            valid = total > 0.01
            label[valid] = label[valid] / total[valid].view(-1, 1, 1)
            label[~valid] = 1.0 / (label.shape[-2] * label.shape[-1])
        return label * (1.0 - p.get("shrink", 0.0))

    def _add_frame_targets(self, data: TensorDict) -> None:
        super()._add_frame_targets(data)
        for s in _SPLITS:
            flags = data.get(f"is_distractor_{s}_frame")
            if flags is not None:
                for is_distractor, box in zip(flags, data[s + "_anno"]):
                    if is_distractor:
                        box[0] = 99999999.9
                        box[1] = 99999999.9

    def _add_stacked_targets(self, data: TensorDict) -> None:
        if self.label_function_params is not None:
            _add_gaussian_labels(data, self.label_function_params, self.output_sz)
        if self.label_density_params is not None:
            for s in _SPLITS:
                data[s + "_label_density"] = self._generate_label_density(data[s + "_anno"])
