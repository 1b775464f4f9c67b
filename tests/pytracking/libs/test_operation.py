"""conv2d / conv1x1 against a direct numpy cross-correlation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pytracking.libs.operation import conv1x1, conv2d
from pytracking.libs.tensorlist import TensorList

NP_PAD_MODE = {"zeros": "constant", "replicate": "edge", "reflect": "reflect", "circular": "wrap"}


def ref_conv(x, w, pads=(0, 0, 0, 0), padding_mode="zeros", stride=(1, 1), dilation=(1, 1), groups=1, bias=None):
    """Direct loop cross-correlation; pads = (top, bottom, left, right)."""
    x, w = x.numpy(), w.numpy()
    t, b, l, r = pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), mode=NP_PAD_MODE[padding_mode])
    n, c, h, wd = xp.shape
    o, cg, kh, kw = w.shape
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    oh, ow = (h - eh) // stride[0] + 1, (wd - ew) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        gi = oc // og
        xs = xp[:, gi * cg : (gi + 1) * cg]
        for i in range(oh):
            for j in range(ow):
                patch = xs[
                    :,
                    :,
                    i * stride[0] : i * stride[0] + eh : dilation[0],
                    j * stride[1] : j * stride[1] + ew : dilation[1],
                ]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
        if bias is not None:
            out[:, oc] += bias[oc].item()
    return torch.from_numpy(out)


def data(n=2, c=3, h=7, w=6, o=4, kh=3, kw=3, groups=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    weight = torch.randn(o, c // groups, kh, kw, generator=g, dtype=torch.float64)
    return x, weight


@pytest.mark.parametrize("padding_mode", ["zeros", "replicate", "reflect", "circular"])
def test_mode_none_uses_given_padding(padding_mode):
    x, w = data(kh=3, kw=2)
    bias = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64)
    out = conv2d(x, w, bias, padding=(1, 2), padding_mode=padding_mode)
    expected = ref_conv(x, w, (1, 1, 2, 2), padding_mode, bias=bias)
    assert out.shape == (2, 4, 7, 9)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("padding_mode", ["zeros", "replicate", "reflect", "circular"])
@pytest.mark.parametrize(("kh", "kw"), [(3, 3), (5, 3), (4, 4), (2, 3), (1, 1)])
def test_same_mode_keeps_size(kh, kw, padding_mode):
    x, w = data(kh=kh, kw=kw)
    out = conv2d(x, w, mode="same", padding_mode=padding_mode)
    assert out.shape[-2:] == x.shape[-2:]
    # k//2 before, (k-1)//2 after.
    expected = ref_conv(x, w, (kh // 2, (kh - 1) // 2, kw // 2, (kw - 1) // 2), padding_mode)
    torch.testing.assert_close(out, expected)


def test_same_mode_even_kernel_is_symmetric_pad_then_crop():
    x, w = data(kh=4, kw=2)
    out = conv2d(x, w, mode="same")
    padded = F.conv2d(x, w, padding=(2, 1))
    assert padded.shape[-2:] == (8, 7)
    torch.testing.assert_close(out, padded[..., :7, :6])


def test_same_mode_with_stride_and_dilation():
    x, w = data(h=9, w=8, kh=3, kw=2)
    out = conv2d(x, w, stride=2, mode="same")
    assert out.shape[-2:] == (5, 4)  # ceil(H / stride)
    torch.testing.assert_close(out, ref_conv(x, w, (1, 1, 1, 0), stride=(2, 2)))

    # dilation 2: effective kernel 5x3.
    out = conv2d(x, w, dilation=2, mode="same")
    assert out.shape[-2:] == x.shape[-2:]
    torch.testing.assert_close(out, ref_conv(x, w, (2, 2, 1, 1), dilation=(2, 2)))


@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
def test_full_and_valid_modes(padding_mode):
    x, w = data(kh=3, kw=2)
    full = conv2d(x, w, mode="full", padding_mode=padding_mode)
    assert full.shape[-2:] == (7 + 3 - 1, 6 + 2 - 1)
    torch.testing.assert_close(full, ref_conv(x, w, (2, 2, 1, 1), padding_mode))
    valid = conv2d(x, w, mode="valid", padding_mode=padding_mode)
    assert valid.shape[-2:] == (5, 5)
    torch.testing.assert_close(valid, ref_conv(x, w))


def test_full_mode_of_delta_reproduces_flipped_kernel():
    # Cross-correlating a unit impulse with "full" padding returns the kernel rotated by 180 degrees.
    x = torch.zeros(1, 1, 1, 1, dtype=torch.float64)
    x[0, 0, 0, 0] = 1.0
    w = torch.arange(6, dtype=torch.float64).view(1, 1, 2, 3)
    out = conv2d(x, w, mode="full")
    torch.testing.assert_close(out, w.flip(-1, -2))


def test_groups():
    x, w = data(c=4, o=6, groups=2)
    out = conv2d(x, w, groups=2, mode="same")
    torch.testing.assert_close(out, ref_conv(x, w, (1, 1, 1, 1), groups=2))


def test_tensorlist_mapping():
    x1, w1 = data(seed=1)
    x2, w2 = data(h=5, w=5, kh=2, kw=2, seed=2)
    out = conv2d(TensorList([x1, x2]), TensorList([w1, w2]), mode="same")
    assert isinstance(out, TensorList) and len(out) == 2
    torch.testing.assert_close(out[0], conv2d(x1, w1, mode="same"))
    torch.testing.assert_close(out[1], conv2d(x2, w2, mode="same"))
    assert out[1].shape[-2:] == (5, 5)

    # A single weight is shared by every element.
    shared = conv2d(TensorList([x1, x1 * 2]), w1)
    torch.testing.assert_close(shared[1], 2 * shared[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "circular"}, "mode"),
        ({"padding_mode": "mirror"}, "padding_mode"),
        ({"mode": "same", "padding": 1}, "padding"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": (1, 0)}, "dilation"),
        ({"padding": (1, 2, 3)}, "padding"),
        ({"groups": 2}, "channel"),
        ({"groups": 0}, "groups"),
        ({"bias": torch.zeros(3, dtype=torch.float64)}, "bias"),
    ],
)
def test_invalid_arguments(kwargs, match):
    x, w = data()
    with pytest.raises(ValueError, match=match):
        conv2d(x, w, **kwargs)


def test_invalid_shapes():
    x, w = data()
    with pytest.raises(ValueError, match="4-D"):
        conv2d(x[0], w)
    with pytest.raises(ValueError, match="channel"):
        conv2d(x, w[:, :2])


@pytest.mark.parametrize("as_4d", [False, True])
def test_conv1x1_equals_conv2d(as_4d):
    x, w = data(kh=1, kw=1)
    weight = w if as_4d else w[:, :, 0, 0]
    out = conv1x1(x, weight)
    torch.testing.assert_close(out, F.conv2d(x, w))
    torch.testing.assert_close(out, conv2d(x, w))
    outs = conv1x1(TensorList([x, x[:1]]), TensorList([weight, weight[:2]]))
    torch.testing.assert_close(outs[1], F.conv2d(x[:1], w[:2]))


def test_conv1x1_rejects_bad_shapes():
    x, w = data()
    with pytest.raises(ValueError, match="1x1"):
        conv1x1(x, w)
    with pytest.raises(ValueError):
        conv1x1(x, w[:, :2, 0, 0])
