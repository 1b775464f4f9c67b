"""Joint transforms of images, boxes, coordinates and masks (ltr.data.transforms)."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest
import torch

from ltr.data import transforms as tfm
from pytracking.utils.box_ops import mask_to_xywh


def _scene(h: int = 48, w: int = 64, box=(10, 8, 20, 12), seed: int = 0):
    """Random image with a white target rectangle, its box and mask."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 200, (h, w, 3), dtype=np.uint8)
    x, y, bw, bh = box
    img[y : y + bh, x : x + bw] = 255
    mask = np.zeros((h, w), np.float32)
    mask[y : y + bh, x : x + bw] = 1
    return img, torch.tensor(box, dtype=torch.float32), mask


# ---------------------------------------------------------------------------------------------------------------
# Conversion and photometric transforms


def test_to_tensor_scales_uint8_and_converts_masks():
    img, _, mask = _scene()
    out, m = tfm.Transform(tfm.ToTensor())(image=img, mask=mask)
    assert out.shape == (3, 48, 64) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.from_numpy(img).permute(2, 0, 1).float() / 255)
    assert isinstance(m, torch.Tensor) and torch.equal(m, torch.from_numpy(mask))


def test_to_tensor_and_jitter_uses_numpy_brightness_factor():
    img, _, _ = _scene()
    np.random.seed(3)
    factor = np.random.uniform(0.8, 1.2)
    np.random.seed(3)
    out = tfm.Transform(tfm.ToTensorAndJitter(0.2))(image=img)
    expected = (torch.from_numpy(img).permute(2, 0, 1).double() * factor / 255).clamp(0, 1).float()
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    raw = tfm.ToTensorAndJitter(0.0, normalize=False)(image=img)["image"]
    torch.testing.assert_close(raw, torch.from_numpy(img).permute(2, 0, 1).float())


def test_normalize():
    x = torch.arange(12, dtype=torch.float32).reshape(3, 2, 2)
    out = tfm.Normalize(mean=[1.0, 2.0, 3.0], std=[1.0, 2.0, 4.0])(image=x)["image"]
    assert out[0, 0, 0].item() == -1.0 and out[1, 0, 0].item() == (4 - 2) / 2 and out[2, 1, 1].item() == (11 - 3) / 4
    assert x[0, 0, 0].item() == 0.0  # not in place by default


def test_grayscale_and_bgr():
    img, _, _ = _scene()
    out = tfm.ToGrayscale(probability=1.0)(image=img)["image"]
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(out, np.stack([gray] * 3, axis=2))
    assert tfm.ToGrayscale(probability=0.0)(image=img)["image"] is img
    t = torch.from_numpy(img).permute(2, 0, 1).float()
    tg = tfm.ToGrayscale(probability=1.0)(image=t)["image"]
    torch.testing.assert_close(tg[0], torch.from_numpy(gray).float(), rtol=0, atol=1.0)
    assert torch.equal(tg[0], tg[2])
    np.testing.assert_array_equal(tfm.ToBGR()(image=img)["image"], img[..., ::-1])
    assert torch.equal(tfm.ToBGR()(image=t)["image"], t.flip(0))


def test_blur_kernel_and_zero_padding():
    sigma = 1.0
    impulse = torch.zeros(1, 11, 11)
    impulse[0, 5, 5] = 1
    out = tfm.Blur(sigma)(image=impulse)["image"]
    k = torch.exp(-(torch.arange(-2, 3, dtype=torch.float32) ** 2) / 2)
    k = k / k.sum()
    expected = torch.zeros(11, 11)
    expected[3:8, 3:8] = k[:, None] * k[None, :]
    torch.testing.assert_close(out[0], expected, rtol=0, atol=1e-7)
    const = torch.ones(3, 9, 9)
    blurred = tfm.Blur(sigma)(image=const)["image"]
    torch.testing.assert_close(blurred[:, 2:-2, 2:-2], torch.ones(3, 5, 5))
    assert blurred[0, 0, 0] < 0.9  # zeros beyond the border
    assert tfm.RandomBlur(sigma, probability=0.0)(image=const)["image"] is const
    torch.testing.assert_close(tfm.RandomBlur(sigma, probability=1.0)(image=const)["image"], blurred)


# ---------------------------------------------------------------------------------------------------------------
# Horizontal flip


def test_flip_maps_image_box_mask_and_coords_consistently():
    img, box, mask = _scene()
    coords = torch.tensor([[3.0, 7.0], [0.0, 63.0]])  # rows (y, x)
    t = tfm.Transform(tfm.RandomHorizontalFlip(probability=1.0))
    img_f, box_f, mask_f, coords_f = t(image=img, bbox=box, mask=mask, coords=coords)
    np.testing.assert_array_equal(img_f, img[:, ::-1])
    np.testing.assert_array_equal(mask_f, mask[:, ::-1])
    assert box_f.tolist() == [64 - 10 - 20, 8.0, 20.0, 12.0]  # W - x - w
    assert coords_f.tolist() == [[3.0, 7.0], [63.0, 0.0]]  # W - 1 - x
    # The flipped box is exactly the box of the flipped target pixels.
    assert mask_to_xywh(mask_f).tolist() == box_f.tolist()
    _, boxes_f = t(image=img, bboxes=torch.stack([box, box + 1]))
    assert boxes_f[1].tolist() == [64 - 11 - 21, 9.0, 21.0, 13.0]


def test_flip_of_tensors_and_no_flip():
    img, box, mask = _scene()
    t_img = torch.from_numpy(img).permute(2, 0, 1)
    out, b = tfm.Transform(tfm.RandomHorizontalFlip(1.0))(image=t_img, bbox=box)
    assert torch.equal(out, t_img.flip(-1)) and b[0].item() == 34.0
    out, b = tfm.Transform(tfm.RandomHorizontalFlip(0.0))(image=img, bbox=box)
    assert out is img and b is box


def test_box_transform_needs_the_image_size():
    with pytest.raises(ValueError):
        tfm.Transform(tfm.RandomHorizontalFlip(1.0))(bbox=torch.tensor([1.0, 2.0, 3.0, 4.0]))


# ---------------------------------------------------------------------------------------------------------------
# Joint / per-frame rolls


def _frames(n: int):
    scenes = [_scene(seed=i, box=(2 + i, 8, 20, 12)) for i in range(n)]
    return [s[0] for s in scenes], [s[1] for s in scenes]


def _flipped(orig: np.ndarray, out: np.ndarray) -> bool:
    if np.array_equal(out, orig):
        return False
    assert np.array_equal(out, orig[:, ::-1])
    return True


def test_joint_mode_uses_one_roll_for_the_whole_list():
    imgs, boxes = _frames(12)
    t = tfm.Transform(tfm.RandomHorizontalFlip(0.5))
    outcomes = set()
    for seed in range(6):
        random.seed(seed)
        out_imgs, out_boxes = t(image=imgs, bbox=boxes)
        flips = {_flipped(a, b) for a, b in zip(imgs, out_imgs)}
        assert len(flips) == 1
        outcomes |= flips
        for b_in, b_out, flipped in zip(boxes, out_boxes, [flips.pop()] * len(boxes)):
            assert b_out[0].item() == (64 - b_in[0] - b_in[2] if flipped else b_in[0]).item()
    assert outcomes == {True, False}


def test_non_joint_mode_rolls_per_frame_and_keeps_each_frame_consistent():
    imgs, boxes = _frames(16)
    random.seed(0)
    out_imgs, out_boxes = tfm.Transform(tfm.RandomHorizontalFlip(0.5))(image=imgs, bbox=boxes, joint=False)
    assert isinstance(out_imgs, list) and len(out_imgs) == 16
    flips = [_flipped(a, b) for a, b in zip(imgs, out_imgs)]
    assert 0 < sum(flips) < 16
    for b_in, b_out, f in zip(boxes, out_boxes, flips):
        assert b_out[0].item() == (64 - b_in[0] - b_in[2] if f else b_in[0]).item()


def test_new_roll_false_reuses_the_previous_parameters():
    imgs, _ = _frames(1)
    t = tfm.Transform(tfm.RandomHorizontalFlip(0.5), tfm.ToGrayscale(0.5))
    results = set()
    for seed in range(8):
        random.seed(seed)
        first = t(image=imgs[0])
        state = random.getstate()
        again = t(image=imgs[0], new_roll=False)
        assert random.getstate() == state  # no new draw
        np.testing.assert_array_equal(first, again)
        results.add(first.tobytes())
    assert len(results) > 1  # the rolls do differ between seeds


def test_unknown_input_name_is_rejected():
    with pytest.raises(ValueError, match="unknown input"):
        tfm.Transform(tfm.ToTensor())(picture=np.zeros((2, 2, 3), np.uint8))


def test_transform_of_a_single_input_returns_it_directly_and_nested_transforms_flatten():
    img, _, _ = _scene()
    out = tfm.Transform([tfm.ToTensor(), tfm.Normalize([0, 0, 0], [1, 1, 1])])(image=img)
    assert isinstance(out, torch.Tensor)
    nested = tfm.Transform(tfm.Transform(tfm.RandomHorizontalFlip(1.0)), tfm.ToTensor())
    assert len(nested.transforms) == 2
    torch.testing.assert_close(nested(image=img), torch.from_numpy(img[:, ::-1].copy()).permute(2, 0, 1) / 255)
    with pytest.raises(ValueError, match="unknown input"):
        tfm.ToTensor()(images=img)


# ---------------------------------------------------------------------------------------------------------------
# Random affine


def test_affine_flip_matches_the_plain_flip_exactly():
    img, box, mask = _scene()
    aff = tfm.Transform(tfm.RandomAffine(p_flip=1.0))
    img_a, box_a, mask_a = aff(image=img, bbox=box, mask=mask)
    np.testing.assert_array_equal(img_a, img[:, ::-1])
    np.testing.assert_array_equal(mask_a, mask[:, ::-1])
    torch.testing.assert_close(box_a, torch.tensor([34.0, 8.0, 20.0, 12.0]))


def test_affine_rotation_by_90_degrees_is_exact_on_a_square_image():
    img, box, mask = _scene(h=40, w=40, box=(5, 10, 20, 6))
    aff = tfm.RandomAffine()
    params = (False, 90.0, (0.0, 0.0), (1.0, 1.0))
    # OpenCV's positive angle turns the image counter-clockwise on screen, as np.rot90 does.
    np.testing.assert_array_equal(aff.transform_image(img, *params), np.rot90(img))
    np.testing.assert_array_equal(aff.transform_mask(mask, *params), np.rot90(mask))
    np.testing.assert_array_equal(aff.transform_mask(mask > 0, *params), np.rot90(mask > 0))
    rotated = aff.transform_mask(torch.from_numpy(mask), *params)
    torch.testing.assert_close(rotated, torch.from_numpy(np.rot90(mask).copy()))
    out = aff.transform_bbox(box, (40, 40), *params)
    # Counter-clockwise: x' = y, y' = S - x - w, and w, h swap.
    torch.testing.assert_close(out, torch.tensor([10.0, 40 - 5 - 20, 6.0, 20.0]))
    assert mask_to_xywh(aff.transform_mask(mask, *params)).tolist() == out.tolist()


def test_affine_pad_amount_shifts_everything():
    img, box, mask = _scene()
    img_a, box_a = tfm.Transform(tfm.RandomAffine(pad_amount=3))(image=img, bbox=box)
    assert img_a.shape == (48 + 6, 64 + 6, 3)
    np.testing.assert_array_equal(img_a[3:-3, 3:-3], img)
    assert img_a[:3].max() == 0  # constant border
    torch.testing.assert_close(box_a, box + torch.tensor([3.0, 3.0, 0.0, 0.0]))
    rep = tfm.Transform(tfm.RandomAffine(pad_amount=3, border_mode="replicate"))(image=img)
    np.testing.assert_array_equal(rep[0, 3:-3], img[0])


def test_affine_box_contains_the_transformed_target_and_stays_in_the_image():
    aff = tfm.Transform(tfm.RandomAffine(p_flip=0.5, max_rotation=20, max_shear=0.1, max_scale=0.2, max_ar_factor=0.1))
    for seed in range(20):
        img, box, mask = _scene(h=80, w=96, box=(30, 25, 30, 20), seed=seed)
        random.seed(seed)
        img_a, box_a, mask_a = aff(image=img, bbox=box, mask=mask)
        assert img_a.shape == img.shape and mask_a.shape == mask.shape
        x, y, w, h = box_a.tolist()
        assert x >= 0 and y >= 0 and x + w <= 96 and y + h <= 80
        mx, my, mw, mh = mask_to_xywh(mask_a).tolist()
        assert mw > 0 and mh > 0
        # The warped target pixels lie inside the box (pixel-centre sampling: at most one pixel of slack).
        assert mx >= x - 1 and my >= y - 1 and mx + mw <= x + w + 1 and my + mh <= y + h + 1
        # ... and fill it up to the corners cut off by rotation/shear.
        assert mw * mh >= 0.5 * w * h


def test_affine_rejects_tensors_and_unknown_border():
    with pytest.raises(TypeError):
        tfm.RandomAffine()(image=torch.zeros(3, 4, 4))
    with pytest.raises(ValueError):
        tfm.RandomAffine(border_mode="reflect")


def test_transforms_are_deterministic_under_seeds():
    img, box, mask = _scene()
    t = tfm.Transform(
        tfm.RandomAffine(p_flip=0.5, max_rotation=10),
        tfm.ToGrayscale(0.5),
        tfm.ToTensorAndJitter(0.2),
        tfm.RandomBlur(1, 0.5),
    )

    def run():
        random.seed(11)
        np.random.seed(11)
        return t(image=[img, img], bbox=[box, box], joint=False)

    (i1, b1), (i2, b2) = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(i1 + b1, i2 + b2))
