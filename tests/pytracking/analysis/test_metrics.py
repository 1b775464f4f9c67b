"""Golden vectors for both protocols; every expected value is worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytracking.analysis import metrics as M

GT = [10.0, 10.0, 20.0, 20.0]  # pixel-inclusive centre (19.5, 19.5), continuous centre (20, 20)
INF = math.inf


def seq(*rows):
    return np.array(rows, dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------
# thresholds


def test_thresholds_match_the_original_and_need_a_tolerance_for_op75():
    thr = M.overlap_thresholds(0.05)
    assert thr.shape == (21,) and thr.dtype == np.float64
    assert thr[0] == 0.0 and thr[10] == 0.5 and thr[20] == 1.0
    # The original's arange has 0.7500000000000001 here: exact equality finds no OP75 threshold.
    assert thr[15] != 0.75 and abs(thr[15] - 0.75) < 1e-15
    assert M.curve_value_at(np.arange(21.0), thr, 0.75) == 15.0
    assert M.overlap_thresholds(0.01).shape == (101,)
    np.testing.assert_array_equal(M.center_thresholds(), np.arange(51.0))
    assert M.norm_center_thresholds()[20] == 0.2
    with pytest.raises(ValueError, match="no threshold equals 0.33"):
        M.curve_value_at(np.zeros(21), thr, 0.33)


# ---------------------------------------------------------------------------------------------------------------
# pytracking protocol


def test_pytracking_identical_disjoint_partial():
    gt = seq(GT, GT, GT, GT)
    # frame 0 is replaced by GT; frame 1 identical; frame 2 disjoint; frame 3 shifted by 10 px (IoU 200/600).
    pred = seq([0, 0, 5, 5], GT, [50, 50, 10, 10], [20, 10, 20, 20])
    e = M.pytracking_sequence_errors(pred, gt)
    np.testing.assert_array_equal(e.overlap, [1.0, 1.0, 0.0, 200.0 / 600.0])
    # disjoint: centres 54.5 vs 19.5 in x and y -> 35*sqrt(2); shifted: 10 px in x
    np.testing.assert_array_equal(e.center, [0.0, 0.0, 35.0 * math.sqrt(2.0), 10.0])
    # normalised: 54.5/20 - 19.5/20 = 1.75 per axis; shift 29.5/20 - 19.5/20 = 0.5
    np.testing.assert_allclose(e.center_norm, [0.0, 0.0, 1.75 * math.sqrt(2.0), 0.5], rtol=0, atol=1e-15)
    assert e.valid.all() and e.num_frames == 4


def test_pytracking_touching_x0_is_invalid():
    gt = seq(GT, [0, 10, 20, 20], [5, 0, 20, 20])
    e = M.pytracking_sequence_errors(gt, gt)
    np.testing.assert_array_equal(e.valid, [True, False, False])
    np.testing.assert_array_equal(e.overlap, [1.0, -1.0, -1.0])
    np.testing.assert_array_equal(e.center, [0.0, INF, INF])
    np.testing.assert_array_equal(e.center_norm, [0.0, -1.0, -1.0])


def test_pytracking_zero_size_predictions_take_the_previous_box():
    b1 = [12.0, 10.0, 20.0, 20.0]
    gt = seq(GT, GT, GT, GT, GT)
    # frames 2 and 3 empty -> both inherit frame 1 (chained); frame 4 has w = 0 only.
    pred = seq(GT, b1, [0, 0, 0, 0], [3, 3, 0, 0], [7, 7, 0, 5])
    e = M.pytracking_sequence_errors(pred, gt)
    # b1 vs GT: inter 18*20 = 360, union 440
    np.testing.assert_array_equal(e.overlap, [1.0, 360 / 440, 360 / 440, 360 / 440, 360 / 440])
    np.testing.assert_array_equal(e.center, [0.0, 2.0, 2.0, 2.0, 2.0])


def test_pytracking_nan_ground_truth_needs_the_flag():
    gt = seq(GT, [np.nan] * 4, GT)
    pred = seq(GT, [0, 0, 0, 0], [0, 0, 0, 0])
    with pytest.raises(ValueError, match="NaN values in the ground truth.*in 'res.txt'"):
        M.pytracking_sequence_errors(pred, gt, source="res.txt")
    e = M.pytracking_sequence_errors(pred, gt, allow_nan_gt=True)
    # frame 1: NaN GT -> invalid, and its empty box is NOT replaced (GT has NaN) so frame 2 inherits an empty
    # box: IoU of [0,0,0,0] with GT is 0, its centre (-0.5, -0.5) is 20*sqrt(2) from (19.5, 19.5).
    np.testing.assert_array_equal(e.valid, [True, False, True])
    np.testing.assert_array_equal(e.overlap, [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(e.center, [0.0, INF, 20.0 * math.sqrt(2.0)])
    np.testing.assert_array_equal(e.center_norm[:2], [0.0, -1.0])
    # the original's UAV choice: invalid frames are precision successes
    e_uav = M.pytracking_sequence_errors(pred, gt, allow_nan_gt=True, invalid_center_error=-1.0)
    np.testing.assert_array_equal(e_uav.center, [0.0, -1.0, 20.0 * math.sqrt(2.0)])


def test_pytracking_absent_frames():
    gt = seq(GT, GT, GT)
    vis = np.array([1, 0, 1], dtype=np.uint8)
    e = M.pytracking_sequence_errors(gt, gt, vis)
    np.testing.assert_array_equal(e.valid, [True, False, True])
    np.testing.assert_array_equal(e.overlap, [1.0, -1.0, 1.0])
    np.testing.assert_array_equal(e.center, [0.0, INF, 0.0])
    np.testing.assert_array_equal(e.center_norm, [0.0, -1.0, 0.0])
    e_lasot = M.pytracking_sequence_errors(gt, gt, vis, absent_center_error_inf=True)
    np.testing.assert_array_equal(e_lasot.center_norm, [0.0, INF, 0.0])
    with pytest.raises(ValueError, match="target_visible has 2 entries for 3"):
        M.pytracking_sequence_errors(gt, gt, vis[:2])


def test_pytracking_length_mismatch():
    gt = seq(GT, GT, GT)
    longer = seq(GT, GT, GT, [0, 0, 1, 1])
    np.testing.assert_array_equal(M.pytracking_sequence_errors(longer, gt).overlap, [1.0, 1.0, 1.0])
    shorter = seq(GT, GT)
    e = M.pytracking_sequence_errors(shorter, gt)  # zero-padded frame: IoU 0, centre error 20*sqrt(2)
    np.testing.assert_array_equal(e.overlap, [1.0, 1.0, 0.0])
    assert e.center[2] == 20.0 * math.sqrt(2.0)
    with pytest.raises(ValueError, match="prediction has 2 frames, ground truth 3 in 'lasot.txt'"):
        M.pytracking_sequence_errors(shorter, gt, strict_length=True, source="lasot.txt")


@pytest.mark.parametrize("bad", [[np.nan, 0, 1, 1], [0, 0, -1, 1]])
def test_pytracking_invalid_predictions_name_the_file(bad):
    with pytest.raises(ValueError, match="invalid tracking results.*in 'trk/seq.txt'"):
        M.pytracking_sequence_errors(seq(GT, bad), seq(GT, GT), source="trk/seq.txt")


def test_pytracking_frame0_forced_to_gt():
    e = M.pytracking_sequence_errors(seq([100, 100, 1, 1], GT), seq(GT, GT))
    np.testing.assert_array_equal(e.overlap, [1.0, 1.0])


# ---------------------------------------------------------------------------------------------------------------
# got10k protocol


def test_got10k_drops_frame0_absent_and_nan_rows():
    gt = seq(GT, GT, [np.nan] * 4, GT, [0, 10, 20, 20])
    pred = seq([0, 0, 1, 1], [20, 10, 20, 20], GT, [50, 50, 10, 10], [0, 10, 20, 20])
    vis = np.array([1, 1, 1, 0, 1], dtype=bool)
    e = M.got10k_sequence_errors(pred, gt, vis)
    # kept: frame 1 (IoU 200/600) and frame 4 (touching x = 0 is fine here: IoU 1)
    np.testing.assert_array_equal(e.overlap, [200.0 / 600.0, 1.0])
    np.testing.assert_array_equal(e.center, [10.0, 0.0])
    np.testing.assert_array_equal(e.center_norm, [0.5, 0.0])
    assert e.valid.all() and e.num_frames == 2


def test_got10k_identical_disjoint_and_clipping_to_unit_interval():
    gt = seq(GT, GT, GT)
    e = M.got10k_sequence_errors(seq(GT, GT, [50, 50, 10, 10]), gt)
    np.testing.assert_array_equal(e.overlap, [1.0, 0.0])
    assert e.center[1] == 35.0 * math.sqrt(2.0)
    # a zero-size prediction is not repaired: IoU 0 (not NaN, thanks to eps)
    np.testing.assert_array_equal(M.got10k_iou(seq([0, 0, 0, 0]), seq([0, 0, 0, 0])), [0.0])


def test_got10k_bound_uses_the_toolkits_clipping():
    gt = seq([0, 0, 10, 10], [0, 0, 10, 10])
    pred = seq([-5, 0, 10, 10], [15, 0, 10, 10])
    # unbounded: 50 / 150 and disjoint
    np.testing.assert_array_equal(M.got10k_iou(pred, gt), [50.0 / 150.0, 0.0])
    # bounded to 20x20: x clipped to 0 keeps w = 10 (full overlap); x = 15 gets w = 5
    np.testing.assert_array_equal(M.got10k_iou(pred, gt, bound=(20, 20)), [1.0, 0.0])
    np.testing.assert_array_equal(M.got10k_iou(seq([12, 0, 10, 10]), seq([10, 0, 10, 10]), (20, 20)), [0.8])


def test_got10k_lengths_and_nan():
    gt = seq(GT, GT, GT)
    np.testing.assert_array_equal(M.got10k_sequence_errors(seq(GT, GT, GT, GT), gt).overlap, [1.0, 1.0])
    with pytest.raises(ValueError, match="prediction has 2 frames, ground truth 3 in 'g.txt'"):
        M.got10k_sequence_errors(seq(GT, GT), gt, source="g.txt")
    with pytest.raises(ValueError, match="NaN"):
        M.got10k_sequence_errors(seq(GT, [np.nan, 0, 1, 1], GT), gt)


def test_sequence_errors_dispatch():
    gt = seq(GT, GT)
    assert M.sequence_errors(gt, gt, protocol="got10k").num_frames == 1
    assert M.sequence_errors(gt, gt, options={"strict_length": True}).num_frames == 2
    with pytest.raises(ValueError, match="unknown protocol"):
        M.sequence_errors(gt, gt, protocol="vot")


# ---------------------------------------------------------------------------------------------------------------
# curves and scores


def test_success_curve_is_strict_and_auc_is_the_mean():
    thr = M.overlap_thresholds()
    c = M.success_curve(np.array([-1.0, 0.0, 0.5, 0.75, 1.0]), thr)
    assert c[0] == 3 / 5  # > 0: 0.5, 0.75, 1.0
    assert c[10] == 2 / 5  # > 0.5: 0.75, 1.0
    assert c[15] == 1 / 5  # 0.75 is not > 0.7500000000000001
    assert c[20] == 0.0
    # a single frame at 0.5 beats the 10 thresholds 0 .. 0.45; at 0.8 the 16 thresholds 0 .. 0.75
    assert M.auc(M.success_curve(np.array([0.5]), thr)) == pytest.approx(10 / 21, abs=1e-15)
    assert M.auc(M.success_curve(np.array([0.5, 0.8]), thr)) == pytest.approx(26 / 42, abs=1e-15)
    assert M.auc(np.array([1.0, 0.5, 0.0])) == 0.5
    assert M.curve_value_at(M.success_curve(np.array([0.8]), thr), thr, 0.75) == 1.0  # OP75 present


def test_precision_curve_is_inclusive_and_denominators():
    thr = M.center_thresholds()
    c = M.precision_curve(np.array([0.0, 20.0, 20.5, INF, -1.0]), thr)
    assert (c[0], c[20], c[21], c[50]) == (2 / 5, 3 / 5, 4 / 5, 4 / 5)
    np.testing.assert_array_equal(M.precision_curve(np.array([1.0]), thr[:3], denominator=4), [0, 0.25, 0.25])
    np.testing.assert_array_equal(M.success_curve(np.array([1.0]), thr[:2], denominator=0), [0.0, 0.0])


def test_sequence_curves_and_exclude_invalid_frames():
    gt = seq(GT, GT, [0, 0, 20, 20], GT)
    e = M.pytracking_sequence_errors(seq(GT, GT, GT, [50, 50, 10, 10]), gt)
    thr_o, thr_c, thr_n = M.overlap_thresholds(), M.center_thresholds(), M.norm_center_thresholds()
    s, p, pn, mean_ov, den = M.sequence_curves(e, thr_o, thr_c, thr_n)
    assert den == 4 and mean_ov == 2 / 3  # overlaps of valid frames: 1, 1, 0
    assert s[0] == 2 / 4 and p[20] == 2 / 4 and pn[20] == 3 / 4  # the invalid frame is a norm-precision success
    s, p, pn, mean_ov, den = M.sequence_curves(e, thr_o, thr_c, thr_n, exclude_invalid_frames=True)
    assert den == 3 and s[0] == 2 / 3 and pn[20] == 1.0


def test_average_curves_equal_and_frame_weights():
    values = np.array([[0.5], [1.0], [0.0]])
    valid = np.array([True, True, False])
    np.testing.assert_array_equal(M.average_curves(values, valid), [0.75])
    np.testing.assert_array_equal(M.average_curves(values, valid, weights=np.array([[1], [3], [5]])), [0.875])
    curves = np.arange(12.0).reshape(2, 2, 3)  # (S, K, T) with (S, K) weights
    w = np.array([[1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(M.average_curves(curves, [True, True], w), [[3.0, 4.0, 5.0], [9.0, 10.0, 11.0]])
    assert np.isnan(M.average_curves(values, [False, False, False])).all()
