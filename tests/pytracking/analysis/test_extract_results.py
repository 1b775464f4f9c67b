"""extract_results on a tiny result tree: stored values, missing files, per-dataset options, the cache."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import pytracking.analysis.extract_results as er
from pytracking.analysis.plot_results import compute_scores

GT = [10.0, 10.0, 20.0, 20.0]
FAR = [50.0, 50.0, 10.0, 10.0]
SHIFT = [20.0, 10.0, 20.0, 20.0]  # IoU 200/600 with GT


@pytest.fixture
def setup(Seq, make_tracker, write, plot_dir):
    seqs = [
        Seq("a", np.array([GT, GT, GT], dtype=np.float64)),
        Seq("b", np.array([GT, GT, GT, GT], dtype=np.float64), np.array([1, 1, 1, 0], dtype=bool)),
    ]
    good, bad = make_tracker("good"), make_tracker("bad", run_id=3)
    write(good, "a", [GT, GT, SHIFT])
    write(good, "b", [GT, GT, GT, GT], delimiter=",")
    write(bad, "a", [GT, FAR, FAR])
    write(bad, "b", [GT, FAR, SHIFT, GT])
    return seqs, [good, bad]


def test_values_and_original_keys(setup, plot_dir):
    seqs, trackers = setup
    data = er.extract_results(trackers, seqs, "rep")
    for key in (
        "sequences",
        "trackers",
        "valid_sequence",
        "ave_success_rate_plot_overlap",
        "ave_success_rate_plot_center",
        "ave_success_rate_plot_center_norm",
        "avg_overlap_all",
        "threshold_set_overlap",
        "threshold_set_center",
        "threshold_set_center_norm",
    ):
        assert key in data
    assert data["sequences"] == ["a", "b"]
    assert data["trackers"][1] == {"name": "bad", "param": "default", "run_id": 3, "disp_name": None}
    assert data["valid_sequence"] == [True, True] and data["protocol"] == "pytracking"
    succ = np.array(data["ave_success_rate_plot_overlap"])
    assert succ.shape == (2, 2, 21)
    # good/a: overlaps 1, 1, 1/3 -> at t=0.5 2 of 3; good/b: 1, 1, 1, -1 (absent) -> 3 of 4
    assert succ[0, 0, 10] == 2 / 3 and succ[1, 0, 10] == 3 / 4
    # bad/b: 1, 0, 1/3, -1 -> t=0.3: 2 of 4, t=0.35: 1 of 4
    assert succ[1, 1, 6] == 2 / 4 and succ[1, 1, 7] == 1 / 4
    np.testing.assert_allclose(data["avg_overlap_all"], [[7 / 9, 1 / 3], [1.0, 4 / 9]], rtol=0, atol=1e-15)
    assert data["num_frames"] == [[3, 3], [4, 4]]
    prec = np.array(data["ave_success_rate_plot_center"])
    assert prec[1, 1, 20] == 2 / 4  # frame 1 far (35*sqrt 2), frame 3 absent -> inf
    saved = pickle.loads((plot_dir / "rep" / "eval_data.pkl").read_bytes())
    assert saved["avg_overlap_all"] == data["avg_overlap_all"]
    assert [p.name for p in (plot_dir / "rep").iterdir()] == ["eval_data.pkl"]  # no temp file left behind


def test_exclude_invalid_frames(setup):
    seqs, trackers = setup
    data = er.extract_results(trackers, seqs, "rep", exclude_invalid_frames=True)
    assert data["num_frames"] == [[3, 3], [3, 3]]
    assert np.array(data["ave_success_rate_plot_overlap"])[1, 0, 10] == 1.0


def test_missing_results(setup, make_tracker, write):
    seqs, trackers = setup
    partial = make_tracker("partial")
    write(partial, "b", [GT, GT, GT, GT])
    with pytest.raises(FileNotFoundError, match=r"partial[/\\]a\.txt"):
        er.extract_results([*trackers, partial], seqs, "rep")
    data = er.extract_results([*trackers, partial], seqs, "rep", skip_missing_seq=True)
    assert data["valid_sequence"] == [False, True]
    scores = compute_scores(data, ("success",))
    assert scores["OP50"][0] == 75.0  # only sequence b counts


def test_invalid_result_file_is_named(setup, make_tracker, write):
    seqs, _ = setup
    nan = make_tracker("nan")
    write(nan, "a", [GT, [np.nan, 1, 1, 1], GT])
    write(nan, "b", [GT, GT, GT, GT])
    with pytest.raises(ValueError, match=r"invalid tracking results.*nan[/\\]a\.txt"):
        er.extract_results([nan], seqs, "rep")
    five = make_tracker("five")
    er.result_file(five, seqs[0]).parent.mkdir(parents=True)
    er.result_file(five, seqs[0]).write_text("1\t2\t3\t4\t5\n")
    with pytest.raises(ValueError, match="expected 4 columns"):
        er.load_tracker_result(er.result_file(five, seqs[0]))


def test_dataset_options_by_tag(Seq, make_tracker, write, plot_dir):
    gt = np.array([GT, [np.nan] * 4, GT], dtype=np.float64)
    trk = make_tracker("t")
    write(trk, "u", [GT, GT, FAR])
    with pytest.raises(ValueError, match="NaN values in the ground truth"):
        er.extract_results([trk], [Seq("u", gt, dataset="otb")], "rep")
    data = er.extract_results([trk], [Seq("u", gt, dataset="uav")], "rep")
    # UAV: the NaN frame is an overlap failure but a precision success (centre error -1)
    assert np.array(data["ave_success_rate_plot_overlap"])[0, 0, 0] == 1 / 3
    assert np.array(data["ave_success_rate_plot_center"])[0, 0, 20] == 2 / 3
    data = er.extract_results(
        [trk], [Seq("u", gt, dataset="otb")], "rep", dataset_options={"otb": {"allow_nan_gt": True}}
    )
    assert np.array(data["ave_success_rate_plot_center"])[0, 0, 20] == 1 / 3


def test_got10k_protocol_pools_frames(Seq, make_tracker, write, plot_dir):
    seqs = [Seq("a", np.array([GT] * 3)), Seq("b", np.array([GT] * 5), np.array([1, 1, 1, 1, 0], dtype=bool))]
    trk = make_tracker("t")
    write(trk, "a", [FAR, GT, GT])  # kept frames 1, 2: IoU 1, 1
    write(trk, "b", [GT, FAR, FAR, GT, GT])  # kept frames 1..3: IoU 0, 0, 1 (frame 4 absent)
    data = er.extract_results([trk], seqs, "g", protocol="got10k")
    assert data["num_frames"] == [[2], [3]]
    scores = compute_scores(data, ("success",))
    assert list(scores) == ["AO", "SR0.50", "SR0.75"]
    # pooled: 3 of 5 frames have IoU 1 -> AO 60 (the per-sequence mean would be (1 + 1/3) / 2)
    assert scores["AO"][0] == pytest.approx(60.0, abs=1e-12)
    assert scores["SR0.50"][0] == pytest.approx(60.0, abs=1e-12)
    assert scores["SR0.75"][0] == pytest.approx(60.0, abs=1e-12)


def test_cache_hit_and_invalidation(setup, make_tracker, write, monkeypatch):
    seqs, trackers = setup
    calls = []
    real = er.extract_results

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(er, "extract_results", counting)
    first = er.load_or_extract_results(trackers, seqs, "rep")
    assert er.load_or_extract_results(trackers, seqs, "rep") == first and len(calls) == 1

    write(trackers[0], "a", [GT, GT, GT])  # changed content, size and mtime
    changed = er.load_or_extract_results(trackers, seqs, "rep")
    assert len(calls) == 2 and changed["avg_overlap_all"][0][0] == 1.0

    path = er.result_file(trackers[0], seqs[0])
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, newer mtime
    er.load_or_extract_results(trackers, seqs, "rep")
    assert len(calls) == 3

    er.load_or_extract_results(trackers[:1], seqs, "rep")  # different tracker list
    er.load_or_extract_results(trackers[:1], seqs[:1], "rep")  # different sequences
    er.load_or_extract_results(trackers[:1], seqs[:1], "rep", plot_bin_gap=0.01)  # different options
    assert len(calls) == 6
    seqs[0].ground_truth_rect[2, 0] += 1.0  # ground truth edited
    er.load_or_extract_results(trackers[:1], seqs[:1], "rep", plot_bin_gap=0.01)
    er.load_or_extract_results(trackers[:1], seqs[:1], "rep", plot_bin_gap=0.01)
    assert len(calls) == 7
    er.load_or_extract_results(trackers[:1], seqs[:1], "rep", plot_bin_gap=0.01, force_evaluation=True)
    assert len(calls) == 8


def test_corrupt_cache_is_recomputed(setup, plot_dir):
    seqs, trackers = setup
    (plot_dir / "rep").mkdir(parents=True)
    (plot_dir / "rep" / "eval_data.pkl").write_bytes(b"not a pickle")
    assert er.load_eval_data("rep") is None
    assert er.load_or_extract_results(trackers, seqs, "rep")["sequences"] == ["a", "b"]


def test_sequential_and_threaded_reading_agree(Seq, make_tracker, write, plot_dir):
    rng = np.random.default_rng(0)
    seqs = [Seq(f"s{i}", np.abs(rng.normal(50, 10, (30, 4))) + 1) for i in range(20)]
    trk = make_tracker("t")
    for s in seqs:
        write(trk, s.name, np.abs(rng.normal(50, 10, (30, 4))))
    a = er.extract_results([trk], seqs, "r1", num_workers=1)
    b = er.extract_results([trk], seqs, "r2", num_workers=4)
    assert a["ave_success_rate_plot_overlap"] == b["ave_success_rate_plot_overlap"]
    assert a["fingerprint"] == b["fingerprint"]


def test_got10k_clips_to_image_size_when_the_sequence_has_one(Seq, make_tracker, write, plot_dir):
    seq = Seq("c", np.array([[0.0, 0.0, 10.0, 10.0]] * 2))
    trk = make_tracker("t")
    write(trk, "c", [[0, 0, 10, 10], [-5, 0, 10, 10]])
    assert er.extract_results([trk], [seq], "g", protocol="got10k")["avg_overlap_all"] == [[50.0 / 150.0]]
    seq.image_size = (20, 20)  # the toolkit moves x to 0 and keeps w = 10: full overlap
    assert er.load_or_extract_results([trk], [seq], "g", protocol="got10k")["avg_overlap_all"] == [[1.0]]
