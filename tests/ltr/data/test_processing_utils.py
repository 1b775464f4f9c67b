"""Crop geometry, proposals, Gaussian labels and GMM densities of ltr.data.processing_utils."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from ltr.data import processing_utils as pu


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# sample_target / transform_image_to_crop


def test_sample_target_without_resize_is_the_exact_slice_centred_on_the_box():
    im = _image(200, 200)
    box = torch.tensor([40.0, 30.0, 20.0, 20.0])  # centre (50, 40); crop side ceil(20 * 2) = 40
    crop, factor = pu.sample_target(im, box, 2.0)
    assert factor == 1.0
    np.testing.assert_array_equal(crop, im[20:60, 30:70])
    # The box occupies crop pixels 10..29 on both axes: 10 pixels of margin on each side, i.e. centred.
    mapped = pu.transform_image_to_crop(box, box, 1.0, torch.tensor([40.0, 40.0]))
    assert mapped.tolist() == [9.5, 9.5, 20.0, 20.0]  # centre at (40 - 1) / 2 by the original's convention


def test_sample_target_resized_crop_keeps_the_target_centred():
    im = np.zeros((120, 160, 3), np.uint8)
    im[40:60, 60:90] = 255  # target box [60, 40, 30, 20], centre (75, 50)
    box = torch.tensor([60.0, 40.0, 30.0, 20.0])
    crop, factor = pu.sample_target(im, box, 4.0, output_sz=100)
    crop_sz = math.ceil(math.sqrt(600) * 4.0)  # 98
    assert crop.shape == (100, 100, 3)
    assert factor == pytest.approx(100 / crop_sz)
    ys, xs = np.nonzero(crop[..., 0] > 127)
    # Continuous centre of the bright region in the crop: the middle of the crop up to rounding of the corner.
    assert (xs.min() + xs.max() + 1) / 2 == pytest.approx(50, abs=1.0)
    assert (ys.min() + ys.max() + 1) / 2 == pytest.approx(50, abs=1.0)


def test_transform_image_to_crop_exact_coordinates():
    box_in = torch.tensor([10.0, 20.0, 30.0, 40.0], dtype=torch.float64)
    box_extract = torch.tensor([0.0, 0.0, 20.0, 20.0], dtype=torch.float64)
    out = pu.transform_image_to_crop(box_in, box_extract, 2.0, torch.tensor([100.0, 100.0]))
    # centre (25, 40) -> 49.5 + (15, 30) * 2 = (79.5, 109.5); size (60, 80)
    assert out.tolist() == [49.5, 69.5, 60.0, 80.0]
    out_n = pu.transform_image_to_crop(box_in, box_extract, 2.0, torch.tensor([100.0, 100.0]), normalize=True)
    torch.testing.assert_close(out_n, out / 100)


def test_sample_target_replicates_border_pixels_at_every_side():
    im = _image(20, 30, seed=1)
    # Top-left corner: centre (2, 2), crop side 12, corner round(2 - 6) = -4.
    crop, _ = pu.sample_target(im, torch.tensor([0.0, 0.0, 4.0, 4.0]), 3.0)
    rows = np.clip(np.arange(-4, 8), 0, 19)
    cols = np.clip(np.arange(-4, 8), 0, 29)
    np.testing.assert_array_equal(crop, im[rows][:, cols])
    np.testing.assert_array_equal(crop[:4, 4:], np.broadcast_to(im[0:1, 0:8], (4, 8, 3)))
    np.testing.assert_array_equal(crop[4:, :4], np.broadcast_to(im[0:8, 0:1], (8, 4, 3)))
    # Bottom-right corner: columns 22..33 and rows 12..23; the last real row/column must be kept.
    crop, _ = pu.sample_target(im, torch.tensor([26.0, 16.0, 4.0, 4.0]), 3.0)
    np.testing.assert_array_equal(crop[:8, :8], im[12:20, 22:30])
    np.testing.assert_array_equal(crop[:8, 8:], np.broadcast_to(im[12:20, 29:30], (8, 4, 3)))
    np.testing.assert_array_equal(crop[8:, :8], np.broadcast_to(im[19:20, 22:30], (4, 8, 3)))


def test_sample_target_entirely_outside_the_image_repeats_the_nearest_pixel():
    im = _image(10, 10, seed=2)
    crop, _ = pu.sample_target(im, torch.tensor([50.0, -40.0, 2.0, 2.0]), 2.0)
    np.testing.assert_array_equal(crop, np.broadcast_to(im[0:1, 9:10], (4, 4, 3)))


def test_sample_target_mask_is_zero_padded():
    im = _image(10, 10)
    mask = torch.ones(10, 10)
    crop, _, mask_crop = pu.sample_target(im, torch.tensor([0.0, 0.0, 2.0, 2.0]), 3.0, mask=mask)
    # crop side 6, corner round(1 - 3) = -2: two zero rows and columns.
    assert crop.shape == (6, 6, 3) and mask_crop.shape == (6, 6)
    assert mask_crop[:2].sum() == 0 and mask_crop[:, :2].sum() == 0 and mask_crop[2:, 2:].min() == 1


def test_jittered_center_crop_maps_the_gt_boxes():
    frames = [_image(100, 100, s) for s in range(2)]
    gt = [torch.tensor([40.0, 40.0, 20.0, 20.0]), torch.tensor([30.0, 30.0, 10.0, 20.0])]
    extract = [torch.tensor([42.0, 38.0, 20.0, 20.0]), torch.tensor([30.0, 30.0, 10.0, 20.0])]
    crops, boxes, masks = pu.jittered_center_crop(frames, extract, gt, 2.0, 64)
    assert masks is None and len(crops) == 2 and crops[0].shape == (64, 64, 3)
    expected = pu.transform_image_to_crop(gt[0], extract[0], 64 / 40, torch.tensor([64.0, 64.0]))
    torch.testing.assert_close(boxes[0], expected)


# ---------------------------------------------------------------------------------------------------------------
# sample_target_adaptive / target_image_crop


def test_adaptive_replicate_crop_box_and_size():
    im = _image(80, 100)
    box = torch.tensor([40.0, 30.0, 10.0, 10.0])
    crop, crop_box = pu.sample_target_adaptive(im, box, 4.0, (60, 40))
    # crop size ceil((60, 40) * sqrt(100 / 2400) * 4) = (49, 33); corner round(45 - 24.5) = 20, round(35 - 16.5) = 18
    assert crop.shape == (40, 60, 3)
    assert crop_box.tolist() == [20.0, 18.0, 49.0, 33.0]


def test_adaptive_crop_is_shifted_inside_in_every_mode():
    im = _image(80, 100)
    box = torch.tensor([2.0, 2.0, 20.0, 20.0])  # crop 80 x 80 centred at (12, 12) sticks out top-left
    for mode in ("replicate", "inside", "inside_major"):
        _, crop_box = pu.sample_target_adaptive(im, box, 4.0, 64, mode=mode)
        assert crop_box.tolist() == [0.0, 0.0, 80.0, 80.0], mode


@pytest.mark.parametrize(
    ("mode", "max_scale_change", "expected"),
    [
        ("inside", None, [10.0, 0.0, 80.0, 80.0]),  # shrink 200 / 80 = 2.5: 80 x 80, fits both axes
        ("inside_major", None, [0.0, -10.0, 100.0, 100.0]),  # shrink 2: 100 x 100, fits x, centred on y
        ("inside", 1.5, [-16.0, -26.0, 133.0, 133.0]),  # shrink limited to 1.5: centred on both axes
        ("replicate", None, [-50.0, -60.0, 200.0, 200.0]),  # no shrink: centred on the image
    ],
)
def test_adaptive_crop_inside_modes(mode, max_scale_change, expected):
    im = _image(80, 100)
    box = torch.tensor([40.0, 30.0, 20.0, 20.0])
    crop, crop_box = pu.sample_target_adaptive(im, box, 10.0, 64, mode=mode, max_scale_change=max_scale_change)
    assert crop.shape == (64, 64, 3)
    assert crop_box.tolist() == expected
    if mode == "inside":
        x, y, w, h = crop_box.tolist()
        if max_scale_change is None:
            assert x >= 0 and y >= 0 and x + w <= 100 and y + h <= 80


def test_inside_crops_of_random_boxes_stay_inside_the_image():
    g = torch.Generator().manual_seed(0)
    im = _image(60, 90)
    for _ in range(50):
        wh = 5 + 30 * torch.rand(2, generator=g)
        xy = torch.rand(2, generator=g) * torch.tensor([90.0, 60.0]) - wh / 2
        box = torch.cat((xy, wh))
        _, cb = pu.sample_target_adaptive(im, box, 5.0, 32, mode="inside")
        assert cb[0] >= 0 and cb[1] >= 0 and cb[0] + cb[2] <= 90 and cb[1] + cb[3] <= 60
        _, cb = pu.sample_target_adaptive(im, box, 5.0, 32, mode="inside_major")
        inside_x = cb[0] >= 0 and cb[0] + cb[2] <= 90
        inside_y = cb[1] >= 0 and cb[1] + cb[3] <= 60
        assert inside_x or inside_y


def test_transform_box_to_crop_exact():
    out = pu.transform_box_to_crop(
        torch.tensor([10.0, 20.0, 30.0, 40.0]), torch.tensor([0.0, 10.0, 100.0, 50.0]), torch.tensor([200.0, 100.0])
    )
    assert out.tolist() == [20.0, 20.0, 60.0, 80.0]


def test_target_image_crop_box_matches_the_cropped_pixels():
    im = np.zeros((120, 160, 3), np.uint8)
    im[40:60, 60:90] = 255
    gt = torch.tensor([60.0, 40.0, 30.0, 20.0])
    masks = [torch.from_numpy((im[..., 0] > 0).astype(np.float32))]
    crops, boxes, mask_crops = pu.target_image_crop([im], [gt], [gt], 4.0, 96, masks=masks)
    ys, xs = np.nonzero(crops[0][..., 0] > 127)
    x, y, w, h = boxes[0].tolist()
    assert xs.min() == pytest.approx(x, abs=1) and xs.max() + 1 == pytest.approx(x + w, abs=1)
    assert ys.min() == pytest.approx(y, abs=1) and ys.max() + 1 == pytest.approx(y + h, abs=1)
    assert mask_crops[0].shape == (96, 96)
    # Nearest-neighbour mask and bilinear image resizing may disagree on the boundary pixels only.
    disagree = (mask_crops[0].numpy() > 0.5) != (crops[0][..., 0] > 127)
    assert disagree.sum() <= 2 * (w + h) and (mask_crops[0].numpy() > 0.5).sum() > 0.9 * w * h


def test_too_small_boxes_raise():
    with pytest.raises(ValueError):
        pu.sample_target(_image(10, 10), torch.tensor([1.0, 1.0, 0.0, 0.0]), 2.0)
    with pytest.raises(ValueError):
        pu.sample_target_adaptive(_image(10, 10), torch.tensor([1.0, 1.0, 0.0, 0.0]), 2.0, 8)


# ---------------------------------------------------------------------------------------------------------------
# IoU and proposals


def test_iou_exact():
    ref = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    props = torch.tensor([[5.0, 5.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 5.0, 5.0], [0.0, 0.0, 5.0, 10.0]])
    torch.testing.assert_close(pu.iou(ref, props), torch.tensor([25 / 175, 1.0, 0.0, 0.5]))


def test_perturb_box_respects_min_iou_and_reports_its_iou():
    random.seed(0)
    torch.manual_seed(0)
    box = torch.tensor([50.0, 40.0, 60.0, 30.0])
    sigmas = [0.01, 0.05, 0.1, 0.2, 0.3]
    for min_iou in (0.1, 0.5, 0.8):
        for _ in range(100):
            p, p_iou = pu.perturb_box(box, min_iou=min_iou, sigma_factor=sigmas)
            assert p.shape == (4,) and p_iou.shape == (1,)
            assert p_iou.item() > min_iou
            torch.testing.assert_close(p_iou, pu.iou(box.view(1, 4), p.view(1, 4)))


def test_perturb_box_zero_sigma_returns_the_rounded_box():
    box = torch.tensor([10.4, 20.6, 30.0, 40.0])
    p, p_iou = pu.perturb_box(box, min_iou=0.5, sigma_factor=0.0)
    # The centre and size are exact; the corner is rounded: 10.4 -> 10, 20.6 -> 21.
    assert p.tolist() == [10.0, 21.0, 30.0, 40.0]
    assert p_iou.item() == pytest.approx(pu.iou(box.view(1, 4), p.view(1, 4)).item())


def test_perturb_box_per_coordinate_sigma():
    random.seed(1)
    box = torch.tensor([10.0, 20.0, 30.0, 40.0])
    widths = set()
    for _ in range(30):
        p, _ = pu.perturb_box(box, min_iou=0.1, sigma_factor=torch.tensor([0.0, 0.0, 0.2, 0.0]))
        # Only the width is perturbed (the centre is kept, so x moves by half the width change).
        assert p[1].item() == 20.0 and p[3].item() == 40.0
        assert p[0].item() == pytest.approx(25.0 - p[2].item() / 2, abs=1.0)
        widths.add(p[2].item())
    assert len(widths) > 5


def test_perturb_box_picks_one_sigma_factor_per_call_from_the_list():
    random.seed(2)
    box = torch.tensor([100.0, 100.0, 64.0, 64.0])
    exact = 0
    n = 400
    for _ in range(n):
        p, _ = pu.perturb_box(box, min_iou=0.1, sigma_factor=[0.0, 0.3])
        exact += p.tolist() == box.tolist()
    # Factor 0 (half of the calls) gives the box itself; factor 0.3 (sigma 19 px) practically never does.
    assert 0.4 * n < exact < 0.6 * n


def test_perturb_box_is_deterministic_under_seeds():
    box = torch.tensor([10.0, 20.0, 30.0, 40.0])

    def draw():
        random.seed(5)
        torch.manual_seed(5)
        return [pu.perturb_box(box, 0.5, [0.1, 0.2])[0] for _ in range(10)]

    assert all(torch.equal(a, b) for a, b in zip(draw(), draw()))


# ---------------------------------------------------------------------------------------------------------------
# Gaussian labels


def test_gaussian_label_centred_target_even_kernel():
    bb = torch.tensor([[134.0, 134.0, 20.0, 20.0]], dtype=torch.float64)  # centre (144, 144) of a 288 image
    label = pu.gaussian_label_function(bb, 0.05, 4, 18, 288)
    assert label.shape == (1, 19, 19)  # feat 18 + 1 for the even kernel
    # Offset 0 + 0.5 (even kernel) from the middle 8.5 of the first 18 samples: peak exactly at index 9.
    assert label[0, 9, 9].item() == 1.0
    assert torch.argmax(label[0]).item() == 9 * 19 + 9
    sigma = 0.05 * 18
    k = torch.arange(19, dtype=torch.float64) - 8.5
    g = torch.exp(-((k - 0.5) ** 2) / (2 * sigma**2))
    torch.testing.assert_close(label[0], g[:, None] * g[None, :], rtol=0, atol=1e-12)


def test_gaussian_label_no_end_pad_and_odd_kernel():
    bb = torch.tensor([[134.0, 134.0, 20.0, 20.0]], dtype=torch.float64)
    assert pu.gaussian_label_function(bb, 0.05, 4, 18, 288, end_pad_if_even=False).shape == (1, 18, 18)
    label = pu.gaussian_label_function(bb, 0.05, 5, 19, 288)
    assert label.shape == (1, 19, 19)
    assert label[0, 9, 9].item() == 1.0


def test_gaussian_label_off_centre_target_and_non_square_sizes():
    # Image (w, h) = (320, 160), feature (w, h) = (20, 10), odd kernel: centre (240, 40) maps to offset
    # (20 * (240 - 160) / 320, 10 * (40 - 80) / 160) = (5, -2.5) from the middle (9.5, 4.5): index (14.5, 2).
    bb = torch.tensor([[230.0, 30.0, 20.0, 20.0]], dtype=torch.float64)
    label = pu.gaussian_label_function(bb, 0.1, (3, 3), (20, 10), (320, 160))
    assert label.shape == (1, 10, 20)
    sigma = 0.1 * math.sqrt(200)
    kx = torch.arange(20, dtype=torch.float64) - 9.5
    ky = torch.arange(10, dtype=torch.float64) - 4.5
    expected = torch.exp(-((ky[:, None] + 2.5) ** 2 + (kx[None, :] - 5) ** 2) / (2 * sigma**2))
    torch.testing.assert_close(label[0], expected, rtol=0, atol=1e-12)
    assert label[0, 2, 14].item() == label[0, 2, 15].item()


def test_gaussian_label_density_and_uniform_bias():
    bb = torch.tensor([[134.0, 134.0, 20.0, 20.0], [0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    plain = pu.gaussian_label_function(bb, 0.05, 4, 18, 288)
    dens = pu.gaussian_label_function(bb, 0.05, 4, 18, 288, density=True, uni_bias=0.1)
    sigma = 0.05 * 18
    torch.testing.assert_close(dens, 0.9 * plain / (2 * math.pi * sigma**2) + 0.1 / 361, rtol=1e-12, atol=0)
    torch.testing.assert_close(pu.gaussian_label_function(bb, 0.05, 4, 18, 288, uni_bias=0.2), plain + 0.2)


# ---------------------------------------------------------------------------------------------------------------
# GMM densities and box sampling


def test_gauss_density_centered_closed_form():
    x = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    std = torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    expected = [math.exp(-0.5 * (a / s) ** 2) / (math.sqrt(2 * math.pi) * s) for a, s in zip(x.tolist(), std.tolist())]
    torch.testing.assert_close(pu.gauss_density_centered(x, std), torch.tensor(expected, dtype=torch.float64))


def test_gmm_density_centered_closed_form():
    std = torch.tensor([[0.1, 1.0], [0.2, 2.0]], dtype=torch.float64)  # (D=2, K=2)
    x = torch.tensor([[0.05, -0.1], [1.0, 1.0]], dtype=torch.float64)

    def n(v, s):
        return math.exp(-0.5 * (v / s) ** 2) / (math.sqrt(2 * math.pi) * s)

    expected = [0.5 * (n(a, 0.1) * n(b, 0.2) + n(a, 1.0) * n(b, 2.0)) for a, b in x.tolist()]
    torch.testing.assert_close(pu.gmm_density_centered(x, std), torch.tensor(expected, dtype=torch.float64))
    with pytest.raises(ValueError):
        pu.gmm_density_centered(torch.zeros(3, 5), std)


def test_sample_gmm_centered_returns_the_density_of_its_samples():
    torch.manual_seed(0)
    std = torch.tensor([[0.1, 1.0], [0.2, 2.0]], dtype=torch.float64)
    x, dens = pu.sample_gmm_centered(std, 500)
    assert x.shape == (500, 2) and dens.shape == (500,)
    torch.testing.assert_close(dens, pu.gmm_density_centered(x, std))
    x2, _ = pu.sample_gmm(torch.tensor([3.0, -1.0], dtype=torch.float64), std, 4)
    assert x2.shape == (4, 2)


def test_sample_gmm_centered_statistics_single_component():
    torch.manual_seed(1)
    std = torch.tensor([[0.1], [0.5]], dtype=torch.float64)
    x, _ = pu.sample_gmm_centered(std, 20000)
    torch.testing.assert_close(x.std(dim=0), torch.tensor([0.1, 0.5], dtype=torch.float64), rtol=0.03, atol=0)


def test_sample_box_gmm_relative_parametrisation_and_densities():
    torch.manual_seed(0)
    mean_box = torch.tensor([20.0, 30.0, 40.0, 20.0])
    props, p_dens, gt_dens = pu.sample_box_gmm(
        mean_box, [(0.05, 0.05), (0.5, 0.5)], gt_sigma=(0.05, 0.1), num_samples=64
    )
    assert props.shape == (64, 4) and p_dens.shape == (64,) and gt_dens.shape == (64,)

    # Relative coordinates: centre / mean size, log size.
    def rel(b):
        return torch.stack(
            [(b[:, 0] + b[:, 2] / 2) / 40, (b[:, 1] + b[:, 3] / 2) / 20, b[:, 2].log(), b[:, 3].log()], dim=1
        ).double()

    d = rel(props) - rel(mean_box.view(1, 4))
    std = torch.tensor([[0.05, 0.5]] * 4, dtype=torch.float64)
    torch.testing.assert_close(p_dens.double(), pu.gmm_density_centered(d, std), rtol=1e-4, atol=0)
    std_gt = torch.tensor([0.05, 0.05, 0.1, 0.1], dtype=torch.float64)
    # atol: float32 underflow of the far-away samples' densities.
    expected_gt = pu.gauss_density_centered(d, std_gt).prod(-1)
    torch.testing.assert_close(gt_dens.double(), expected_gt, rtol=1e-4, atol=1e-30)


def test_sample_box_gmm_zero_gt_sigma_and_mean_box():
    torch.manual_seed(0)
    mean_box = torch.tensor([20.0, 30.0, 40.0, 20.0])
    props, p_dens, gt_dens = pu.sample_box_gmm(mean_box, [(0.1, 0.1)], gt_sigma=(0, 0), num_samples=5)
    assert torch.equal(gt_dens, torch.zeros(5))
    props, p_dens, gt_dens = pu.sample_box_gmm(mean_box, [(0.1, 0.1)], num_samples=5, add_mean_box=True)
    assert props.shape == (6, 4) and torch.equal(props[0], mean_box)
    assert p_dens[0].item() == -1.0 and gt_dens[0].item() == 1.0
