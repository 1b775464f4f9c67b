"""Debug drawing helpers: numpy converters (exact pixels) and the matplotlib functions on the Agg backend."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from pytracking.utils import plotting as P
from pytracking.utils.image_io import davis_palette


@pytest.fixture
def plt():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    yield plt
    plt.close("all")


# ---- conversions -----------------------------------------------------------------------------------------------


def test_image_layout_numpy_is_hwc_torch_is_chw():
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(P.image_to_uint8(hwc), hwc)
    chw = torch.from_numpy(hwc).permute(2, 0, 1)
    np.testing.assert_array_equal(P.image_to_uint8(chw), hwc)
    np.testing.assert_array_equal(P.image_to_uint8(chw[None].float()), hwc)  # batch of one, float 0..255
    gray = hwc[:, :, 0]
    np.testing.assert_array_equal(P.image_to_uint8(gray), np.repeat(gray[:, :, None], 3, axis=2))
    rgba = np.concatenate([hwc, np.full((5, 7, 1), 9, np.uint8)], axis=2)
    np.testing.assert_array_equal(P.image_to_uint8(rgba), hwc)


def test_image_float_values_are_rounded_and_clipped_bool_is_0_255():
    a = np.array([[[-3.0, 0.4, 0.6], [254.5, 300.0, np.nan]]])
    np.testing.assert_array_equal(P.image_to_uint8(a), [[[0, 0, 1], [254, 255, 0]]])
    b = np.array([[True, False]])
    np.testing.assert_array_equal(P.image_to_uint8(b)[..., 0], [[255, 0]])


def test_image_with_wrong_layout_is_rejected():
    with pytest.raises(ValueError, match=r"\(C, H, W\) for torch"):
        P.image_to_uint8(torch.zeros(6, 8, 3))  # an HWC tensor
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        P.image_to_uint8(np.zeros((2, 3, 4, 5)))


def test_draw_boxes_exact_outline():
    img = np.zeros((10, 12, 3), np.uint8)
    out = P.draw_boxes(img, [2.2, 3, 5, 4], thickness=1)
    assert img.sum() == 0  # input untouched
    painted = (out != 0).any(axis=2)
    expected = np.zeros((10, 12), bool)
    expected[3:7, 2:7] = True  # columns 2..6, rows 3..6
    expected[4:6, 3:6] = False  # interior
    np.testing.assert_array_equal(painted, expected)
    np.testing.assert_array_equal(out[3, 2], P.BOX_COLORS[0])


def test_draw_boxes_colors_thickness_clipping_and_invalid_boxes():
    img = np.zeros((8, 8, 3), np.uint8)
    boxes = np.array([[-2, -2, 5, 5], [4, 4, 10, 10], [1, 1, np.nan, 2], [1, 1, 0, 3]])
    out = P.draw_boxes(img, boxes, colors=[(1, 2, 3), (4, 5, 6)], thickness=2)
    # box 0 covers -2..2: only its right/bottom sides (columns/rows 1..2) are inside; (0, 0) is interior
    np.testing.assert_array_equal(out[0, 1], (1, 2, 3))
    np.testing.assert_array_equal(out[0, 0], (0, 0, 0))
    np.testing.assert_array_equal(out[2, 0], (1, 2, 3))
    # box 1 covers 4..13: top/left sides 2 px thick, right/bottom outside the image
    np.testing.assert_array_equal(out[4, 7], (4, 5, 6))
    np.testing.assert_array_equal(out[5, 5], (4, 5, 6))
    np.testing.assert_array_equal(out[6, 6], (0, 0, 0))
    # 3x3 corner minus its interior pixel, 4x4 corner minus its 2x2 interior; nothing from the NaN/empty boxes
    assert (out != 0).any(axis=2).sum() == 8 + 12


def test_overlay_mask_label_map_bool_and_soft():
    img = np.full((2, 3, 3), 100, np.uint8)
    labels = np.array([[0, 1, 2], [0, 0, 1]], np.uint8)
    out = P.overlay_mask(img, labels, alpha=0.5)
    pal = davis_palette().astype(float)
    np.testing.assert_array_equal(out[0, 0], (100, 100, 100))
    np.testing.assert_array_equal(out[0, 1], np.rint(50 + 0.5 * pal[1]))  # (114, 50, 50)
    np.testing.assert_array_equal(out[0, 2], np.rint(50 + 0.5 * pal[2]))
    soft = torch.tensor([[0.2, 0.5, 0.9], [0.0, 0.49, 1.0]])
    np.testing.assert_array_equal(P.overlay_mask(img, soft), P.overlay_mask(img, soft.numpy() >= 0.5))
    with pytest.raises(ValueError, match="does not match"):
        P.overlay_mask(img, np.zeros((3, 2)))


def test_iou_colors():
    np.testing.assert_array_equal(
        P.iou_colors([0.0, 0.5, 1.0, 2.0]), [[255, 0, 0], [128, 128, 0], [0, 255, 0], [0, 255, 0]]
    )


def test_tile_cost_volume_and_flip():
    cv = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(1, 2, 3, 4, 5)
    t = P.tile_cost_volume(cv)
    assert t.shape == (2 * 4, 3 * 5)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(t[i * 4 : (i + 1) * 4, j * 5 : (j + 1) * 5], cv[0, i, j].numpy())
    f = P.tile_cost_volume(cv, flip=True)
    assert f.shape == (4 * 2, 5 * 3)
    np.testing.assert_array_equal(f[2:4, 3:6], cv[0, :, :, 1, 1].numpy())
    with pytest.raises(ValueError):
        P.tile_cost_volume(torch.zeros(2, 3, 4))


def test_tile_channels_normalises_each_channel():
    feat = torch.stack([torch.arange(6.0).reshape(2, 3), torch.full((2, 3), 7.0), -torch.arange(6.0).reshape(2, 3)])
    grid = P.tile_channels(feat[None], gap=1)
    assert grid.shape == (2 * 2 + 1, 2 * 3 + 1)  # 3 channels -> 2 columns, 2 rows
    np.testing.assert_allclose(grid[0:2, 0:3], np.arange(6).reshape(2, 3) / 5)
    np.testing.assert_array_equal(grid[0:2, 4:7], 0.0)  # constant channel
    np.testing.assert_allclose(grid[3:5, 0:3], 1 - np.arange(6).reshape(2, 3) / 5)
    assert np.isnan(grid[2]).all() and np.isnan(grid[3:5, 4:7]).all()  # gap row and the unused tile
    assert P.tile_channels(torch.zeros(20, 2, 2), max_channels=4).shape == (5, 5)


def test_format_value():
    assert P.format_value(0.123456) == "0.1235"
    assert P.format_value(torch.tensor(2.5)) == "2.5"
    assert P.format_value(np.array([1, 2])) == "[1, 2]"
    assert P.format_value(torch.zeros(3, 4)) == "float32 array of shape (3, 4)"
    assert P.format_value(True) == "True" and P.format_value("ok") == "ok"


def test_parse_tracking_data():
    img = np.zeros((6, 8, 3), np.uint8)
    mask = np.ones((6, 8), np.uint8)
    image, boxes, m = P.parse_tracking_data((img, [1, 2, 3, 4], torch.tensor([0.0, 1, 2, 3]), None, mask))
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [0, 1, 2, 3]])
    assert m is mask or np.array_equal(m, mask)
    _, boxes, m = P.parse_tracking_data((img, np.array([[1, 1, 2, 2], [3, 3, 1, 1]])))
    assert boxes.shape == (2, 4) and m is None
    with pytest.raises(TypeError):
        P.parse_tracking_data(img)
    with pytest.raises(ValueError, match="4 values"):
        P.parse_tracking_data((img, [1, 2, 3]))


def test_parse_bbreg_data():
    img = torch.zeros(3, 5, 5)
    image, boxes, ious = P.parse_bbreg_data((img, torch.ones(2, 4), torch.tensor([0.1, 0.9])))
    assert image.shape == (5, 5, 3) and boxes.shape == (2, 4)
    np.testing.assert_allclose(ious, [0.1, 0.9], rtol=1e-6)
    with pytest.raises(ValueError, match="2 boxes but 1"):
        P.parse_bbreg_data((img, torch.ones(2, 4), [0.5]))


# ---- matplotlib ------------------------------------------------------------------------------------------------


def test_show_tensor_map_creates_figure_and_shows_the_data(plt):
    m = torch.arange(12.0).reshape(1, 3, 4)
    ax = P.show_tensor(m, title="score", range=(0, 20))
    assert plt.get_fignums() == [ax.figure.number]
    np.testing.assert_array_equal(ax.images[0].get_array(), m[0].numpy())
    assert ax.images[0].get_clim() == (0, 20)
    assert ax.get_title() == "score" and not ax.axison
    # drawing into the same figure number replaces the content
    ax2 = P.show_tensor(np.zeros((2, 2)), fig_num=ax.figure.number)
    assert ax2.figure is ax.figure and len(ax2.figure.axes) == 1 and len(ax2.images) == 1


def test_show_tensor_image_and_range(plt):
    hwc = np.random.default_rng(1).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    ax = P.show_tensor(torch.from_numpy(hwc).permute(2, 0, 1))
    np.testing.assert_array_equal(ax.images[0].get_array(), hwc)
    fig, given = plt.subplots()
    ax = P.show_tensor(np.full((2, 2, 3), 0.5), range=(0, 1), ax=given)
    assert ax is given
    np.testing.assert_array_equal(ax.images[0].get_array(), np.full((2, 2, 3), 128))


def test_plot_graph(plt):
    y = torch.tensor([[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])
    ax = P.plot_graph(y, title="loss")
    assert len(ax.lines) == 2 and ax.get_title() == "loss"
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [4, 5, 6])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [0, 1, 2])
    ax = P.plot_graph([1.0, 2.0], x=[10, 20], ax=ax)
    assert len(ax.lines) == 1
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [10, 20])


def test_show_image_with_boxes(plt):
    img = np.zeros((10, 10, 3), np.uint8)
    mask = np.zeros((10, 10), np.uint8)
    mask[0, 0] = 1
    ax = P.show_image_with_boxes(img, [[1, 2, 3, 4], [np.nan, 0, 1, 1], [5, 5, 2, 2]], mask=mask, title="t")
    rects = ax.patches
    assert len(rects) == 2
    assert rects[0].get_xy() == (0.5, 1.5) and rects[0].get_width() == 3 and rects[0].get_height() == 4
    np.testing.assert_allclose(rects[0].get_edgecolor()[:3], np.array(P.BOX_COLORS[0]) / 255)
    np.testing.assert_allclose(rects[1].get_edgecolor()[:3], np.array(P.BOX_COLORS[2]) / 255)  # third box
    shown = ax.images[0].get_array()
    np.testing.assert_array_equal(shown[0, 0], [64, 0, 0])  # mask blended in
    np.testing.assert_array_equal(shown[1, 1], [0, 0, 0])


def test_show_text(plt):
    ax = P.show_text("a: 1\nb: 2", title="info")
    assert ax.texts[0].get_text() == "a: 1\nb: 2" and ax.get_title() == "info"
