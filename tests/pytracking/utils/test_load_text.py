from pathlib import Path

import numpy as np
import pytest

from pytracking.utils.load_text import load_text

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"

BACKENDS = ["numpy", "pandas"]


def _write(tmp_path: Path, text: str, name: str = "anno.txt", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def _real(*parts: str) -> Path:
    path = REAL.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "text",
    [
        "1,2,3,4\n5,6,7,8\n",  # comma
        "1\t2\t3\t4\n5\t6\t7\t8\n",  # tab
        "1 2  3   4\n 5 6 7 8  \n",  # runs of spaces
        "1\t 2 3\t4\n5 6\t7 8",  # mixed whitespace, no final newline
        "1, 2 ,3,4,\n\n5,6,7,8,\n\n\n",  # spaces around values, trailing commas, blank lines
        "\ufeff1,2,3,4\n5,6,7,8\n",  # UTF-8 byte-order mark
    ],
    ids=["comma", "tab", "spaces", "mixed-ws", "trailing", "bom"],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_formats(tmp_path, text, newline, backend):
    out = load_text(_write(tmp_path, text, newline=newline), backend=backend)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1, 2, 3, 4], [5, 6, 7, 8]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_rows(tmp_path, backend):
    path = _write(tmp_path, "1,2,3,4\nNaN,NaN,NaN,NaN\nnan,nan,nan,nan\n5.5,-6e2,7,8\n")
    out = load_text(path, backend=backend)
    assert out.shape == (4, 4)
    assert np.isnan(out[1:3]).all()
    np.testing.assert_array_equal(out[[0, 3]], [[1, 2, 3, 4], [5.5, -600, 7, 8]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_row_and_single_column(tmp_path, backend):
    np.testing.assert_array_equal(load_text(_write(tmp_path, "1,2,3,4\n"), backend=backend), [[1, 2, 3, 4]])
    assert load_text(_write(tmp_path, "7\t8\t9", name="row.txt"), backend=backend).shape == (1, 3)
    col = load_text(_write(tmp_path, "1\n2\n3\n", name="col.txt"), backend=backend)
    np.testing.assert_array_equal(col, [[1], [2], [3]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_explicit_delimiter_and_dtype(tmp_path, backend):
    path = _write(tmp_path, "1;2\n3;4\n")
    out = load_text(path, delimiter=";", dtype=np.int64, backend=backend)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[1, 2], [3, 4]])
    # The original's result loading order: tab first, then comma.
    np.testing.assert_array_equal(
        load_text(_write(tmp_path, "1,2\n3,4\n", name="c.txt"), delimiter=("\t", ","), backend=backend),
        [[1, 2], [3, 4]],
    )
    with pytest.raises(ValueError, match="line 1"):
        load_text(path, delimiter=",", backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ragged_row_names_line(tmp_path, backend):
    path = _write(tmp_path, "1,2,3,4\n\n5,6,7,8\n9,10,11\n12,13,14,15\n", newline="\r\n")
    with pytest.raises(ValueError) as info:
        load_text(path, backend=backend)
    msg = str(info.value)
    # Line numbers count every physical line, blank ones included.
    assert "line 4" in msg and "'9,10,11'" in msg and str(path) in msg and "3 values" in msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_numeric_token_names_line(tmp_path, backend):
    path = _write(tmp_path, "1 2 3 4\n5 6 seven 8\n")
    with pytest.raises(ValueError) as info:
        load_text(path, backend=backend)
    msg = str(info.value)
    assert "line 2" in msg and "'seven'" in msg and str(path) in msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_header_line_is_rejected(tmp_path, backend):
    path = _write(tmp_path, "x,y,w,h\n1,2,3,4\n")
    with pytest.raises(ValueError, match=r"line 1: cannot read 'x,y,w,h'"):
        load_text(path, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_dtype_rejects_fractions(tmp_path, backend):
    path = _write(tmp_path, "1,2\n3,4.5\n")
    with pytest.raises(ValueError, match=r"line 2: '4.5' is not a number"):
        load_text(path, dtype=np.int64, backend=backend)


@pytest.mark.parametrize("text", ["", "\n \n\t\n"], ids=["empty", "blank"])
def test_empty_file(tmp_path, text):
    with pytest.raises(ValueError, match="no numeric data"):
        load_text(_write(tmp_path, text))


def test_missing_file_and_bad_arguments(tmp_path):
    missing = tmp_path / "seq" / "groundtruth_rect.txt"
    with pytest.raises(FileNotFoundError, match="groundtruth_rect.txt"):
        load_text(missing)
    path = _write(tmp_path, "1,2\n")
    with pytest.raises(ValueError, match="backend"):
        load_text(path, backend="polars")
    with pytest.raises(ValueError, match="delimiter"):
        load_text(path, delimiter=())


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_otb_girl_tabs_crlf(backend):
    path = _real("OTB", "Girl", "groundtruth_rect.txt")
    assert b"\t" in path.read_bytes()[:20] and b"\r\n" in path.read_bytes()[:20]
    gt = load_text(path, backend=backend)
    assert gt.shape == (500, 4)
    np.testing.assert_array_equal(gt[0], [57, 21, 31, 45])
    np.testing.assert_array_equal(gt[-1], [51, 26, 36, 43])


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_comma_files(backend):
    crossing = load_text(_real("OTB", "Crossing", "groundtruth_rect.txt"), backend=backend)
    assert crossing.shape == (120, 4)
    np.testing.assert_array_equal(crossing[0], [205, 151, 17, 50])
    np.testing.assert_array_equal(crossing[-1], [56, 93, 14, 36])
    vot = load_text(_real("VOT", "bag", "groundtruth.txt"), backend=backend)
    assert vot.shape == (196, 8)
    np.testing.assert_array_equal(vot[0], [334.02, 128.36, 438.19, 188.78, 396.39, 260.83, 292.23, 200.41])


def test_backends_agree_on_random_table(tmp_path):
    rng = np.random.default_rng(0)
    table = np.round(rng.uniform(-1000, 1000, size=(300, 4)), 3)
    table[rng.integers(0, 300, 10), :] = np.nan
    path = tmp_path / "results.txt"
    np.savetxt(path, table, delimiter="\t", fmt="%.3f")
    a = load_text(path, delimiter=("\t", ","), backend="numpy")
    b = load_text(path, delimiter=("\t", ","), backend="pandas")
    np.testing.assert_array_equal(a, table)
    np.testing.assert_array_equal(b, table)
