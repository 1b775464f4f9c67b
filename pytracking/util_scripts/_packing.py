"""Shared pieces of the result packers: loading and validating result files, writing a zip atomically."""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pytracking.evaluation.environment import EnvSettings, env_settings, local_file_path
from pytracking.utils.load_text import load_text

__all__ = [
    "PackingError",
    "ProblemList",
    "sequence_list",
    "output_folder",
    "load_column",
    "load_boxes",
    "table_text",
    "write_zip",
]

_MAX_LISTED = 10


class PackingError(ValueError):
    """The results cannot be packed: missing, incomplete or malformed result files, or a wrong dataset."""


class ProblemList:
    """Collects validation problems by kind so that one error reports everything that is wrong."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.kinds: dict[str, list[str]] = {}

    def add(self, kind: str, item: str) -> None:
        self.kinds.setdefault(kind, []).append(item)

    def raise_if_any(self) -> None:
        if not self.kinds:
            return
        lines = [f"Cannot pack {self.what}:"]
        for kind, items in self.kinds.items():
            lines.append(f"  {kind} ({len(items)}):")
            lines.extend(f"    {item}" for item in items[:_MAX_LISTED])
            if len(items) > _MAX_LISTED:
                lines.append(f"    ... and {len(items) - _MAX_LISTED} more")
        raise PackingError("\n".join(lines))


def sequence_list(dataset: Any, default_name: str, expected: int | None, benchmark: str) -> list:
    """The sequences to pack (``default_name`` from the registry when ``dataset`` is ``None``), count-checked."""
    if dataset is None:
        from pytracking.evaluation.datasets import load_dataset

        dataset = load_dataset(default_name)
    elif hasattr(dataset, "get_sequence_list"):
        dataset = dataset.get_sequence_list()
    seqs = list(dataset)
    if expected is not None and len(seqs) != expected:
        raise PackingError(
            f"Cannot pack {benchmark} results: the dataset has {len(seqs)} sequences but the {benchmark} test set has "
            f"{expected}; pass the full test set (or expected_num_sequences=None to pack a subset)"
        )
    names = [s.name for s in seqs]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise PackingError(f"Cannot pack {benchmark} results: duplicate sequence names {dupes[:_MAX_LISTED]}")
    return seqs


def output_folder(explicit: str | os.PathLike | None, attr: str, env: EnvSettings | None) -> Path:
    """``explicit``, else the ``attr`` setting; PackingError naming the setting when neither is set."""
    if explicit is not None:
        return Path(explicit)
    value = getattr(env_settings() if env is None else env, attr)
    if not value:
        raise PackingError(
            f"No output folder: pass output_dir, or set `{attr}` in {local_file_path()} or the environment variable "
            f"{EnvSettings.env_var(attr)}"
        )
    return Path(value)


def _load(path: Path, problems: ProblemList, delimiter: Iterable) -> np.ndarray | None:
    if not path.is_file():
        problems.add("missing result files", os.fspath(path))
        return None
    try:
        return load_text(path, delimiter=tuple(delimiter), dtype=np.float64)
    except ValueError as e:
        problems.add("unreadable result files", str(e))
        return None


def load_boxes(path: Path, num_frames: int, problems: ProblemList) -> np.ndarray | None:
    """(N, 4) boxes of a result file, or ``None`` after recording what is wrong (missing, shape, non-finite)."""
    boxes = _load(path, problems, ("\t", ","))
    if boxes is None:
        return None
    if boxes.shape[1] != 4:
        problems.add("wrong column count (expected 4: x, y, w, h)", f"{os.fspath(path)}: {boxes.shape[1]} columns")
        return None
    if len(boxes) != num_frames:
        problems.add(
            "wrong row count (must equal the sequence length)",
            f"{os.fspath(path)}: {len(boxes)} rows, sequence has {num_frames} frames",
        )
        return None
    if not np.isfinite(boxes).all():
        problems.add("non-finite values", os.fspath(path))
        return None
    return boxes


def load_column(path: Path, num_frames: int, problems: ProblemList) -> np.ndarray | None:
    """(N,) values of a one-column file (e.g. ``_time.txt``), or ``None`` after recording what is wrong."""
    values = _load(path, problems, (None,))
    if values is None:
        return None
    if values.shape[1] != 1 or len(values) != num_frames:
        problems.add(
            "wrong row count (must equal the sequence length)",
            f"{os.fspath(path)}: shape {values.shape}, sequence has {num_frames} frames",
        )
        return None
    return values[:, 0]


def table_text(values: np.ndarray, fmt: str, delimiter: str = ",") -> str:
    """Rows of ``values`` formatted with ``fmt`` and joined by ``delimiter``, one line each."""
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt=fmt, delimiter=delimiter)
    return buffer.getvalue()


def write_zip(path: Path, entries: dict[str, str]) -> Path:
    """Write a zip of ``{archive name: text}`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, text in entries.items():
                zf.writestr(name, text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
