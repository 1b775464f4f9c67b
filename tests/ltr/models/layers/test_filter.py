"""Tests for ltr.models.layers.filter."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ltr.models.layers.filter import apply_feat_transpose, apply_filter, filter_gradient

F64 = torch.float64


def naive_apply(feat: torch.Tensor, filt: torch.Tensor, dilations: list[int] | None = None) -> torch.Tensor:
    """Loop over images, sequences and filters; filt is (S, F, C, fH, fW). Returns (I, S, F, H', W')."""
    n_images, n_seq = feat.shape[:2]
    fh, fw = filt.shape[-2:]
    out = []
    for i in range(n_images):
        per_seq = []
        for s in range(n_seq):
            per_filter = []
            for f in range(filt.shape[1]):
                d = 1 if dilations is None else dilations[f]
                per_filter.append(
                    F.conv2d(feat[i, s][None], filt[s, f][None], padding=(d * (fh // 2), d * (fw // 2)), dilation=d)[
                        0, 0
                    ]
                )
            per_seq.append(torch.stack(per_filter))
        out.append(torch.stack(per_seq))
    return torch.stack(out)


def naive_transpose(feat: torch.Tensor, inp: torch.Tensor, fh: int, fw: int) -> torch.Tensor:
    """Direct sum over images and positions; inp is (I, S, F, H', W'). Returns (S, F, C, fH, fW)."""
    padded = F.pad(feat, (fw // 2, fw // 2, fh // 2, fh // 2))
    out_h, out_w = inp.shape[-2:]
    grad = feat.new_zeros(feat.shape[1], inp.shape[2], feat.shape[2], fh, fw)
    for u in range(fh):
        for v in range(fw):
            window = padded[..., u : u + out_h, v : v + out_w]  # (I, S, C, H', W')
            grad[..., u, v] = torch.einsum("isfyx,iscyx->sfc", inp, window)
    return grad


@pytest.mark.parametrize("fsz", [(1, 1), (3, 3), (4, 4), (2, 3), (5, 2)])
def test_apply_filter_single_filter_matches_naive(fsz):
    torch.manual_seed(0)
    fh, fw = fsz
    feat = torch.randn(3, 2, 4, 7, 6, dtype=F64)
    filt = torch.randn(2, 4, fh, fw, dtype=F64)
    scores = apply_filter(feat, filt)
    assert scores.shape == (3, 2, 7 + (fh + 1) % 2, 6 + (fw + 1) % 2)
    torch.testing.assert_close(scores, naive_apply(feat, filt[:, None])[:, :, 0])


@pytest.mark.parametrize("fsz", [1, 3, 4])
def test_apply_filter_multiple_filters_matches_naive(fsz):
    torch.manual_seed(1)
    feat = torch.randn(2, 3, 5, 6, 6, dtype=F64)
    filt = torch.randn(3, 4, 5, fsz, fsz, dtype=F64)
    scores = apply_filter(feat, filt)
    assert scores.shape == (2, 3, 4, 6 + (fsz + 1) % 2, 6 + (fsz + 1) % 2)
    torch.testing.assert_close(scores, naive_apply(feat, filt))


def test_apply_filter_1x1_fast_path_exact_values():
    feat = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64).view(1, 1, 2, 1, 2)  # channel 0: [1, 2], channel 1: [3, 4]
    filt = torch.tensor([10.0, 100.0], dtype=F64).view(1, 2, 1, 1)
    assert torch.equal(apply_filter(feat, filt), torch.tensor([[[[310.0, 420.0]]]], dtype=F64))


def test_apply_filter_4d_feat_is_one_sequence():
    torch.manual_seed(2)
    feat = torch.randn(3, 4, 5, 5, dtype=F64)
    filt = torch.randn(1, 4, 3, 3, dtype=F64)
    torch.testing.assert_close(apply_filter(feat, filt), apply_filter(feat[:, None], filt))


def test_apply_filter_channel_groups():
    torch.manual_seed(3)
    feat = torch.randn(2, 2, 6, 5, 5, dtype=F64)
    filt = torch.randn(2, 4, 3, 3, 3, dtype=F64)  # 2 channel groups of 3, 2 filters per group
    scores = apply_filter(feat, filt)
    expected_first = naive_apply(feat[:, :, :3], filt[:, :2])
    expected_second = naive_apply(feat[:, :, 3:], filt[:, 2:])
    torch.testing.assert_close(scores, torch.cat([expected_first, expected_second], dim=2))


def test_apply_filter_dilation_factors():
    torch.manual_seed(4)
    feat = torch.randn(2, 2, 3, 9, 9, dtype=F64)
    filt = torch.randn(2, 5, 3, 3, 3, dtype=F64)
    scores = apply_filter(feat, filt, dilation_factors={1: 2, 3: 3})
    assert scores.shape == (2, 2, 5, 9, 9)
    torch.testing.assert_close(scores, naive_apply(feat, filt, dilations=[1, 1, 3, 3, 3]))
    with pytest.raises(ValueError):
        apply_filter(feat, filt, dilation_factors={1: 2, 2: 2})


def test_apply_filter_rejects_bad_shapes():
    feat = torch.randn(2, 2, 4, 5, 5)
    with pytest.raises(ValueError):
        apply_filter(feat, torch.randn(3, 4, 3, 3))
    with pytest.raises(ValueError):
        apply_filter(feat, torch.randn(2, 3, 3, 3))


@pytest.mark.parametrize("fsz", [(1, 1), (3, 3), (4, 4), (3, 2)])
@pytest.mark.parametrize("n_filters", [None, 3])
def test_apply_feat_transpose_is_adjoint(fsz, n_filters):
    torch.manual_seed(5)
    fh, fw = fsz
    feat = torch.randn(4, 2, 3, 6, 5, dtype=F64)
    filt_shape = (2, 3, fh, fw) if n_filters is None else (2, n_filters, 3, fh, fw)
    filt = torch.randn(filt_shape, dtype=F64)
    scores = apply_filter(feat, filt)
    inp = torch.randn_like(scores)
    transposed = apply_feat_transpose(feat, inp, (fh, fw))
    assert transposed.shape == filt.shape
    lhs = (scores * inp).sum()
    rhs = (filt * transposed).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)
    inp5 = inp if n_filters is not None else inp[:, :, None]
    expected = naive_transpose(feat, inp5, fh, fw)
    torch.testing.assert_close(transposed, expected if n_filters is not None else expected[:, 0])


def test_apply_feat_transpose_training_flag_and_int_size():
    torch.manual_seed(6)
    feat = torch.randn(2, 3, 4, 5, 5, dtype=F64)
    inp = torch.randn(2, 3, 6, 6, dtype=F64)
    a = apply_feat_transpose(feat, inp, 4, training=True)
    b = apply_feat_transpose(feat, inp, (4, 4), training=False)
    assert a.shape == (3, 4, 4, 4)
    torch.testing.assert_close(a, b)


def test_apply_feat_transpose_exact_small_case():
    # One image, one channel, 1x1 filter: the result is sum(feat * input).
    feat = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64).view(1, 1, 1, 2, 2)
    inp = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=F64).view(1, 1, 2, 2)
    assert torch.equal(apply_feat_transpose(feat, inp, 1), torch.tensor(-3.0, dtype=F64).view(1, 1, 1, 1))


def test_apply_feat_transpose_rejects_mismatched_input():
    feat = torch.randn(2, 1, 3, 5, 5)
    with pytest.raises(ValueError):
        apply_feat_transpose(feat, torch.randn(2, 1, 5, 5), 4)  # even filter needs a 6x6 input


@pytest.mark.parametrize("fsz", [1, 3, 4])
@pytest.mark.parametrize("with_label", [False, True])
@pytest.mark.parametrize("n_filters", [None, 2])
def test_filter_gradient_matches_autograd(fsz, with_label, n_filters):
    torch.manual_seed(7)
    feat = torch.randn(3, 2, 4, 5, 5, dtype=F64)
    filt_shape = (2, 4, fsz, fsz) if n_filters is None else (2, n_filters, 4, fsz, fsz)
    filt = torch.randn(filt_shape, dtype=F64, requires_grad=True)
    scores = apply_filter(feat, filt)
    label = torch.randn_like(scores) if with_label else None
    residuals = scores - label if with_label else scores
    loss = 0.5 * (residuals**2).sum()
    (expected,) = torch.autograd.grad(loss, filt)
    torch.testing.assert_close(filter_gradient(feat, filt.detach(), label), expected)
