import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pytracking.utils import box_ops as B

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"

PAIRS = [
    (B.xywh_to_xyxy, B.xyxy_to_xywh),
    (B.xywh_to_cxcywh, B.cxcywh_to_xywh),
    (B.xyxy_to_cxcywh, B.cxcywh_to_xyxy),
]


def _random_boxes(shape, kind):
    rng = np.random.default_rng(0)
    xy = rng.uniform(-50, 200, size=(*shape, 2))
    wh = rng.uniform(0.5, 120, size=(*shape, 2))
    boxes = np.concatenate([xy, wh], axis=-1)
    return torch.from_numpy(boxes) if kind == "torch" else boxes


@pytest.mark.parametrize("forward,backward", PAIRS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("inclusive", [False, True])
@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("shape", [(), (7,), (2, 3)])
def test_conversions_round_trip(forward, backward, inclusive, kind, shape):
    boxes = _random_boxes(shape, kind)
    there = forward(boxes, inclusive=inclusive)
    back = backward(there, inclusive=inclusive)
    assert type(there) is type(boxes) and type(back) is type(boxes)
    assert tuple(there.shape) == (*shape, 4)
    np.testing.assert_allclose(np.asarray(back), np.asarray(boxes), rtol=0, atol=1e-12)
    # The reverse direction too: the inverse pair is a bijection.
    np.testing.assert_allclose(
        np.asarray(forward(backward(boxes, inclusive), inclusive)), np.asarray(boxes), atol=1e-12
    )


@pytest.mark.parametrize(
    "func,inclusive,expected",
    [
        (B.xywh_to_xyxy, False, [1, 2, 4, 6]),
        (B.xywh_to_xyxy, True, [1, 2, 3, 5]),
        (B.xywh_to_cxcywh, False, [2.5, 4, 3, 4]),
        (B.xywh_to_cxcywh, True, [2, 3.5, 3, 4]),
        (B.xyxy_to_xywh, False, [1, 2, 2, 2]),
        (B.xyxy_to_xywh, True, [1, 2, 3, 3]),
        (B.xyxy_to_cxcywh, False, [2, 3, 2, 2]),
        (B.xyxy_to_cxcywh, True, [2, 3, 3, 3]),
        (B.cxcywh_to_xywh, False, [-0.5, 0, 3, 4]),
        (B.cxcywh_to_xywh, True, [0, 0.5, 3, 4]),
        (B.cxcywh_to_xyxy, False, [-0.5, 0, 2.5, 4]),
        (B.cxcywh_to_xyxy, True, [0, 0.5, 2, 3.5]),
    ],
)
def test_conversions_exact_values(func, inclusive, expected):
    # Inputs: xywh [1, 2, 3, 4]; xyxy [1, 2, 3, 4]; cxcywh [1, 2, 3, 4].
    out = func([1, 2, 3, 4], inclusive=inclusive)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)


def test_dtypes_and_types_are_preserved():
    assert B.xywh_to_xyxy(np.array([1, 2, 3, 4], dtype=np.float32)).dtype == np.float32
    assert B.xywh_to_xyxy(np.array([1, 2, 3, 4])).dtype == np.float64
    t = B.xywh_to_xyxy(torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float32))
    assert t.dtype == torch.float32 and t.shape == (1, 4)
    t_int = B.xywh_to_cxcywh(torch.tensor([1, 2, 3, 4]), inclusive=True)
    assert t_int.dtype == torch.get_default_dtype()
    torch.testing.assert_close(t_int, torch.tensor([2.0, 3.5, 3.0, 4.0]))


def test_wrong_last_dimension_raises():
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        B.xywh_to_xyxy(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        B.iou_xywh(np.zeros(4), np.zeros(3))


def test_conversions_keep_autograd():
    box = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64, requires_grad=True)
    B.xywh_to_cxcywh(box).sum().backward()
    # d(cx + cy + w + h)/d(x, y, w, h) = (1, 1, 1.5, 1.5)
    torch.testing.assert_close(box.grad, torch.tensor([1.0, 1.0, 1.5, 1.5], dtype=torch.float64))


# --- IoU -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize(
    "a,b,expected",
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),  # identical
        ([0, 0, 10, 10], [20, 20, 5, 5], 0.0),  # disjoint
        ([0, 0, 10, 10], [10, 0, 10, 10], 0.0),  # touching edges: pixels 0..9 and 10..19 share none
        ([0, 0, 10, 10], [9, 0, 10, 10], 10 / 190),  # one shared pixel column
        ([0, 0, 10, 10], [5, 5, 10, 10], 25 / 175),  # partial overlap
        ([0, 0, 10, 10], [2, 2, 5, 5], 25 / 100),  # contained
        ([0.5, 0, 2, 2], [1.5, 0, 2, 2], 2 / 6),  # sub-pixel positions
        ([3, 3, 0, 0], [3, 3, 0, 0], 0.0),  # zero-size boxes: zero union gives 0, not NaN
        ([0, 0, 10, 10], [5, 5, 0, 0], 0.0),  # zero-size box inside another
    ],
)
def test_iou_hand_computed(a, b, expected, inclusive):
    got = B.iou_xywh(np.array(a, dtype=np.float64), np.array(b, dtype=np.float64), inclusive=inclusive)
    assert got.shape == ()
    assert got == pytest.approx(expected, abs=1e-15)
    got_t = B.iou_xywh(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), inclusive)
    assert isinstance(got_t, torch.Tensor) and got_t.item() == pytest.approx(expected, abs=1e-15)


def test_iou_matches_pixel_counting():
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.integers(0, 30, (40, 2)), rng.integers(1, 20, (40, 2))], axis=1)
    b = np.concatenate([rng.integers(0, 30, (40, 2)), rng.integers(1, 20, (40, 2))], axis=1)
    # Image large enough that no box is clipped.
    ma, mb = B.xywh_to_mask(a, (60, 60)), B.xywh_to_mask(b, (60, 60))
    expected = (ma & mb).sum(axis=(1, 2)) / (ma | mb).sum(axis=(1, 2))
    np.testing.assert_allclose(B.iou_xywh(a, b), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(B.iou_xywh(a, b, inclusive=False), expected, rtol=0, atol=1e-15)
    assert (expected > 0).any() and (expected == 0).any()


def test_iou_broadcasts_and_mixes_types():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 20.0, 10.0]])
    b = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 10.0, 10.0], [100.0, 0.0, 1.0, 1.0]])
    pairwise = B.iou_xywh(a[:, None, :], b[None, :, :])
    assert isinstance(pairwise, torch.Tensor) and pairwise.shape == (2, 3)
    expected = torch.tensor([[1.0, 25 / 175, 0.0], [0.5, 50 / 250, 0.0]])
    torch.testing.assert_close(pairwise, expected)
    # Integer tensors are promoted, not truncated.
    assert B.iou_xywh(torch.tensor([0, 0, 10, 10]), torch.tensor([5, 5, 10, 10])).item() == pytest.approx(1 / 7)


# --- clipping, validity ----------------------------------------------------------------------------------------


def test_clip_xywh():
    boxes = np.array(
        [
            [-5, -5, 10, 10],  # top-left overhang
            [35, 30, 10, 20],  # bottom-right overhang (image 40 wide, 45 high)
            [-20, 0, 5, 5],  # entirely left of the image
            [50, 50, 3, 3],  # entirely outside, bottom-right
            [10, 10, 5, 5],  # inside, unchanged
            [-2.5, 38.5, 5, 5],  # sub-pixel overhangs
            [5, 5, -3, 2],  # negative width
        ],
        dtype=np.float64,
    )
    expected = [
        [0, 0, 5, 5],
        [35, 30, 5, 15],
        [0, 0, 0, 5],
        [40, 45, 0, 0],
        [10, 10, 5, 5],
        [0, 38.5, 2.5, 5],
        [5, 5, 0, 2],
    ]
    np.testing.assert_array_equal(B.clip_xywh(boxes, (45, 40)), expected)
    t = B.clip_xywh(torch.tensor(boxes), (45, 40))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), expected)


def test_clip_then_mask_agree_with_masking_alone():
    box = np.array([-3.0, 4.0, 12.0, 50.0])
    clipped = B.clip_xywh(box, (20, 6))
    np.testing.assert_array_equal(clipped, [0, 4, 6, 16])
    np.testing.assert_array_equal(B.mask_to_xywh(B.xywh_to_mask(box, (20, 6))), clipped)


def test_is_valid_xywh():
    boxes = np.array(
        [[0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 1, -1], [np.nan, 0, 1, 1], [0, 0, np.inf, 1], [-5, -5, 0.5, 2]]
    )
    np.testing.assert_array_equal(B.is_valid_xywh(boxes), [True, False, False, False, False, True])
    valid_t = B.is_valid_xywh(torch.from_numpy(boxes))
    assert valid_t.dtype == torch.bool and valid_t.tolist() == [True, False, False, False, False, True]


# --- polygons --------------------------------------------------------------------------------------------------

SQUARE = [0, 0, 10, 0, 10, 10, 0, 10]
DIAMOND = [5, 0, 10, 5, 5, 10, 0, 5]  # the square of side 5*sqrt(2) rotated by 45 degrees


def test_polygon_union_mode():
    np.testing.assert_array_equal(B.polygon_to_xywh(SQUARE), [0, 0, 10, 10])
    np.testing.assert_array_equal(B.polygon_to_xywh(DIAMOND, mode="union"), [0, 0, 10, 10])


def test_polygon_preserve_area_axis_aligned_square():
    # A1 = 10 * 10 = A2, so s = 1: w = h = 11 centred on (5, 5).
    np.testing.assert_array_equal(B.polygon_to_xywh(SQUARE, mode="preserve_area"), [-0.5, -0.5, 11, 11])


def test_polygon_preserve_area_rotated_square():
    # A1 = 50 (polygon area), A2 = 100, s = sqrt(1/2): w = h = 10 / sqrt(2) + 1 = 5 sqrt(2) + 1.
    w = 5 * math.sqrt(2) + 1
    got = B.polygon_to_xywh(np.array(DIAMOND, dtype=np.float64), mode="preserve_area")
    np.testing.assert_allclose(got, [5 - w / 2, 5 - w / 2, w, w], rtol=0, atol=1e-12)


def test_polygon_batched_torch_and_passthrough():
    polys = torch.tensor([SQUARE, DIAMOND], dtype=torch.float64)
    out = B.polygon_to_xywh(polys, mode="preserve_area")
    assert isinstance(out, torch.Tensor) and out.shape == (2, 4)
    torch.testing.assert_close(out[0], torch.tensor([-0.5, -0.5, 11, 11], dtype=torch.float64))
    rect = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(B.polygon_to_xywh(rect), rect)
    with pytest.raises(ValueError, match="mode"):
        B.polygon_to_xywh(SQUARE, mode="area")
    with pytest.raises(ValueError):
        B.polygon_to_xywh([1, 2, 3, 4, 5, 6])


def test_polygon_degenerate_gives_no_nan():
    out = B.polygon_to_xywh([3, 3, 3, 3, 3, 3, 3, 3], mode="preserve_area")
    np.testing.assert_array_equal(out, [2.5, 2.5, 1, 1])


def test_polygon_on_real_vot_annotation():
    gt = REAL / "VOT" / "bag" / "groundtruth.txt"
    if not gt.is_file():
        pytest.skip(f"real data not found at {gt}")
    first = np.array([float(v) for v in gt.read_text().splitlines()[0].split(",")])
    assert first.shape == (8,)
    cx, cy = first[0::2].mean(), first[1::2].mean()
    for mode in ("union", "preserve_area"):
        x, y, w, h = B.polygon_to_xywh(first, mode=mode)
        assert w > 0 and h > 0
        assert x <= cx <= x + w and y <= cy <= y + h
    # union: the min/max box holds every corner.
    x, y, w, h = B.polygon_to_xywh(first, mode="union")
    assert (first[0::2] >= x).all() and (first[0::2] <= x + w).all()
    assert (first[1::2] >= y).all() and (first[1::2] <= y + h).all()
    # preserve_area: centred on the centroid, (w - 1) * (h - 1) equals |p1 - p2| * |p2 - p3|.
    x, y, w, h = B.polygon_to_xywh(first, mode="preserve_area")
    assert x + w / 2 == pytest.approx(cx) and y + h / 2 == pytest.approx(cy)
    area = np.linalg.norm(first[0:2] - first[2:4]) * np.linalg.norm(first[2:4] - first[4:6])
    assert (w - 1) * (h - 1) == pytest.approx(area, rel=1e-12)


# --- masks -----------------------------------------------------------------------------------------------------


def test_mask_to_xywh_hand_cases():
    m = np.zeros((6, 8), dtype=np.uint8)
    m[1:3, 2:5] = 1
    m[4, 6] = 7  # any non-zero value counts
    np.testing.assert_array_equal(B.mask_to_xywh(m), [2, 1, 5, 4])
    single = np.zeros((6, 8), dtype=bool)
    single[5, 0] = True
    np.testing.assert_array_equal(B.mask_to_xywh(single), [0, 5, 1, 1])
    np.testing.assert_array_equal(B.mask_to_xywh(np.zeros((6, 8))), [0, 0, 0, 0])


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_mask_to_xywh_batched(kind):
    masks = np.zeros((3, 6, 8), dtype=bool)
    masks[0, 1:3, 2:5] = True
    masks[2, :, :] = True
    if kind == "torch":
        masks = torch.from_numpy(masks)
    out = B.mask_to_xywh(masks)
    assert type(out) is type(masks) and tuple(out.shape) == (3, 4)
    np.testing.assert_array_equal(np.asarray(out), [[2, 1, 3, 2], [0, 0, 0, 0], [0, 0, 8, 6]])


def test_xywh_to_mask_and_back():
    rng = np.random.default_rng(2)
    boxes = np.concatenate([rng.integers(0, 10, (20, 2)), rng.integers(1, 10, (20, 2))], axis=1)
    masks = B.xywh_to_mask(boxes, (20, 20))
    assert masks.shape == (20, 20, 20) and masks.dtype == bool
    np.testing.assert_array_equal(masks.sum(axis=(1, 2)), boxes[:, 2] * boxes[:, 3])
    np.testing.assert_array_equal(B.mask_to_xywh(masks), boxes)
    mt = B.xywh_to_mask(torch.from_numpy(boxes), (20, 20))
    assert mt.dtype == torch.bool
    np.testing.assert_array_equal(mt.numpy(), masks)


def test_xywh_to_mask_exact_pixels():
    mask = B.xywh_to_mask([2, 1, 3, 2], (4, 6))
    expected = np.zeros((4, 6), dtype=bool)
    expected[1:3, 2:5] = True
    np.testing.assert_array_equal(mask, expected)
    # Clipped at the border: columns 4, 5 of a box reaching column 7.
    assert B.xywh_to_mask([4, 0, 4, 1], (4, 6)).sum() == 2


# --- IoU-Net relative parametrisation -------------------------------------------------------------------------


def test_rect_to_rel_exact_values():
    bb = torch.tensor([[10.0, 20.0, 30.0, 40.0]], dtype=torch.float64)
    rel = B.rect_to_rel(bb)
    expected = torch.tensor([[25 / 30, 40 / 40, math.log(30), math.log(40)]], dtype=torch.float64)
    torch.testing.assert_close(rel, expected)
    rel_n = B.rect_to_rel(bb, torch.tensor([5.0, 8.0], dtype=torch.float64))
    torch.testing.assert_close(rel_n, torch.tensor([[5.0, 5.0, math.log(30), math.log(40)]], dtype=torch.float64))


@pytest.mark.parametrize("sz_norm", [None, "per_box", "shared", "scalar"])
def test_rect_rel_round_trip(sz_norm):
    torch.manual_seed(0)
    bb = torch.cat([torch.rand(16, 2) * 200, torch.rand(16, 2) * 100 + 1], dim=1).double()
    norm = {
        None: None,
        "per_box": torch.rand(16, 2).double() * 50 + 1,
        "shared": torch.tensor([32.0, 48.0], dtype=torch.float64),
        "scalar": 20.0,
    }[sz_norm]
    rel = B.rect_to_rel(bb, norm)
    torch.testing.assert_close(B.rel_to_rect(rel, norm), bb, rtol=0, atol=1e-10)
    torch.testing.assert_close(B.rect_to_rel(B.rel_to_rect(rel, norm), norm), rel, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "a,b,inclusive,expected",
    [
        # Corners as pixel indices: [0,0,1,1] covers 2x2 pixels, [1,1,2,2] shares one pixel -> 1 / (4 + 4 - 1).
        ([0, 0, 1, 1], [1, 1, 2, 2], True, 1 / 7),
        # Continuous: the same numbers are unit-area squares touching at a corner -> no overlap.
        ([0, 0, 1, 1], [1, 1, 2, 2], False, 0.0),
        ([0, 0, 4, 2], [2, 0, 6, 2], False, 4 / 12),
        ([0, 0, 3, 1], [2, 0, 5, 1], True, 4 / 12),
    ],
)
def test_iou_xyxy_conventions_differ(a, b, inclusive, expected):
    assert B.iou_xyxy(np.array(a), np.array(b), inclusive=inclusive) == pytest.approx(expected, abs=1e-15)
    t = B.iou_xyxy(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), inclusive=inclusive)
    assert float(t) == pytest.approx(expected, abs=1e-15)
