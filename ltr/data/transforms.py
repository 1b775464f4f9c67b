"""Joint data augmentation of images, coordinates, boxes and masks for the training pipeline.

A transform is called with keyword inputs and returns the transformed inputs in the same order::

    image, bbox = transform(image=frames, bbox=boxes)

Inputs (each a single item or a list of items):

* ``image``: (H, W, C) numpy array (before :class:`ToTensor`) or (C, H, W) tensor (after);
* ``coords``: (2, N) tensor of pixel indices as rows ``(y, x)``;
* ``bbox``: (4,) tensor ``[x, y, w, h]`` in continuous coordinates (pixel ``j`` covers ``[j, j + 1)``);
* ``bboxes``: (N, 4) tensor of such boxes (several objects in one image);
* ``mask``: (H, W) numpy array or tensor.

Randomness: every transform draws its random parameters once per call ("roll") and applies them to every input and
to every element of a list, so a list of frames and its boxes are transformed alike. ``new_roll=False`` reuses the
previous call's parameters (the processing classes use it to apply the train frames' roll to the test frames).
With ``joint=False`` (only on :class:`Transform`) the lists are split and each element gets its own roll.
Random numbers come from Python's :mod:`random` (flips, grayscale, blur, affine) and numpy (brightness jitter),
as in the original, so seeding both makes the transforms reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import cv2 as cv
import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "Transform",
    "TransformBase",
    "ToTensor",
    "ToTensorAndJitter",
    "Normalize",
    "ToGrayscale",
    "ToBGR",
    "RandomHorizontalFlip",
    "Blur",
    "RandomBlur",
    "RandomAffine",
]

VALID_INPUTS = ("image", "coords", "bbox", "bboxes", "mask")

_BORDER_MODES = {"constant": cv.BORDER_CONSTANT, "replicate": cv.BORDER_REPLICATE}


class Transform:
    """A sequence of transforms applied jointly to the given inputs.

    Args:
        *transforms: :class:`TransformBase` instances (or a single list/tuple of them), applied in order.
    """

    def __init__(self, *transforms: Any) -> None:
        if len(transforms) == 1 and isinstance(transforms[0], (list, tuple)):
            transforms = tuple(transforms[0])
        flat: list[TransformBase] = []
        for t in transforms:
            # A nested Transform contributes its steps (its __call__ returns tuples, not the dicts chained here).
            flat.extend(t.transforms if isinstance(t, Transform) else [t])
        self.transforms = tuple(flat)

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"{type(self).__name__}({inner})"

    def __call__(self, joint: bool = True, new_roll: bool | list[bool] = True, **inputs: Any) -> Any:
        """Transform the inputs.

        Args:
            joint: one roll for all list elements (True), or each element transformed with its own roll (False).
            new_roll: draw new random parameters (True) or reuse the last ones; with ``joint=False`` it may be a
                list with one value per element.
            **inputs: any of ``image``, ``coords``, ``bbox``, ``bboxes``, ``mask``.

        Returns:
            The transformed input when one was given, else a tuple in the order of the keyword arguments. With
            ``joint=False`` the list inputs come back as lists.

        Raises:
            ValueError: an unknown input name.
        """
        unknown = [k for k in inputs if k not in VALID_INPUTS]
        if unknown:
            raise ValueError(f"Transform: unknown input(s) {unknown}; valid inputs: {list(VALID_INPUTS)}")
        names = list(inputs)
        if not joint:
            per_item = self._split_inputs(inputs, new_roll)
            results = [self(joint=True, new_roll=roll, **item) for item, roll in per_item]
            if len(names) == 1:
                return list(results)
            return tuple(list(r) for r in zip(*results))

        out = dict(inputs)
        for t in self.transforms:
            out = t(new_roll=new_roll, **out)
        if len(names) == 1:
            return out[names[0]]
        return tuple(out[n] for n in names)

    @staticmethod
    def _split_inputs(inputs: dict[str, Any], new_roll: bool | list[bool]) -> list[tuple[dict[str, Any], bool]]:
        names = list(inputs)
        lengths = {len(inputs[n]) for n in names}
        if len(lengths) != 1:
            sizes = {n: len(inputs[n]) for n in names}
            raise ValueError(f"Transform(joint=False): the inputs have different lengths {sizes}")
        n_items = lengths.pop()
        rolls = list(new_roll) if isinstance(new_roll, (list, tuple)) else [new_roll] * n_items
        return [({n: inputs[n][i] for n in names}, rolls[i]) for i in range(n_items)]


class TransformBase:
    """Base class of a single transform: roll random parameters, then map each input type.

    Subclasses override :meth:`roll` and any of ``transform_image``, ``transform_coords``, ``transform_bbox``,
    ``transform_mask``. Boxes default to the bounding box of their four transformed corners when
    ``transform_coords`` is overridden, and are left unchanged otherwise.
    """

    def __init__(self) -> None:
        self._rand_params: tuple = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __call__(self, new_roll: bool = True, **inputs: Any) -> dict[str, Any]:
        """Transform every given input (lists element-wise with the same parameters); returns a dict by name."""
        unknown = [k for k in inputs if k not in VALID_INPUTS]
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown input(s) {unknown}; valid inputs: {list(VALID_INPUTS)}")
        if new_roll:
            params = self.roll()
            if params is None:
                params = ()
            elif not isinstance(params, tuple):
                params = (params,)
            self._rand_params = params
        outputs: dict[str, Any] = {}
        for name, value in inputs.items():
            if value is None:
                outputs[name] = None
                continue
            fn = getattr(self, "transform_" + name)
            if name in ("coords", "bbox", "bboxes"):
                args = (self._get_image_size(inputs), *self._rand_params)
            else:
                args = self._rand_params
            if isinstance(value, (list, tuple)):
                outputs[name] = [fn(v, *args) for v in value]
            else:
                outputs[name] = fn(value, *args)
        return outputs

    @staticmethod
    def _get_image_size(inputs: dict[str, Any]) -> tuple[int, int] | None:
        """(H, W) of the image (or mask) input, needed by geometric transforms of coordinates."""
        for name in ("image", "mask"):
            im = inputs.get(name)
            if im is None:
                continue
            if isinstance(im, (list, tuple)):
                im = im[0]
            if isinstance(im, np.ndarray):
                return int(im.shape[0]), int(im.shape[1])
            if torch.is_tensor(im):
                return int(im.shape[-2]), int(im.shape[-1])
            raise TypeError(f"unsupported image type {type(im).__name__}")
        return None

    def roll(self) -> Any:
        """Draw the random parameters of one call (``None`` for deterministic transforms)."""
        return None

    def transform_image(self, image: Any, *rand_params: Any) -> Any:
        """Transform one image."""
        return image

    def transform_coords(self, coords: torch.Tensor, image_shape: tuple[int, int] | None, *rand_params: Any) -> Any:
        """Transform (2, N) pixel coordinates given as rows ``(y, x)``."""
        return coords

    def transform_bbox(self, bbox: torch.Tensor, image_shape: tuple[int, int] | None, *rand_params: Any) -> Any:
        """Transform a (4,) ``[x, y, w, h]`` box: the bounding box of its transformed corners."""
        if type(self).transform_coords is TransformBase.transform_coords:
            return bbox
        return _bbox_of_moved_corners(bbox, lambda corners: self.transform_coords(corners, image_shape, *rand_params))

    def transform_bboxes(self, bboxes: torch.Tensor, image_shape: tuple[int, int] | None, *rand_params: Any) -> Any:
        """Transform (N, 4) boxes row by row with :meth:`transform_bbox`."""
        if bboxes.numel() == 0:
            return bboxes
        return torch.stack([self.transform_bbox(b, image_shape, *rand_params) for b in bboxes])

    def transform_mask(self, mask: Any, *rand_params: Any) -> Any:
        """Transform one mask."""
        return mask


def _bbox_of_moved_corners(bbox: torch.Tensor, move: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Bounding box ``[x, y, w, h]`` of the four corners of ``bbox`` after ``move``.

    Args:
        bbox: (4,) box (any shape holding 4 values; the result keeps its shape and dtype).
        move: maps float64 (2, 4) coordinates given as rows ``(y, x)`` to moved coordinates in the same layout.
    """
    x, y, w, h = bbox.reshape(-1).tolist()
    corners = torch.tensor([[y, y, y + h, y + h], [x, x + w, x, x + w]], dtype=torch.float64)
    moved = move(corners).flip(0)  # rows (x, y)
    tl = moved.min(dim=1).values
    sz = moved.max(dim=1).values - tl
    return torch.cat((tl, sz)).to(bbox.dtype).reshape(bbox.shape)


def _require_size(image_shape: tuple[int, int] | None, name: str) -> tuple[int, int]:
    if image_shape is None:
        raise ValueError(f"{name}: transforming coordinates needs the image (or mask) in the same call")
    return image_shape


def _hwc_to_chw(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) or (H, W) array as a (C, H, W) tensor of the same dtype."""
    if image.ndim == 2:
        image = image[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(image.transpose((2, 0, 1))))


def _mask_to_tensor(mask: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(mask) if isinstance(mask, np.ndarray) else mask


class ToTensor(TransformBase):
    """(H, W, C) numpy images to (C, H, W) tensors; uint8 images become float in [0, 1]. Masks become tensors."""

    def transform_image(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        if torch.is_tensor(image):
            return image
        out = _hwc_to_chw(image)
        if out.dtype == torch.uint8:
            return out.float().div(255)
        return out

    def transform_mask(self, mask: np.ndarray | torch.Tensor) -> torch.Tensor:
        return _mask_to_tensor(mask)


class ToTensorAndJitter(TransformBase):
    """Like :class:`ToTensor`, with the brightness scaled by a random factor ``U(max(0, 1 - j), 1 + j)``.

    Args:
        brightness_jitter: ``j``.
        normalize: divide by 255 and clamp to [0, 1] (True) or clamp to [0, 255] (False).
    """

    def __init__(self, brightness_jitter: float = 0.0, normalize: bool = True) -> None:
        super().__init__()
        self.brightness_jitter = brightness_jitter
        self.normalize = normalize

    def __repr__(self) -> str:
        return f"{type(self).__name__}(brightness_jitter={self.brightness_jitter}, normalize={self.normalize})"

    def roll(self) -> float:
        return float(np.random.uniform(max(0.0, 1 - self.brightness_jitter), 1 + self.brightness_jitter))

    def transform_image(self, image: np.ndarray, brightness_factor: float) -> torch.Tensor:
        t = _hwc_to_chw(image).float()
        if self.normalize:
            return t.mul_(brightness_factor / 255.0).clamp_(0.0, 1.0)
        return t.mul_(brightness_factor).clamp_(0.0, 255.0)

    def transform_mask(self, mask: np.ndarray | torch.Tensor, brightness_factor: float) -> torch.Tensor:
        return _mask_to_tensor(mask)


class Normalize(TransformBase):
    """Per-channel ``(image - mean) / std`` of (C, H, W) tensors.

    Args:
        mean: C values.
        std: C values.
        inplace: modify the input tensor.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__()
        self.mean = list(mean)
        self.std = list(std)
        self.inplace = inplace

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        if self.inplace:
            return image.sub_(mean).div_(std)
        return (image - mean) / std


class _RandomlyApplied(TransformBase):
    """A transform applied with probability ``probability``: :meth:`roll` draws whether it applies this call."""

    def __init__(self, probability: float) -> None:
        super().__init__()
        self.probability = probability

    def __repr__(self) -> str:
        return f"{type(self).__name__}(probability={self.probability})"

    def roll(self) -> bool:
        return random.random() < self.probability


class ToGrayscale(_RandomlyApplied):
    """With probability ``probability``, replace an RGB image by its luma repeated on the three channels.

    Numpy images use OpenCV's RGB2GRAY (the original's choice); tensors use the same BT.601 weights.
    """

    _WEIGHTS = (0.299, 0.587, 0.114)

    def __init__(self, probability: float = 0.5) -> None:
        super().__init__(probability)

    def transform_image(self, image: np.ndarray | torch.Tensor, do_grayscale: bool) -> np.ndarray | torch.Tensor:
        if not do_grayscale:
            return image
        if torch.is_tensor(image):
            w = torch.tensor(self._WEIGHTS, dtype=torch.float32, device=image.device).view(-1, 1, 1)
            gray = (image.float() * w).sum(dim=-3, keepdim=True).to(image.dtype)
            return gray.expand_as(image).clone()
        gray = cv.cvtColor(image, cv.COLOR_RGB2GRAY)
        return np.stack([gray, gray, gray], axis=2)


class ToBGR(TransformBase):
    """Reverse the channel order (RGB to BGR) of (H, W, 3) arrays or (3, H, W) tensors."""

    def transform_image(self, image: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if torch.is_tensor(image):
            return image.flip(-3)
        return cv.cvtColor(image, cv.COLOR_RGB2BGR)


class RandomHorizontalFlip(_RandomlyApplied):
    """Mirror left-right with probability ``probability``.

    Pixel column ``j`` goes to ``W - 1 - j`` (``coords``), and a box ``[x, y, w, h]`` to ``[W - x - w, y, w, h]``
    (the box keeps covering the same pixels). The original maps boxes to ``W - 1 - x - w``, one pixel off.
    """

    def __init__(self, probability: float = 0.5) -> None:
        super().__init__(probability)

    def transform_image(self, image: np.ndarray | torch.Tensor, do_flip: bool) -> np.ndarray | torch.Tensor:
        if not do_flip:
            return image
        if torch.is_tensor(image):
            return image.flip(-1)
        return np.ascontiguousarray(image[:, ::-1])

    def transform_coords(self, coords: torch.Tensor, image_shape: tuple[int, int] | None, do_flip: bool) -> Any:
        if not do_flip:
            return coords
        _, w = _require_size(image_shape, "RandomHorizontalFlip")
        out = coords.clone()
        out[1, :] = (w - 1) - coords[1, :]
        return out

    def transform_bbox(self, bbox: torch.Tensor, image_shape: tuple[int, int] | None, do_flip: bool) -> Any:
        if not do_flip:
            return bbox
        _, w = _require_size(image_shape, "RandomHorizontalFlip")
        out = bbox.clone()
        out[..., 0] = w - bbox[..., 0] - bbox[..., 2]
        return out

    def transform_mask(self, mask: np.ndarray | torch.Tensor, do_flip: bool) -> np.ndarray | torch.Tensor:
        if not do_flip:
            return mask
        if torch.is_tensor(mask):
            return mask.flip(-1)
        return np.ascontiguousarray(mask[:, ::-1])


def _gauss_kernels(sigma: float | Sequence[float]) -> tuple[list[int], list[torch.Tensor]]:
    """Half sizes ``ceil(2 sigma)`` and normalised 1-D Gaussian kernels along y and x."""
    sy, sx = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    half = [math.ceil(2 * s) for s in (sy, sx)]
    kernels = []
    for r, s in zip(half, (sy, sx)):
        t = torch.arange(-r, r + 1, dtype=torch.float32)
        k = torch.exp(-(t**2) / (2 * s**2))
        kernels.append(k / k.sum())
    return half, kernels


def _blur(image: torch.Tensor, half: list[int], kernels: list[torch.Tensor]) -> torch.Tensor:
    """Separable Gaussian blur of a (C, H, W) tensor with zero padding (the original's border rule)."""
    if not torch.is_tensor(image):
        raise TypeError("Blur works on (C, H, W) tensors: apply ToTensor first")
    h, w = image.shape[-2:]
    x = image.reshape(-1, 1, h, w).float()
    ky = kernels[0].to(x.device).view(1, 1, -1, 1)
    kx = kernels[1].to(x.device).view(1, 1, 1, -1)
    x = F.conv2d(x, ky, padding=(half[0], 0))
    x = F.conv2d(x, kx, padding=(0, half[1]))
    return x.reshape(image.shape).to(image.dtype)


class Blur(TransformBase):
    """Gaussian blur of (C, H, W) tensors with standard deviation ``sigma`` (a number or ``(sy, sx)``)."""

    def __init__(self, sigma: float | Sequence[float]) -> None:
        super().__init__()
        self.sigma = sigma
        self._half, self._kernels = _gauss_kernels(sigma)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sigma={self.sigma})"

    def transform_image(self, image: torch.Tensor) -> torch.Tensor:
        return _blur(image, self._half, self._kernels)


class RandomBlur(_RandomlyApplied):
    """:class:`Blur` applied with probability ``probability``."""

    def __init__(self, sigma: float | Sequence[float], probability: float = 0.1) -> None:
        super().__init__(probability)
        self.sigma = sigma
        self._half, self._kernels = _gauss_kernels(sigma)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sigma={self.sigma}, probability={self.probability})"

    def transform_image(self, image: torch.Tensor, do_blur: bool) -> torch.Tensor:
        if not do_blur:
            return image
        return _blur(image, self._half, self._kernels)


class RandomAffine(TransformBase):
    """Random flip, rotation, shear, scale and aspect-ratio change about the image centre (numpy images).

    The transform (in continuous coordinates, where pixel ``j`` covers ``[j, j + 1)``) is
    ``scale @ rotation @ shear @ flip`` with, per call: flip with probability ``p_flip`` (``x -> W - x``),
    rotation by ``U(-max_rotation, max_rotation)`` degrees, shears ``U(-max_shear, max_shear)``, scale
    ``exp(U(-max_scale, max_scale))`` and aspect factor ``exp(U(-max_ar_factor, max_ar_factor))`` on the y scale;
    then a shift by ``pad_amount`` into an output of size ``(H + 2 pad, W + 2 pad)``. Images are warped with
    bilinear interpolation, masks with nearest neighbour, and boxes become the bounding box of their transformed
    corners. Unlike the original, OpenCV's half-pixel offset is accounted for, so a flip moves the image and its
    boxes consistently (the original's warped image is one pixel off from its boxes).

    Args:
        p_flip: probability of a horizontal flip.
        max_rotation: degrees.
        max_shear: shear factor bound.
        max_scale: log-scale bound.
        max_ar_factor: log aspect-ratio bound.
        border_mode: ``'constant'`` (zeros) or ``'replicate'``.
        pad_amount: pixels added on every side.
    """

    def __init__(
        self,
        p_flip: float = 0.0,
        max_rotation: float = 0.0,
        max_shear: float = 0.0,
        max_scale: float = 0.0,
        max_ar_factor: float = 0.0,
        border_mode: str = "constant",
        pad_amount: int = 0,
    ) -> None:
        super().__init__()
        if border_mode not in _BORDER_MODES:
            raise ValueError(f"RandomAffine: unknown border_mode {border_mode!r}; choose from {list(_BORDER_MODES)}")
        self.p_flip = p_flip
        self.max_rotation = max_rotation
        self.max_shear = max_shear
        self.max_scale = max_scale
        self.max_ar_factor = max_ar_factor
        self.border_mode = border_mode
        self.border_flag = _BORDER_MODES[border_mode]
        self.pad_amount = int(pad_amount)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(p_flip={self.p_flip}, max_rotation={self.max_rotation}, "
            f"max_shear={self.max_shear}, max_scale={self.max_scale}, max_ar_factor={self.max_ar_factor}, "
            f"border_mode={self.border_mode!r}, pad_amount={self.pad_amount})"
        )

    def roll(self) -> tuple:
        do_flip = random.random() < self.p_flip
        theta = random.uniform(-self.max_rotation, self.max_rotation)
        shear_x = random.uniform(-self.max_shear, self.max_shear)
        shear_y = random.uniform(-self.max_shear, self.max_shear)
        ar_factor = math.exp(random.uniform(-self.max_ar_factor, self.max_ar_factor))
        scale_factor = math.exp(random.uniform(-self.max_scale, self.max_scale))
        return do_flip, theta, (shear_x, shear_y), (scale_factor, scale_factor * ar_factor)

    def matrix(
        self,
        image_shape: tuple[int, int],
        do_flip: bool,
        theta: float,
        shear_values: tuple[float, float],
        scale_factors: tuple[float, float],
    ) -> np.ndarray:
        """The 2x3 affine map of continuous coordinates ``(x, y)`` for an image of size ``(H, W)``."""
        im_h, im_w = image_shape
        cx, cy = 0.5 * im_w, 0.5 * im_h
        flip = np.identity(3)
        if do_flip:
            flip[0, 0] = -1.0
            flip[0, 2] = im_w
        rot = np.vstack((cv.getRotationMatrix2D((cx, cy), theta, 1.0), [0.0, 0.0, 1.0]))
        shx, shy = shear_values
        shear = np.array([[1.0, shx, -shx * cy], [shy, 1.0, -shy * cx], [0.0, 0.0, 1.0]])
        sx, sy = scale_factors
        scale = np.array([[sx, 0.0, (1.0 - sx) * cx], [0.0, sy, (1.0 - sy) * cy], [0.0, 0.0, 1.0]])
        t = scale @ rot @ shear @ flip
        t[0, 2] += self.pad_amount
        t[1, 2] += self.pad_amount
        return t[:2, :]

    @staticmethod
    def _pixel_matrix(t: np.ndarray) -> np.ndarray:
        """The same map for pixel-centre coordinates (OpenCV's and ``coords``'): ``p -> T(p + 0.5) - 0.5``."""
        out = t.copy()
        out[:, 2] += 0.5 * (t[:, 0] + t[:, 1]) - 0.5
        return out

    def _warp(self, array: np.ndarray, t: np.ndarray, interpolation: int) -> np.ndarray:
        h, w = array.shape[:2]
        size = (w + 2 * self.pad_amount, h + 2 * self.pad_amount)
        is_bool = array.dtype == np.bool_
        src = array.astype(np.uint8) if is_bool else array  # OpenCV cannot warp boolean arrays
        out = cv.warpAffine(src, self._pixel_matrix(t), size, flags=interpolation, borderMode=self.border_flag)
        return out.astype(np.bool_) if is_bool else out

    def transform_image(self, image: np.ndarray, *rand_params: Any) -> np.ndarray:
        if torch.is_tensor(image):
            raise TypeError("RandomAffine works on numpy images: apply it before ToTensor")
        return self._warp(image, self.matrix(image.shape[:2], *rand_params), cv.INTER_LINEAR)

    def transform_coords(self, coords: torch.Tensor, image_shape: tuple[int, int] | None, *rand_params: Any) -> Any:
        t = self._pixel_matrix(self.matrix(_require_size(image_shape, "RandomAffine"), *rand_params))
        return self._apply(t, coords)

    def transform_bbox(self, bbox: torch.Tensor, image_shape: tuple[int, int] | None, *rand_params: Any) -> Any:
        t = self.matrix(_require_size(image_shape, "RandomAffine"), *rand_params)
        return _bbox_of_moved_corners(bbox, lambda corners: self._apply(t, corners))

    @staticmethod
    def _apply(t: np.ndarray, coords: torch.Tensor) -> torch.Tensor:
        """Apply a 2x3 map of ``(x, y)`` to (2, N) coordinates given as rows ``(y, x)``."""
        tt = torch.from_numpy(t).to(torch.float64)
        xy1 = torch.stack((coords[1].double(), coords[0].double(), torch.ones_like(coords[0], dtype=torch.float64)))
        moved = tt @ xy1
        return moved[[1, 0], :].to(coords.dtype if coords.is_floating_point() else torch.float32)

    def transform_mask(self, mask: np.ndarray | torch.Tensor, *rand_params: Any) -> np.ndarray | torch.Tensor:
        is_tensor = torch.is_tensor(mask)
        arr = mask.numpy() if is_tensor else mask
        out = self._warp(arr, self.matrix(arr.shape[:2], *rand_params), cv.INTER_NEAREST)
        return torch.from_numpy(out) if is_tensor else out
