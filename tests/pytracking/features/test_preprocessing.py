"""Tests for pytracking.features.preprocessing (patch sampling with the 2020 floor-division rule)."""

import numpy as np
import pytest
import torch

from pytracking.features.augmentation import FlipHorizontal, Identity
from pytracking.features.preprocessing import (
    numpy_to_torch,
    sample_patch,
    sample_patch_multiscale,
    sample_patch_transformed,
    torch_to_numpy,
)


def ramp_image(h: int, w: int, channels: int = 3) -> torch.Tensor:
    """(1, C, h, w) float64 image with im[c, y, x] = 100000 * c + 1000 * y + x."""
    y = torch.arange(h, dtype=torch.float64).view(h, 1)
    x = torch.arange(w, dtype=torch.float64).view(1, w)
    base = 1000 * y + x
    return torch.stack([base + 100000 * c for c in range(channels)]).unsqueeze(0)


def clamped_crop(im: torch.Tensor, y0: int, x0: int, y1: int, x1: int) -> torch.Tensor:
    """Reference replicate-padded crop built with numpy index clipping."""
    h, w = im.shape[-2:]
    rows = np.clip(np.arange(y0, y1), 0, h - 1)
    cols = np.clip(np.arange(x0, x1), 0, w - 1)
    return im[..., rows, :][..., cols]


def test_numpy_torch_roundtrip():
    a = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    t = numpy_to_torch(a)
    assert t.shape == (1, 3, 2, 3) and t.dtype == torch.float32
    assert t[0, 2, 1, 0].item() == a[1, 0, 2]
    np.testing.assert_array_equal(torch_to_numpy(t), a.astype(np.float32))
    assert numpy_to_torch(np.zeros((4, 5))).shape == (1, 1, 4, 5)


@pytest.mark.parametrize(
    ("sz", "tl", "br"),
    [((5, 7), (8, 12), (13, 19)), ((4, 6), (9, 13), (13, 19)), ((1, 1), (10, 15), (12, 17))],
)
def test_sample_patch_exact_crop_floor_rule(sz, tl, br):
    # Sizes below 2 are raised to 2, so (1, 1) samples a 2x2 region.
    im = ramp_image(20, 30)
    out_sz = (br[0] - tl[0], br[1] - tl[1])
    for pos in ([10.0, 15.0], [10.7, 15.2]):
        patch, coord = sample_patch(im, torch.tensor(pos), torch.tensor(sz), torch.tensor(out_sz))
        assert coord.tolist() == [[tl[0], tl[1], br[0], br[1]]]
        torch.testing.assert_close(patch, im[..., tl[0] : br[0], tl[1] : br[1]], rtol=0, atol=0)


def test_sample_patch_no_output_size_keeps_resolution():
    im = ramp_image(20, 30)
    patch, coord = sample_patch(im, [10, 15], [4, 6])
    assert coord.tolist() == [[9, 13, 13, 19]]
    torch.testing.assert_close(patch, im[..., 9:13, 13:19], rtol=0, atol=0)


def test_sample_patch_replicate_padding_at_borders():
    im = ramp_image(20, 30)
    patch, coord = sample_patch(im, [0, 0], [5, 5], [5, 5])
    assert coord.tolist() == [[-2, -2, 3, 3]]
    torch.testing.assert_close(patch, clamped_crop(im, -2, -2, 3, 3), rtol=0, atol=0)
    assert patch[0, 0, 0, 0].item() == 0.0 and patch[0, 0, 2, 4].item() == 2.0
    patch, coord = sample_patch(im, [19, 29], [4, 4], [4, 4])
    assert coord.tolist() == [[18, 28, 22, 32]]
    torch.testing.assert_close(patch, clamped_crop(im, 18, 28, 22, 32), rtol=0, atol=0)
    assert patch[0, 0, 3, 3].item() == 19029.0


def test_sample_patch_region_fully_outside_replicates_corner():
    im = ramp_image(20, 30)
    patch, _ = sample_patch(im, [-10, 40], [3, 3], [3, 3])
    assert torch.all(patch[0, 0] == 29.0)


def test_sample_patch_mask_is_zero_padded():
    mask = torch.ones(1, 1, 20, 30)
    patch, _ = sample_patch(mask, [0, 0], [5, 5], [5, 5], is_mask=True)
    expected = torch.zeros(5, 5)
    expected[2:, 2:] = 1
    torch.testing.assert_close(patch[0, 0], expected, rtol=0, atol=0)


def test_sample_patch_inside_shifts_region_into_image():
    im = ramp_image(20, 30)
    patch, coord = sample_patch(im, [2, 3], [10, 10], [10, 10], mode="inside")
    assert coord.tolist() == [[0, 0, 10, 10]]
    torch.testing.assert_close(patch, im[..., 0:10, 0:10], rtol=0, atol=0)
    _, coord = sample_patch(im, [2, 3], [10, 10], [10, 10], mode="replicate")
    assert coord.tolist() == [[-2, -1, 8, 9]]


def test_sample_patch_inside_shrinks_too_large_region():
    im = ramp_image(20, 30)
    # Ratios (40/20, 30/30) = (2, 1): 'inside' shrinks by the max (2) -> 20 x 15, then shifts up by one row.
    patch, coord = sample_patch(im, [10, 15], [40, 30], mode="inside")
    assert coord.tolist() == [[0, 8, 20, 23]]
    torch.testing.assert_close(patch, im[..., 0:20, 8:23], rtol=0, atol=0)
    # 'inside_major' shrinks by the min (1): width fits exactly, the too-tall region is centred vertically.
    _, coord = sample_patch(im, [10, 15], [40, 30], mode="inside_major")
    assert coord.tolist() == [[-10, 0, 30, 30]]
    # Shrink limited to 1.5: 40 x 30 -> 26 x 20; still 6 rows too tall, centred (3 above, 3 below).
    patch, coord = sample_patch(im, [10, 15], [40, 30], mode="inside", max_scale_change=1.5)
    assert coord.tolist() == [[-3, 6, 23, 26]]
    assert patch.shape == (1, 3, 26, 20)


def test_sample_patch_downsampling_path():
    im = ramp_image(64, 64)
    # resize factor 3 -> stride 2 (int(3 - 0.1)); crop 15 x 15 in the subsampled image, then bilinear to 10 x 10.
    patch, coord = sample_patch(im, [32, 32], [30, 30], [10, 10])
    assert patch.shape == (1, 3, 10, 10)
    assert coord.tolist() == [[18, 18, 48, 48]]
    # Bilinear resampling of a linear ramp is exact: output pixel i sits at image row 18.5 + 3 i.
    r = 18.5 + 3 * torch.arange(10, dtype=torch.float64)
    expected = 1000 * r.view(-1, 1) + r.view(1, -1)
    torch.testing.assert_close(patch[0, 0], expected, rtol=0, atol=1e-6)
    # Resize factor 4 gives stride 3 (the 0.1 tolerance); the stride offset keeps the centre pixel.
    _, coord = sample_patch(im, [32, 32], [32, 32], [8, 8])
    assert coord.tolist() == [[15, 15, 48, 48]]
    # Resize factor 2.05 is below the tolerance: no subsampling, the full 41-pixel region is cropped.
    patch, coord = sample_patch(im, [32, 32], [41, 41], [20, 20])
    assert coord.tolist() == [[12, 12, 53, 53]]
    assert patch.shape == (1, 3, 20, 20)


def test_sample_patch_rejects_unknown_mode():
    with pytest.raises(ValueError, match="border mode"):
        sample_patch(ramp_image(8, 8), [4, 4], [4, 4], mode="reflect")


def test_sample_patch_multiscale_shapes_and_coords():
    im = ramp_image(64, 64)
    patches, coords = sample_patch_multiscale(im, torch.tensor([32.0, 32.0]), [1.0, 2.0, 0.5], torch.tensor([16, 16]))
    assert patches.shape == (3, 3, 16, 16)
    assert coords.shape == (3, 4)
    assert coords[0].tolist() == [25, 25, 41, 41]
    assert coords[2].tolist() == [29, 29, 37, 37]
    torch.testing.assert_close(patches[0:1], im[..., 25:41, 25:41], rtol=0, atol=0)
    single, coord = sample_patch_multiscale(im, [32.0, 32.0], 1.0, [16, 16])
    assert single.shape == (1, 3, 16, 16) and coord.tolist() == [[25, 25, 41, 41]]


def test_sample_patch_transformed_applies_each_transform():
    im = ramp_image(64, 64)
    out = sample_patch_transformed(im, [32, 32], 1.0, [16, 16], [Identity(), FlipHorizontal()])
    assert out.shape == (2, 3, 16, 16)
    torch.testing.assert_close(out[0:1], im[..., 25:41, 25:41], rtol=0, atol=0)
    torch.testing.assert_close(out[1], out[0].flip(-1), rtol=0, atol=0)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., :32, :] = 1
    out = sample_patch_transformed(mask, [32, 32], 1.0, [16, 16], [Identity()], is_mask=True)
    assert out.shape == (1, 1, 16, 16) and out[0, 0, :, 0].tolist() == [1.0] * 7 + [0.0] * 9
