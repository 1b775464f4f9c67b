"""Image <-> tensor conversion and target-centred patch sampling.

Conventions (shared with the trackers): positions are ``[y, x]`` (row, column) in pixels, sizes are ``[h, w]``,
images are ``(1, C, H, W)`` float tensors. A patch of size ``sz`` centred at integer position ``p`` covers rows
``p - (sz - 1) // 2`` to ``p + sz // 2`` (inclusive), i.e. the 2020 floor-division rule of the original library.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "numpy_to_torch",
    "crop_with_border",
    "torch_to_numpy",
    "sample_patch",
    "sample_patch_multiscale",
    "sample_patch_transformed",
]

_BORDER_MODES = ("replicate", "inside", "inside_major")


def numpy_to_torch(a: np.ndarray) -> torch.Tensor:
    """Convert an ``H x W x C`` (or ``H x W``) array into a ``(1, C, H, W)`` (or ``(1, 1, H, W)``) float tensor."""
    t = torch.from_numpy(np.ascontiguousarray(a)).float()
    if t.dim() == 2:
        return t.view(1, 1, *t.shape)
    return t.permute(2, 0, 1).unsqueeze(0)


def torch_to_numpy(t: torch.Tensor) -> np.ndarray:
    """Convert a ``(1, C, H, W)`` or ``(C, H, W)`` tensor into an ``H x W x C`` numpy array (same dtype)."""
    t = t.detach().cpu()
    if t.dim() == 4:
        t = t.squeeze(0)
    return t.permute(1, 2, 0).numpy()


def _as_vec2(v: torch.Tensor | Sequence[float] | float) -> torch.Tensor:
    """Return ``v`` as a 1-D tensor of two elements (a scalar is repeated)."""
    t = torch.as_tensor(v)
    if t.dim() == 0:
        t = t.repeat(2)
    return t.reshape(2)


def crop_with_border(
    im: torch.Tensor, tl: torch.Tensor | Sequence[int], br: torch.Tensor | Sequence[int], zero_outside: bool = False
) -> torch.Tensor:
    """Crop rows ``tl[0]:br[0]`` and columns ``tl[1]:br[1]`` of ``im (N, C, H, W)``; the bounds may leave the image.

    Out-of-image pixels replicate the nearest border pixel, or are zero when ``zero_outside`` (masks).
    Index clamping is used instead of ``F.pad`` so that regions lying entirely outside the image also work.
    """
    h, w = im.shape[-2:]
    rows = torch.arange(int(tl[0]), int(br[0]), device=im.device)
    cols = torch.arange(int(tl[1]), int(br[1]), device=im.device)
    patch = im[..., rows.clamp(0, h - 1), :][..., cols.clamp(0, w - 1)]
    if zero_outside:
        valid_r = ((rows >= 0) & (rows < h)).to(patch.dtype)
        valid_c = ((cols >= 0) & (cols < w)).to(patch.dtype)
        patch = patch * valid_r.view(-1, 1) * valid_c.view(1, -1)
    return patch


def sample_patch(
    im: torch.Tensor,
    pos: torch.Tensor | Sequence[float],
    sample_sz: torch.Tensor | Sequence[float],
    output_sz: torch.Tensor | Sequence[int] | None = None,
    mode: str = "replicate",
    max_scale_change: float | None = None,
    is_mask: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample a patch of size ``sample_sz`` centred at ``pos`` and resize it to ``output_sz``.

    The centre is truncated to an integer pixel (``pos.long()``) and the region is
    ``[pos - (sz - 1) // 2, pos + sz // 2 + 1)``. When the patch is much larger than ``output_sz`` the image is first
    subsampled with the integer stride ``df = max(int(min(sample_sz / output_sz) - 0.1), 1)`` (offset so that the
    centre pixel is kept) before the final bilinear resize, which is cheaper and acts as the original's anti-alias.

    Border modes:
        * ``'replicate'``: the region may leave the image; outside pixels replicate the border.
        * ``'inside'``: the region is shrunk (by at most ``max_scale_change``) so that it fits in the image in both
          dimensions, then shifted inside; if it is still too large it is centred on the image.
        * ``'inside_major'``: as ``'inside'`` but the shrink factor only makes the smaller relative dimension fit.

    Args:
        im: Image ``(1, C, H, W)`` (float), or a mask ``(1, 1, H, W)`` when ``is_mask``.
        pos: Centre ``[y, x]`` in pixels.
        sample_sz: Size ``[h, w]`` of the region to sample, in image pixels (may be fractional).
        output_sz: Output size ``[h, w]``; ``None`` keeps the sampled resolution.
        mode: Border mode, one of ``'replicate'``, ``'inside'``, ``'inside_major'``.
        max_scale_change: Upper bound on the shrink factor in the ``'inside*'`` modes (``None``: unbounded).
        is_mask: Masks are padded with zeros and resized with nearest-neighbour interpolation.

    Returns:
        ``(patch, patch_coord)``: ``patch`` is ``(1, C, oh, ow)``; ``patch_coord`` is a ``(1, 4)`` long tensor
        ``[y0, x0, y1, x1]`` of the sampled region in image coordinates, with ``y1, x1`` exclusive.
    """
    if mode not in _BORDER_MODES:
        raise ValueError(f"Unknown border mode {mode!r}; expected one of {_BORDER_MODES}.")
    pos = _as_vec2(pos)
    sample_sz = _as_vec2(sample_sz).float()
    posl = pos.long()

    if mode in ("inside", "inside_major"):
        im_sz = torch.tensor([im.shape[-2], im.shape[-1]], dtype=torch.float32)
        ratio = sample_sz / im_sz
        shrink = ratio.max() if mode == "inside" else ratio.min()
        shrink = shrink.clamp(min=1.0, max=max_scale_change)
        sample_sz = (sample_sz / shrink).long().float()

    df = 1
    if output_sz is not None:
        output_sz = _as_vec2(output_sz).long()
        resize_factor = torch.min(sample_sz / output_sz.float()).item()
        # The 0.1 tolerance avoids subsampling when the patch is only marginally larger than twice the output.
        df = max(int(resize_factor - 0.1), 1)

    im2 = im
    if df > 1:
        offset = posl % df
        posl = (posl - offset) // df
        im2 = im[..., int(offset[0]) :: df, int(offset[1]) :: df]

    szl = torch.clamp((sample_sz / df).round(), min=2).long()
    tl = posl - (szl - 1) // 2
    br = posl + szl // 2 + 1

    if mode in ("inside", "inside_major"):
        im2_sz = torch.tensor([im2.shape[-2], im2.shape[-1]], dtype=torch.long)
        shift = (-tl).clamp(min=0) - (br - im2_sz).clamp(min=0)
        tl, br = tl + shift, br + shift
        # A region still larger than the image (shrink limited by max_scale_change) is centred on it.
        outside = ((-tl).clamp(min=0) + (br - im2_sz).clamp(min=0)) // 2
        shift = (-tl - outside) * (outside > 0).long()
        tl, br = tl + shift, br + shift

    patch = crop_with_border(im2, tl, br, zero_outside=is_mask)
    patch_coord = df * torch.cat((tl, br)).view(1, 4)

    if output_sz is None or tuple(patch.shape[-2:]) == tuple(output_sz.tolist()):
        return patch.clone(), patch_coord

    interp = "nearest" if is_mask else "bilinear"
    patch = F.interpolate(patch, size=output_sz.tolist(), mode=interp)
    return patch, patch_coord


def sample_patch_multiscale(
    im: torch.Tensor,
    pos: torch.Tensor | Sequence[float],
    scales: torch.Tensor | Sequence[float] | float,
    image_sz: torch.Tensor | Sequence[int],
    mode: str = "replicate",
    max_scale_change: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample one patch per scale, each covering ``scale * image_sz`` pixels and resized to ``image_sz``.

    Args:
        im: Image ``(1, C, H, W)``.
        pos: Centre ``[y, x]``.
        scales: Scale factor(s), ``S`` values.
        image_sz: Output size ``[h, w]`` of every patch.
        mode: Border mode (see :func:`sample_patch`).
        max_scale_change: See :func:`sample_patch`.

    Returns:
        ``(patches (S, C, h, w), patch_coords (S, 4))``.
    """
    scales = torch.as_tensor(scales, dtype=torch.float32).reshape(-1)
    image_sz = _as_vec2(image_sz)
    results = [
        sample_patch(im, pos, s * image_sz, image_sz, mode=mode, max_scale_change=max_scale_change) for s in scales
    ]
    patches = torch.cat([p for p, _ in results])
    coords = torch.cat([c for _, c in results])
    return patches, coords


def sample_patch_transformed(
    im: torch.Tensor,
    pos: torch.Tensor | Sequence[float],
    scale: float | torch.Tensor,
    image_sz: torch.Tensor | Sequence[int],
    transforms: Sequence,
    is_mask: bool = False,
) -> torch.Tensor:
    """Sample a patch of ``scale * image_sz`` pixels resized to ``image_sz``, then apply each transform to it.

    ``image_sz`` is usually the augmentation expansion size, larger than the network input; the transforms' own
    ``output_sz`` crop brings each result back to the input size.

    Args:
        im: Image ``(1, C, H, W)`` or mask ``(1, 1, H, W)``.
        pos: Centre ``[y, x]``.
        scale: Scale factor of the sampled region relative to ``image_sz``.
        image_sz: Size ``[h, w]`` of the sampled patch before the transforms.
        transforms: Callables ``T(patch, is_mask=...) -> (1, C, h', w')`` (see ``pytracking.features.augmentation``).
        is_mask: Forwarded to :func:`sample_patch` and the transforms.

    Returns:
        The transformed patches concatenated, ``(len(transforms), C, h', w')``.
    """
    image_sz = _as_vec2(image_sz)
    patch, _ = sample_patch(im, pos, scale * image_sz, image_sz, is_mask=is_mask)
    return torch.cat([t(patch, is_mask=is_mask) for t in transforms])
