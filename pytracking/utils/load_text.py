"""Load numeric text tables: ground-truth annotations and tracking results.

The files in the wild use commas, tabs or runs of spaces, Windows line ends, trailing delimiters, blank lines
and ``NaN`` entries; :func:`load_text` accepts all of these and rejects anything else with an error naming the
file, the line and the offending text.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["load_text"]

PathLike = str | os.PathLike
Delimiter = str | None

_NAN_TOKENS = ["nan", "NaN", "NAN", "-nan", "+nan", "-NaN", "+NaN"]


def _describe(delimiter: Delimiter) -> str:
    return "whitespace" if delimiter is None else repr(delimiter)


def _clean(text: str, delimiter: Delimiter) -> str:
    """Drop blank lines and trailing delimiters so that the C parsers see a plain rectangular table."""
    text = re.sub(r"^[ \t\f\v]*\n", "", text.rstrip(), flags=re.M)
    if delimiter is not None and delimiter.strip():
        text = re.sub(rf"(?:[ \t]*{re.escape(delimiter)})+[ \t]*$", "", text, flags=re.M)
    elif delimiter is not None:
        # A whitespace delimiter such as '\t': only surplus copies at the line end need to go.
        text = re.sub(rf"{re.escape(delimiter)}+$", "", text, flags=re.M)
    return text


def _parse_numpy(text: str, delimiter: Delimiter, dtype: np.dtype) -> np.ndarray:
    return np.loadtxt(io.StringIO(text), delimiter=delimiter, dtype=dtype, ndmin=2, comments=None)


def _parse_pandas(text: str, delimiter: Delimiter, dtype: np.dtype) -> np.ndarray:
    import pandas as pd  # optional dependency, only needed for this backend

    frame = pd.read_csv(
        io.StringIO(text),
        sep=r"\s+" if delimiter is None else delimiter,
        header=None,
        dtype=dtype,
        keep_default_na=False,  # '' must stay an error (a short row), not silently become NaN
        na_values=_NAN_TOKENS,
        engine="c",
    )
    return frame.to_numpy(dtype=dtype)


_PARSERS = {"numpy": _parse_numpy, "pandas": _parse_pandas}


def _split(line: str, delimiter: Delimiter) -> list[str]:
    line = line.strip()
    if delimiter is None:
        return line.split()
    if delimiter.strip():
        line = re.sub(rf"(?:\s*{re.escape(delimiter)})+\s*$", "", line)
    return [tok.strip() for tok in line.split(delimiter)]


def _converter(dtype: np.dtype):
    if dtype.kind in "iu":
        return int
    if dtype.kind in "fc":
        return float

    def convert(tok: str):
        return np.array(tok).astype(dtype)

    return convert


def _bad_token(tokens: Sequence[str], convert) -> str | None:
    for tok in tokens:
        try:
            convert(tok)
        except (ValueError, OverflowError):
            return tok
    return None


def _diagnose(path: PathLike, text: str, delimiters: Sequence[Delimiter], dtype: np.dtype, last_error: str):
    """Build the error for a table none of the delimiters could parse (slow path: a Python loop per value)."""
    name = os.fspath(path)
    rows = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:
        return ValueError(f"'{name}': no numeric data (the file is empty or blank)")
    convert = _converter(dtype)
    first_number, first_line = rows[0]
    usable = [d for d in delimiters if _bad_token(_split(first_line, d), convert) is None]
    if not usable:
        choices = " or ".join(_describe(d) for d in delimiters)
        return ValueError(
            f"'{name}', line {first_number}: cannot read {first_line.strip()!r} as numbers separated by {choices}"
        )
    delimiter = usable[0]
    n_cols = len(_split(first_line, delimiter))
    for number, line in rows[1:]:
        tokens = _split(line, delimiter)
        if len(tokens) != n_cols:
            return ValueError(
                f"'{name}', line {number}: {len(tokens)} values where line {first_number} has {n_cols} "
                f"(delimiter {_describe(delimiter)}): {line.strip()!r}"
            )
        bad = _bad_token(tokens, convert)
        if bad is not None:
            return ValueError(f"'{name}', line {number}: {bad!r} is not a number: {line.strip()!r}")
    choices = ", ".join(_describe(d) for d in delimiters)
    return ValueError(f"'{name}': could not parse as a numeric table (delimiters tried: {choices}): {last_error}")


def load_text(
    path: PathLike,
    delimiter: Delimiter | Sequence[Delimiter] = (",", None),
    dtype: DTypeLike = np.float64,
    backend: str = "numpy",
) -> np.ndarray:
    """Load a numeric text table such as ``groundtruth_rect.txt`` or a tracker's result file.

    Each delimiter is tried in order until one parses the whole file. Accepted: CRLF/CR line ends, a UTF-8 BOM,
    blank lines, trailing delimiters, spaces around values and ``NaN``/``nan`` entries.

    Args:
        path: text file.
        delimiter: a delimiter, or a sequence tried in order; ``None`` means any run of whitespace (tabs too).
        dtype: element type of the result.
        backend: ``'numpy'`` (``np.loadtxt``) or ``'pandas'`` (``pandas.read_csv``); both use C parsers.

    Returns:
        Array of shape (rows, columns); a single row gives shape (1, N), a single column (N, 1).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, ragged or holds a non-numeric value; the message names the line number and
            the offending text. Also for an unknown ``backend``.
    """
    if backend not in _PARSERS:
        raise ValueError(f"load_text: unknown backend {backend!r}; choose one of {sorted(_PARSERS)}")
    delimiters: tuple[Delimiter, ...] = (
        (delimiter,) if delimiter is None or isinstance(delimiter, str) else tuple(delimiter)
    )
    if not delimiters:
        raise ValueError("load_text: at least one delimiter is needed")
    dtype = np.dtype(dtype)
    # errors='replace' turns stray bytes into U+FFFD, which then fails as a non-numeric token with a line number.
    text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")

    if not text.strip():
        raise ValueError(f"'{os.fspath(path)}': no numeric data (the file is empty or blank)")

    parse = _PARSERS[backend]
    last_error = ""
    # Fast path: most files are clean tables and parse as they are; the regex clean-up (blank lines, trailing
    # delimiters) costs about as much as parsing, so it runs only once every delimiter has failed on the raw text.
    for d in delimiters:
        try:
            return parse(text, d, dtype)
        except ValueError as e:
            last_error = str(e)
    for d in delimiters:
        cleaned = _clean(text, d)
        if cleaned == text:
            continue
        try:
            return parse(cleaned, d, dtype)
        except ValueError as e:
            last_error = str(e)
    raise _diagnose(path, text, delimiters, dtype, last_error)
