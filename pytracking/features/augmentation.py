"""Test-time augmentations applied to image patches (and segmentation masks) as tensors.

Every transform maps a patch ``(N, C, H, W)`` (or a 2-D ``H x W`` mask tensor, returned as 2-D) to a transformed
patch, then :meth:`Transform.crop_to_output` centre-crops or pads it to ``output_sz`` with an integer ``shift``.
Trackers sample a patch larger than the network input (the augmentation expansion size) so that the crop back to
``output_sz`` rarely needs padding. Images are padded by border replication, masks with zeros.
"""

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pytracking.features.preprocessing import crop_with_border

__all__ = [
    "Transform",
    "Identity",
    "FlipHorizontal",
    "FlipVertical",
    "Translation",
    "Scale",
    "Affine",
    "Rotate",
    "Blur",
    "RandomAffine",
    "expanded_sample_size",
    "init_transforms",
]

SizeLike = int | Sequence[int] | None


def _pair(v: SizeLike, default: tuple[int, int] | None) -> tuple[int, int] | None:
    if v is None:
        return default
    if isinstance(v, int | float):
        return int(v), int(v)
    if isinstance(v, torch.Tensor):
        v = v.tolist()
    return int(v[0]), int(v[1])


def _warp_affine(
    image: torch.Tensor, matrix: np.ndarray, out_hw: tuple[int, int], is_mask: bool, border: int
) -> torch.Tensor:
    """Warp every plane of ``image (N, C, H, W)`` with the forward 2x3 ``matrix`` (x, y pixel coordinates)."""
    flags = cv2.INTER_NEAREST if is_mask else cv2.INTER_LINEAR
    n, c, h, w = image.shape
    # cv2 handles at most 4 channels per call and needs float32/float64, so warp each plane on its own.
    planes = image.detach().cpu().reshape(n * c, h, w)
    work_dtype = torch.float64 if image.dtype == torch.float64 else torch.float32
    dsize = (out_hw[1], out_hw[0])
    out = [
        torch.from_numpy(
            cv2.warpAffine(
                np.ascontiguousarray(p.to(work_dtype).numpy()),
                np.asarray(matrix, dtype=np.float64),
                dsize,
                flags=flags,
                borderMode=border,
                borderValue=0,
            )
        )
        for p in planes
    ]
    return torch.stack(out).reshape(n, c, *out_hw).to(dtype=image.dtype, device=image.device)


class Transform:
    """Base class: transform a patch, then crop/pad it to ``output_sz`` with a ``shift``.

    Args:
        output_sz: Output size ``[h, w]`` (int: square); ``None`` keeps the transformed size.
        shift: Integer shift ``[dy, dx]`` of the content inside the output crop (``None``: no shift).
    """

    def __init__(self, output_sz: SizeLike = None, shift: Sequence[int] | None = None):
        self.output_sz = _pair(output_sz, None)
        self.shift = _pair(shift, (0, 0))

    def __call__(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        """Apply the transform.

        Args:
            image: Patch ``(N, C, H, W)`` or 2-D mask ``(H, W)``.
            is_mask: Use nearest-neighbour resampling and zero padding (segmentation masks).

        Returns:
            The transformed patch, ``(N, C, oh, ow)`` (``(oh, ow)`` for a 2-D input).
        """
        if image.dim() == 2:
            return self(image[None, None], is_mask=is_mask)[0, 0]
        if image.dim() != 4:
            raise ValueError(f"Expected a (N, C, H, W) patch or a (H, W) mask, got shape {tuple(image.shape)}.")
        return self.crop_to_output(self.transform(image, is_mask), is_mask=is_mask)

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        """Transform ``image (N, C, H, W)`` before the output crop (overridden by subclasses)."""
        raise NotImplementedError

    def crop_to_output(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        """Centre-crop/pad ``image (N, C, H, W)`` to ``output_sz`` and move the content by ``shift``.

        The output window's first row is image row ``-floor((oh - H) / 2) - shift[0]`` (same for columns): the
        window is centred (an odd surplus goes to the bottom/right) and a positive shift moves the content
        down/right. Pixels outside the image replicate the border (images) or are
        zero (masks).
        """
        h, w = image.shape[-2:]
        oh, ow = self.output_sz if self.output_sz is not None else (h, w)
        top = math.floor((oh - h) / 2) + self.shift[0]
        left = math.floor((ow - w) / 2) + self.shift[1]
        return crop_with_border(image, (-top, -left), (oh - top, ow - left), zero_outside=is_mask)


class Identity(Transform):
    """No transform (only the output crop)."""

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        return image


class FlipHorizontal(Transform):
    """Mirror left-right."""

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        return image.flip(-1)


class FlipVertical(Transform):
    """Mirror top-bottom."""

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        return image.flip(-2)


class Translation(Transform):
    """Integer translation ``[dy, dx]`` (added to ``shift``) realised by the output crop.

    Args:
        translation: Integer translation ``[dy, dx]`` in pixels; positive moves the content down/right.
        output_sz: See :class:`Transform`.
        shift: See :class:`Transform`.
    """

    def __init__(self, translation: Sequence[int], output_sz: SizeLike = None, shift: Sequence[int] | None = None):
        super().__init__(output_sz, shift)
        self.shift = (self.shift[0] + int(translation[0]), self.shift[1] + int(translation[1]))

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        return image


class Scale(Transform):
    """Resize by ``1 / scale_factor`` (``scale_factor > 1`` zooms out) about the centre.

    The new size is ``round(size / scale_factor)``, bumped by one where needed to keep the parity of the old size
    so that the centre stays on the same pixel grid position after the symmetric crop.

    Args:
        scale_factor: Scale factor of the sampled region.
        output_sz: See :class:`Transform`.
        shift: See :class:`Transform`.
    """

    def __init__(self, scale_factor: float, output_sz: SizeLike = None, shift: Sequence[int] | None = None):
        super().__init__(output_sz, shift)
        self.scale_factor = scale_factor

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        h, w = image.shape[-2:]
        h_new = round(h / self.scale_factor)
        h_new += (h_new - h) % 2
        w_new = round(w / self.scale_factor)
        w_new += (w_new - w) % 2
        return F.interpolate(image, size=[h_new, w_new], mode="nearest" if is_mask else "bilinear")


class Affine(Transform):
    """Affine warp with a fixed forward 2x3 matrix in ``(x, y)`` pixel coordinates (cv2 convention).

    Args:
        transform_matrix: ``2 x 3`` matrix mapping input to output pixel coordinates.
        output_sz: See :class:`Transform`.
        shift: See :class:`Transform`.
    """

    def __init__(self, transform_matrix, output_sz: SizeLike = None, shift: Sequence[int] | None = None):
        super().__init__(output_sz, shift)
        self.transform_matrix = np.asarray(transform_matrix, dtype=np.float64).reshape(2, 3)

    def matrix(self, image_hw: tuple[int, int]) -> np.ndarray:
        """The 2x3 matrix used for an image of size ``image_hw``."""
        return self.transform_matrix

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        hw = tuple(image.shape[-2:])
        border = cv2.BORDER_CONSTANT if is_mask else cv2.BORDER_REPLICATE
        return _warp_affine(image, self.matrix(hw), hw, is_mask, border)


class Rotate(Affine):
    """Rotation by ``angle`` degrees about the patch centre ``((W-1)/2, (H-1)/2)``; positive is counter-clockwise.

    Args:
        angle: Rotation angle in degrees.
        output_sz: See :class:`Transform`.
        shift: See :class:`Transform`.
    """

    def __init__(self, angle: float, output_sz: SizeLike = None, shift: Sequence[int] | None = None):
        super().__init__(np.eye(2, 3), output_sz, shift)
        self.angle = math.radians(angle)

    def matrix(self, image_hw: tuple[int, int]) -> np.ndarray:
        c, s = math.cos(self.angle), math.sin(self.angle)
        rot = np.array([[c, s], [-s, c]])
        centre = np.array([(image_hw[1] - 1) / 2, (image_hw[0] - 1) / 2])
        return np.concatenate([rot, (centre - rot @ centre)[:, None]], axis=1)


class Blur(Transform):
    """Separable Gaussian blur with standard deviations ``sigma = (sy, sx)`` (a number: same for both).

    The kernel half-width is ``ceil(2 * sigma)`` and the kernel is normalised to sum one. Borders are zero-padded
    by default (as the original, which darkens a band of ``ceil(2 * sigma)`` pixels at the patch border);
    ``pad_mode='replicate'`` keeps constant images constant. Masks are not blurred, only cropped.

    Args:
        sigma: Standard deviation(s) ``(sy, sx)`` in pixels; a value ``<= 0`` leaves that axis unblurred.
        output_sz: See :class:`Transform`.
        shift: See :class:`Transform`.
        pad_mode: ``'zeros'`` or ``'replicate'``.
    """

    def __init__(
        self,
        sigma: float | Sequence[float],
        output_sz: SizeLike = None,
        shift: Sequence[int] | None = None,
        pad_mode: str = "zeros",
    ):
        super().__init__(output_sz, shift)
        if pad_mode not in ("zeros", "replicate"):
            raise ValueError(f"Unknown pad_mode {pad_mode!r}; expected 'zeros' or 'replicate'.")
        self.pad_mode = pad_mode
        self.sigma = (float(sigma), float(sigma)) if isinstance(sigma, int | float) else tuple(map(float, sigma))
        self.filter_size = [math.ceil(2 * s) if s > 0 else 0 for s in self.sigma]
        self.filter = []
        for half, s in zip(self.filter_size, self.sigma, strict=True):
            x = torch.arange(-half, half + 1, dtype=torch.float64)
            g = torch.exp(-(x**2) / (2 * s**2)) if s > 0 else torch.ones(1, dtype=torch.float64)
            self.filter.append(g / g.sum())

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        if is_mask:
            return image
        n, c, h, w = image.shape
        x = image.reshape(n * c, 1, h, w)
        py, px = self.filter_size
        ky = self.filter[0].to(image.dtype).view(1, 1, -1, 1)
        kx = self.filter[1].to(image.dtype).view(1, 1, 1, -1)
        if self.pad_mode == "replicate":
            x = F.pad(x, (px, px, py, py), mode="replicate")
            x = F.conv2d(F.conv2d(x, ky), kx)
        else:
            x = F.conv2d(F.conv2d(x, ky, padding=(py, 0)), kx, padding=(0, px))
        return x.reshape(n, c, h, w)


class RandomAffine(Transform):
    """Random flip, rotation, shear, scale and aspect-ratio change, drawn once at construction.

    The parameters are drawn in :meth:`roll` (called by the constructor) from ``generator`` if given, else from the
    global torch RNG (seed it with ``torch.manual_seed`` for reproducibility); the same draw is then applied to
    every call, so an image and its mask receive the same warp. Call :meth:`roll` again for a new draw.
    The warp is ``scale @ rotation @ shear @ flip`` about the image centre ``(W/2, H/2)``, followed by an offset
    of ``pad_amount`` pixels; the warped image is ``(H + 2 * pad_amount, W + 2 * pad_amount)`` before the crop.

    Args:
        p_flip: Probability of a horizontal flip.
        max_rotation: Maximal rotation in degrees (uniform in ``[-max, max]``).
        max_shear: Maximal shear factor per axis (uniform).
        max_scale: Maximal log scale (the scale is ``exp(uniform(-max, max))``).
        max_ar_factor: Maximal log aspect-ratio change applied to the y scale.
        border_mode: ``'constant'`` (zeros) or ``'replicate'``.
        pad_amount: Padding added on each side by the warp.
        output_sz: See :class:`Transform`.
        shift: See :class:`Transform`.
        generator: Optional ``torch.Generator`` for the draws.
    """

    _BORDERS = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}

    def __init__(
        self,
        p_flip: float = 0.0,
        max_rotation: float = 0.0,
        max_shear: float = 0.0,
        max_scale: float = 0.0,
        max_ar_factor: float = 0.0,
        border_mode: str = "constant",
        pad_amount: int = 0,
        output_sz: SizeLike = None,
        shift: Sequence[int] | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__(output_sz, shift)
        if border_mode not in self._BORDERS:
            raise ValueError(f"Unknown border_mode {border_mode!r}; expected one of {sorted(self._BORDERS)}.")
        self.p_flip = p_flip
        self.max_rotation = max_rotation
        self.max_shear = max_shear
        self.max_scale = max_scale
        self.max_ar_factor = max_ar_factor
        self.border_flag = self._BORDERS[border_mode]
        self.pad_amount = int(pad_amount)
        self.generator = generator
        self.roll_values = self.roll()

    def _uniform(self, bound: float) -> float:
        u = torch.rand(1, generator=self.generator, dtype=torch.float64).item()
        return (2.0 * u - 1.0) * bound

    def roll(self) -> tuple[bool, float, tuple[float, float], tuple[float, float]]:
        """Draw new parameters ``(do_flip, theta_deg, (shear_x, shear_y), (scale_x, scale_y))`` and store them."""
        do_flip = torch.rand(1, generator=self.generator, dtype=torch.float64).item() < self.p_flip
        theta = self._uniform(self.max_rotation)
        shear = (self._uniform(self.max_shear), self._uniform(self.max_shear))
        ar_factor = math.exp(self._uniform(self.max_ar_factor))
        scale = math.exp(self._uniform(self.max_scale))
        self.roll_values = (do_flip, theta, shear, (scale, scale * ar_factor))
        return self.roll_values

    def matrix(self, image_hw: tuple[int, int]) -> np.ndarray:
        """The 2x3 forward warp matrix for an image of size ``image_hw`` and the current draw."""
        h, w = image_hw
        do_flip, theta, (shx, shy), (sx, sy) = self.roll_values
        flip = np.eye(3)
        if do_flip:
            flip[0, 0], flip[0, 2] = -1.0, w
        rot = np.vstack([cv2.getRotationMatrix2D((w * 0.5, h * 0.5), theta, 1.0), [0.0, 0.0, 1.0]])
        shear = np.array([[1.0, shx, -shx * 0.5 * w], [shy, 1.0, -shy * 0.5 * h], [0.0, 0.0, 1.0]])
        scale = np.array([[sx, 0.0, (1.0 - sx) * 0.5 * w], [0.0, sy, (1.0 - sy) * 0.5 * h], [0.0, 0.0, 1.0]])
        mat = scale @ rot @ shear @ flip
        mat[:2, 2] += self.pad_amount
        return mat[:2]

    def transform(self, image: torch.Tensor, is_mask: bool = False) -> torch.Tensor:
        h, w = image.shape[-2:]
        out_hw = (h + 2 * self.pad_amount, w + 2 * self.pad_amount)
        return _warp_affine(image, self.matrix((h, w)), out_hw, is_mask, self.border_flag)


def expanded_sample_size(img_sample_sz: torch.Tensor, expansion_factor: float | None) -> torch.Tensor:
    """Size ``[h, w]`` of the first-frame crop that augmentations are applied to before the centre crop back to
    ``img_sample_sz``: ``factor`` times larger, with the same parity so that the centre crop is symmetric."""
    if expansion_factor is None:
        return img_sample_sz.clone()
    expansion_sz = (img_sample_sz * expansion_factor).long().float()
    return expansion_sz + (expansion_sz - img_sample_sz) % 2


def init_transforms(
    augmentations: dict,
    img_sample_sz: torch.Tensor,
    output_sz: Sequence[int] | None,
    random_shift_factor: float | None,
) -> list[Transform]:
    """The first-frame augmentations of the DCF/DiMP trackers, in the original's order.

    Identity first, then ``shift`` (pixels), ``relativeshift`` (fractions of half the sample size), ``fliplr``,
    ``blur`` (sigmas), ``scale`` and ``rotate`` (degrees); every non-translation transform also gets a random
    shift of up to ``random_shift_factor / 2`` of the sample size (torch's global RNG). ``dropout`` is not a
    transform: trackers add its copies to the features.

    Args:
        augmentations: the ``params.augmentation`` dict.
        img_sample_sz: (2,) sample size ``[h, w]``.
        output_sz: size each transformed crop is cut to (None: keep the input size).
        random_shift_factor: see above; 0 or None for no random shifts.
    """

    def rand_shift() -> list[int] | None:
        if not random_shift_factor:
            return None
        return ((torch.rand(2) - 0.5) * img_sample_sz * random_shift_factor).long().tolist()

    transforms: list[Transform] = [Identity(output_sz)]
    for shift in augmentations.get("shift", []):
        transforms.append(Translation(shift, output_sz))
    for rel in augmentations.get("relativeshift", []):
        shift = (torch.tensor(rel, dtype=torch.float32) * img_sample_sz / 2).long().tolist()
        transforms.append(Translation(shift, output_sz))
    if augmentations.get("fliplr", False):
        transforms.append(FlipHorizontal(output_sz, rand_shift()))
    for sigma in augmentations.get("blur", []):
        transforms.append(Blur(sigma, output_sz, rand_shift()))
    for scale in augmentations.get("scale", []):
        transforms.append(Scale(scale, output_sz, rand_shift()))
    for angle in augmentations.get("rotate", []):
        transforms.append(Rotate(angle, output_sz, rand_shift()))
    return transforms
