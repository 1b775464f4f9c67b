"""Score tables, run merging, plots and playback rendering on a hand-computed two-tracker report."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pytracking.analysis import plot_results as pr
from pytracking.analysis.playback_results import draw_box, load_sequence_results, render_frames

GT = [10.0, 10.0, 20.0, 20.0]
FAR = [50.0, 50.0, 10.0, 10.0]
SHORT = [10.0, 10.0, 20.0, 16.0]  # IoU 320/400 = 0.8 with GT, centre 2 px above


@pytest.fixture
def report(Seq, make_tracker, write, plot_dir):
    """good: overlaps (1, 0.8) on s; bad: (1, 0) on s; both perfect on t."""
    seqs = [Seq("s", np.array([GT, GT])), Seq("t", np.array([GT, GT]))]
    good, bad = make_tracker("g", display_name="good"), make_tracker("b", display_name="bad")
    write(good, "s", [GT, SHORT])
    write(bad, "s", [GT, FAR])
    for trk in (good, bad):
        write(trk, "t", [GT, GT])
    return seqs, [good, bad]


def test_print_results_exact_table(report, capsys):
    seqs, trackers = report
    text = pr.print_results(trackers, seqs[:1], "rep", plot_types=("success", "prec", "norm_prec"))
    # good: AUC (20 + 16) / 42; bad: AUC 20 / 42, half of the frames fail every other measure
    expected = (
        "Reporting results over 1 / 1 sequences (protocol: pytracking)\n"
        "rep         AUC     OP50     OP75  Precision  Norm Precision\n"
        "good      85.71   100.00   100.00     100.00          100.00\n"
        "bad       47.62    50.00    50.00      50.00           50.00\n"
    )
    assert text == expected
    assert capsys.readouterr().out == expected


def test_print_results_got10k_names_its_columns(report, capsys):
    seqs, trackers = report
    text = pr.print_results(trackers, seqs, "rep_got", protocol="got10k")
    lines = text.splitlines()
    assert lines[0] == "Reporting results over 2 / 2 sequences (protocol: got10k)"
    assert lines[1].split() == ["rep_got", "AO", "SR0.50", "SR0.75"]
    # got10k keeps frame 1 only: good 0.8 and 1 -> AO 90; bad 0 and 1 -> AO 50
    assert lines[2].split() == ["good", "90.00", "100.00", "100.00"]
    assert lines[3].split() == ["bad", "50.00", "50.00", "50.00"]


def test_display_names_and_merge_runs(Seq, make_tracker, write, plot_dir):
    assert pr.get_tracker_display_name({"name": "dimp", "param": "dimp50", "run_id": 3, "disp_name": None}) == (
        "dimp_dimp50_003"
    )
    assert pr.get_tracker_display_name({"name": "dimp", "param": "dimp50", "run_id": None, "disp_name": None}) == (
        "dimp_dimp50"
    )
    assert pr.get_tracker_display_name({"name": "x", "param": "y", "run_id": 1, "disp_name": "DiMP"}) == "DiMP"
    seqs = [Seq("s", np.array([GT, GT]))]
    runs = [make_tracker("dimp", run_id=i) for i in range(2)]
    other = make_tracker("atom")
    write(runs[0], "s", [GT, GT])
    write(runs[1], "s", [GT, FAR])
    write(other, "s", [GT, SHORT])
    text = pr.print_results([*runs, other], seqs, "merged", merge_results=True)
    lines = text.splitlines()
    # runs average: AUC ((20 + 20) / 42 + (20 + 0) / 42) / 2 = 30 / 42 -> 71.43; OP50 (100 + 50) / 2
    assert lines[2].split() == ["dimp_default", "71.43", "75.00", "75.00"]
    assert lines[3].split() == ["atom_default", "85.71", "100.00", "100.00"]
    unmerged = pr.print_results([*runs, other], seqs, "merged").splitlines()
    assert [line.split()[0] for line in unmerged[2:]] == ["dimp_default_000", "dimp_default_001", "atom_default"]


def test_per_sequence_filters(report):
    seqs, trackers = report
    # per-sequence AO: s -> good 90, bad 50; t -> 100, 100
    text = pr.print_per_sequence_results(trackers, seqs, "rep")
    assert [line.split() for line in text.splitlines()[2:]] == [["s", "90.00", "50.00"], ["t", "100.00", "100.00"]]

    def rows(mode, threshold):
        criteria = {"mode": mode, "threshold": threshold}
        out = pr.print_per_sequence_results(trackers, seqs, "rep", filter_criteria=criteria)
        return [line.split()[0] for line in out.splitlines()[2:]]

    assert rows("ao_min", 60) == ["t"]
    assert rows("ao_max", 95) == ["s"]
    assert rows("delta_ao", 10) == ["s"]
    with pytest.raises(ValueError, match="unknown filter mode"):
        rows("median", 1)


def test_results_per_attribute(report):
    seqs, trackers = report
    text = pr.print_results_per_attribute(trackers, seqs, "rep", {"hard": ["s"], "easy": ["t", "missing"]})
    lines = text.splitlines()
    assert lines[0] == "AUC per attribute (protocol: pytracking)"
    assert "All (2)" in lines[1] and "hard (1)" in lines[1] and "easy (1)" in lines[1]
    # good: s 36/42, t 40/42, all 76/84; bad: s 20/42, t 40/42, all 60/84
    assert lines[2].split() == ["good", "90.48", "85.71", "95.24"]
    assert lines[3].split() == ["bad", "71.43", "47.62", "95.24"]
    # Sequence objects (what get_dataset_attributes returns) select the same sequences as their names.
    by_object = pr.print_results_per_attribute(trackers, seqs, "rep", {"hard": [seqs[0]], "easy": [seqs[1]]})
    assert by_object.splitlines()[2:] == lines[2:]


def test_plots_written(report, plot_dir):
    seqs, trackers = report
    out = pr.plot_results(trackers, seqs[:1], "rep", plot_types=("success", "prec", "norm_prec"))
    assert set(out) == {"success", "prec", "norm_prec"}
    for plot_type in out:
        pdf, png = plot_dir / "rep" / f"{plot_type}_plot.pdf", plot_dir / "rep" / f"{plot_type}_plot.png"
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    legend = [t.get_text() for t in out["success"]["figure"].axes[0].get_legend().get_texts()]
    assert legend == ["good [85.7]", "bad [47.6]"]  # ordered by score
    out = pr.plot_results(trackers[::-1], seqs[:1], "rep2", plot_opts={"formats": ("png",), "title": "T"})
    assert [p.name for p in out["success"]["files"]] == ["success_plot.png"]
    assert out["success"]["figure"].axes[0].get_title() == "T"
    with pytest.raises(ValueError, match="unknown plot type"):
        pr.plot_results(trackers, seqs[:1], "rep", plot_types=("eao",))


def test_importing_the_analysis_does_not_import_matplotlib():
    code = (
        "import sys, pytracking.analysis.plot_results, pytracking.analysis.playback_results;"
        "sys.exit('matplotlib' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_draw_box_and_render_frames(report):
    seqs, trackers = report
    img = np.zeros((10, 10, 3), dtype=np.uint8)
    draw_box(img, [2, 2, 4, 4], (255, 0, 0), thickness=1)
    red = img[:, :, 0] == 255
    expected = np.zeros((10, 10), dtype=bool)
    expected[2, 2:6] = expected[5, 2:6] = expected[2:6, 2] = expected[2:6, 5] = True
    np.testing.assert_array_equal(red, expected)
    draw_box(img, [np.nan, 0, 3, 3], (0, 0, 255))  # ignored
    draw_box(img, [-5, -5, 3, 3], (0, 0, 255))  # entirely outside
    assert img[:, :, 2].max() == 0
    clipped = np.zeros((10, 10, 3), dtype=np.uint8)
    draw_box(clipped, [-2, 3, 6, 4], (0, 255, 0), thickness=1)  # columns -2..3: the left side is outside
    expected = np.zeros((10, 10), dtype=bool)
    expected[3, 0:4] = expected[6, 0:4] = expected[3:7, 3] = True
    np.testing.assert_array_equal(clipped[:, :, 1] == 255, expected)

    seq = seqs[0]
    seq.frames = [np.full((40, 40, 3), 7, dtype=np.uint8), np.full((40, 40, 3), 7, dtype=np.uint8)]
    boxes = load_sequence_results(trackers, seq)
    assert list(boxes) == ["good", "bad"]
    frames = render_frames(seq, boxes, frame_ids=[1], colors={"good": (0, 0, 255), "bad": (255, 0, 255)})
    assert len(frames) == 1 and frames[0].shape == (40, 40, 3) and frames[0].dtype == np.uint8
    f = frames[0]
    assert tuple(f[10, 15]) == (0, 0, 255)  # top edge: GT drawn first, then good's box over it
    assert tuple(f[25, 15]) == (0, 0, 255)  # good's bottom edge at row 10 + 16 - 1
    assert tuple(f[29, 15]) == (0, 255, 0)  # GT's bottom edge at row 29
    assert not (f == (255, 0, 255)).all(axis=-1).any()  # bad's box at (50, 50) lies outside the 40x40 frame
    assert tuple(f[20, 20]) == (7, 7, 7)
    assert (seq.frames[1] == 7).all()  # sources untouched
