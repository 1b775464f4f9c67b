"""Tests for pytracking.features.augmentation (test-time augmentations with output crop and shift)."""

import math

import numpy as np
import pytest
import torch

from pytracking.features import augmentation
from pytracking.features.augmentation import (
    Affine,
    Blur,
    FlipHorizontal,
    FlipVertical,
    Identity,
    RandomAffine,
    Rotate,
    Scale,
    Translation,
)


def ramp_image(h: int, w: int, channels: int = 3) -> torch.Tensor:
    """(1, C, h, w) float64 image with im[c, y, x] = 100000 * c + 1000 * y + x."""
    y = torch.arange(h, dtype=torch.float64).view(h, 1)
    x = torch.arange(w, dtype=torch.float64).view(1, w)
    return torch.stack([1000 * y + x + 100000 * c for c in range(channels)]).unsqueeze(0)


def shifted_replicate(im: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Reference: out[y, x] = im[clip(y - dy), clip(x - dx)] (content moved by (dy, dx), border replicated)."""
    h, w = im.shape[-2:]
    rows = np.clip(np.arange(h) - dy, 0, h - 1)
    cols = np.clip(np.arange(w) - dx, 0, w - 1)
    return im[..., rows, :][..., cols]


def test_identity_and_output_crop():
    im = ramp_image(10, 12)
    torch.testing.assert_close(Identity()(im), im, rtol=0, atol=0)
    torch.testing.assert_close(Identity(output_sz=(6, 8))(im), im[..., 2:8, 2:10], rtol=0, atol=0)
    # Odd surplus: 9 -> 4 removes 3 rows on top and 2 at the bottom.
    odd = ramp_image(9, 9)
    torch.testing.assert_close(Identity(output_sz=4)(odd), odd[..., 3:7, 3:7], rtol=0, atol=0)


def test_output_crop_pads_by_replication_and_shift_moves_content():
    im = ramp_image(4, 4)
    out = Identity(output_sz=6)(im)
    assert out.shape == (1, 3, 6, 6)
    torch.testing.assert_close(out[..., 1:5, 1:5], im, rtol=0, atol=0)
    assert out[0, 0, 0, 0].item() == 0.0 and out[0, 0, 5, 5].item() == 3003.0
    shifted = Identity(output_sz=(6, 8), shift=(1, -2))(ramp_image(10, 12))
    torch.testing.assert_close(shifted, ramp_image(10, 12)[..., 1:7, 4:12], rtol=0, atol=0)


def test_flips():
    im = ramp_image(5, 7)
    torch.testing.assert_close(FlipHorizontal()(im)[0, 0, 0], torch.arange(6, -1, -1, dtype=torch.float64))
    torch.testing.assert_close(FlipVertical()(im)[0, 0, :, 0], 1000 * torch.arange(4, -1, -1, dtype=torch.float64))
    for flip in (FlipHorizontal(), FlipVertical()):
        torch.testing.assert_close(flip(flip(im)), im, rtol=0, atol=0)


@pytest.mark.parametrize("translation", [(2, -3), (0, 1), (-1, 0)])
def test_translation_is_roll_with_replicate_padding(translation):
    im = ramp_image(8, 9)
    out = Translation(translation)(im)
    torch.testing.assert_close(out, shifted_replicate(im, *translation), rtol=0, atol=0)
    # Away from the padded band it equals a circular roll.
    dy, dx = translation
    rolled = torch.roll(im, shifts=(dy, dx), dims=(-2, -1))
    inner = (slice(None), slice(None), slice(max(dy, 0), 8 + min(dy, 0)), slice(max(dx, 0), 9 + min(dx, 0)))
    torch.testing.assert_close(out[inner], rolled[inner], rtol=0, atol=0)


def test_translation_adds_to_shift_and_masks_pad_with_zeros():
    im = ramp_image(10, 10)
    a = Translation((1, 2), output_sz=6, shift=(1, 0))(im)
    torch.testing.assert_close(a, Identity(output_sz=6, shift=(2, 2))(im), rtol=0, atol=0)
    mask = torch.ones(6, 6)
    out = Translation((2, 0))(mask, is_mask=True)
    assert out.shape == (6, 6)
    assert out[:2].sum().item() == 0.0 and out[2:].min().item() == 1.0


def test_rotate_zero_is_identity_and_90_is_rot90():
    im = ramp_image(7, 7).float()
    torch.testing.assert_close(Rotate(0)(im), im, rtol=0, atol=0)
    # Positive angles rotate counter-clockwise (as np.rot90 / torch.rot90 with k=1).
    torch.testing.assert_close(Rotate(90)(im), torch.rot90(im, 1, dims=(-2, -1)), rtol=0, atol=1e-2)


def test_rotate_mask_uses_nearest_neighbour():
    mask = torch.zeros(1, 1, 9, 9)
    mask[..., 2:5, 1:7] = 1
    out = Rotate(30)(mask, is_mask=True)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert out[0, 0, 4, 4].item() == 1.0


def test_affine_translation_matches_translation():
    im = ramp_image(8, 9)
    mat = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    torch.testing.assert_close(Affine(mat)(im), Translation((1, 2))(im), rtol=0, atol=1e-6)
    torch.testing.assert_close(Affine(np.eye(2, 3), output_sz=4)(im), im[..., 2:6, 3:7], rtol=0, atol=0)


def test_scale_sizes_and_identity():
    im = ramp_image(10, 10)
    torch.testing.assert_close(Scale(1.0)(im), im, rtol=0, atol=1e-9)
    # round(10 / 3) = 3 is bumped to 4 to keep the parity of 10.
    assert Scale(3.0)(im).shape == (1, 3, 4, 4)
    assert Scale(0.5)(im).shape == (1, 3, 20, 20)
    assert Scale(0.5, output_sz=10)(im).shape == (1, 3, 10, 10)
    # Zoom by 2 of a linear ramp stays linear with half the slope, centred on the same point (4.5, 4.5).
    out = Scale(0.5, output_sz=10)(im)[0, 0]
    r = 4.5 + (torch.arange(10, dtype=torch.float64) - 4.5) / 2
    torch.testing.assert_close(out, 1000 * r.view(-1, 1) + r.view(1, -1), rtol=0, atol=1e-6)
    mask = (torch.arange(10).view(1, 1, 1, 10).expand(1, 1, 10, 10) >= 5).float()
    assert set(Scale(0.7)(mask, is_mask=True).unique().tolist()) == {0.0, 1.0}


def test_blur_constant_image_and_kernel_mass():
    const = torch.full((1, 3, 12, 12), 7.0, dtype=torch.float64)
    zero_pad = Blur((1.0, 1.5))(const)
    # Zero padding (original behaviour): the interior, ceil(2 sigma) = (2, 3) pixels from the border, is unchanged.
    torch.testing.assert_close(zero_pad[..., 2:-2, 3:-3], const[..., 2:-2, 3:-3], rtol=0, atol=1e-12)
    assert zero_pad[0, 0, 0, 0].item() < 7.0
    replicate = Blur((1.0, 1.5), pad_mode="replicate")(const)
    torch.testing.assert_close(replicate, const, rtol=0, atol=1e-12)
    assert replicate.mean().item() == pytest.approx(7.0)

    delta = torch.zeros(1, 1, 15, 15, dtype=torch.float64)
    delta[..., 7, 7] = 1.0
    out = Blur(1.0)(delta)
    assert out.sum().item() == pytest.approx(1.0)
    g = torch.exp(-(torch.arange(-2, 3, dtype=torch.float64) ** 2) / 2)
    g = g / g.sum()
    torch.testing.assert_close(out[0, 0, 5:10, 5:10], g.view(-1, 1) * g.view(1, -1), rtol=0, atol=1e-12)
    mask = (delta > 0).float()
    torch.testing.assert_close(Blur(2.0)(mask, is_mask=True), mask, rtol=0, atol=0)
    with pytest.raises(ValueError, match="pad_mode"):
        Blur(1.0, pad_mode="reflect")


def test_random_affine_neutral_parameters_are_identity():
    im = ramp_image(8, 10).float()
    torch.testing.assert_close(RandomAffine()(im), im, rtol=0, atol=0)
    padded = RandomAffine(pad_amount=2)(im)
    assert padded.shape == (1, 3, 12, 14)
    torch.testing.assert_close(padded[..., 2:10, 2:12], im, rtol=0, atol=0)
    assert padded[..., :2, :].abs().sum().item() == 0.0
    # The flip maps x -> W - x (pixel corners), one column off the pixel-centre mirror.
    flipped = RandomAffine(p_flip=1.0)(im)
    torch.testing.assert_close(flipped[..., 1:], im.flip(-1)[..., :-1], rtol=0, atol=0)
    assert flipped[..., 0].abs().sum().item() == 0.0


def test_random_affine_randomness_is_reproducible():
    kwargs = dict(p_flip=0.5, max_rotation=20.0, max_shear=0.1, max_scale=0.2, max_ar_factor=0.1)
    a = RandomAffine(**kwargs, generator=torch.Generator().manual_seed(3))
    b = RandomAffine(**kwargs, generator=torch.Generator().manual_seed(3))
    assert a.roll_values == b.roll_values
    torch.manual_seed(5)
    c = RandomAffine(**kwargs)
    torch.manual_seed(5)
    d = RandomAffine(**kwargs)
    assert c.roll_values == d.roll_values
    do_flip, theta, (shx, shy), (sx, sy) = c.roll_values
    assert abs(theta) <= 20.0 and abs(shx) <= 0.1 and abs(shy) <= 0.1
    assert math.exp(-0.2) <= sx <= math.exp(0.2) and math.exp(-0.3) <= sy <= math.exp(0.3)
    # The same draw is applied to an image and its mask; a new roll changes it.
    im = ramp_image(9, 9).float()
    torch.testing.assert_close(c(im), c(im), rtol=0, atol=0)
    mask = torch.ones(9, 9)
    assert set(c(mask, is_mask=True).unique().tolist()) <= {0.0, 1.0}
    before = c.roll_values
    assert c.roll() != before
    with pytest.raises(ValueError, match="border_mode"):
        RandomAffine(border_mode="wrap")


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="Expected"):
        Identity()(torch.zeros(3, 4, 4))


def test_init_transforms_order_and_shifts():
    torch.manual_seed(0)
    sz = torch.tensor([288.0, 288.0])
    aug = {"fliplr": True, "rotate": [10, -10], "blur": [(3, 1)], "relativeshift": [(0.6, -0.6)], "shift": [(4, 2)]}
    transforms = augmentation.init_transforms(aug, sz, [288, 288], 1 / 3)
    kinds = [type(t).__name__ for t in transforms]
    assert kinds == ["Identity", "Translation", "Translation", "FlipHorizontal", "Blur", "Rotate", "Rotate"]
    assert list(transforms[1].shift) == [4, 2]
    assert list(transforms[2].shift) == [86, -86]  # 0.6 * 144, truncated
    assert all(abs(v) <= 48 for t in transforms[3:] for v in t.shift)  # random shift within (1/3) / 2 of 288
    assert [type(t).__name__ for t in augmentation.init_transforms({}, sz, None, 0)] == ["Identity"]
    torch.testing.assert_close(augmentation.expanded_sample_size(sz, 2), torch.tensor([576.0, 576.0]))
    odd = augmentation.expanded_sample_size(torch.tensor([225.0, 224.0]), 1.5)
    assert odd.tolist() == [337.0, 336.0]  # same parity as the sample size
    torch.testing.assert_close(augmentation.expanded_sample_size(sz, None), sz)
