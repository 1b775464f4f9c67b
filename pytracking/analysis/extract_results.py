"""Evaluate saved tracking results against a dataset's ground truth and cache the curves in ``eval_data.pkl``.

Result files are ``{tracker.results_dir}/{sequence.name}.txt`` with one ``x y w h`` row per frame, separated by
TAB or comma. The cache lives in ``{env_settings().result_plot_path}/{report_name}/eval_data.pkl`` and holds the
original's keys (lists, so older notebooks can read it) plus ``protocol``, ``options``, ``num_frames`` (the curve
denominator per sequence and tracker, used to pool frames under the got10k protocol) and ``fingerprint``.

Under the got10k protocol a sequence may carry ``image_size = (width, height)``; boxes are then clipped to it as
the GOT-10k toolkit does with its ``resolution`` metadata. Without it no clipping is done (frames are not opened
just to learn their size).

Cache validity (:func:`load_or_extract_results`): the stored fingerprint must equal a hash of the sequence
names, the tracker ids ``(name, parameter_name, run_id, display_name)``, the evaluation options (protocol, bin gap,
``exclude_invalid_frames``, ``skip_missing_seq``, per-dataset options), every sequence's ground truth, visibility
and ``image_size``, and every result file's ``(path, size, mtime_ns)`` (or its absence). Stat data instead of a
content hash keeps a cache hit at a few milliseconds; a file rewritten with identical size and timestamp (e.g.
restored with ``cp -p``) is not detected, use ``force_evaluation=True`` then.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pytracking.analysis import metrics
from pytracking.utils.load_text import load_text

__all__ = [
    "SequenceLike",
    "TrackerLike",
    "EVAL_DATA_FILE",
    "report_dir",
    "result_file",
    "load_tracker_result",
    "tracker_info",
    "extract_results",
    "load_eval_data",
    "load_or_extract_results",
    "eval_data_fingerprint",
]

EVAL_DATA_FILE = "eval_data.pkl"
_FORMAT_VERSION = 1


class SequenceLike(Protocol):
    """What the analysis needs from a sequence (``pytracking.evaluation.data.Sequence`` fits)."""

    name: str
    ground_truth_rect: np.ndarray  # (N, 4) float64 [x, y, w, h]
    target_visible: np.ndarray | None  # (N,) bool
    dataset: str


class TrackerLike(Protocol):
    """What the analysis needs from a tracker (``pytracking.evaluation.tracker.Tracker`` fits)."""

    name: str
    parameter_name: str
    run_id: int | None
    display_name: str | None
    results_dir: str


def report_dir(report_name: str) -> Path:
    """``{env_settings().result_plot_path}/{report_name}`` (not created)."""
    from pytracking.evaluation.environment import env_settings

    return Path(env_settings().result_plot_path) / report_name


def result_file(tracker: TrackerLike, seq: SequenceLike) -> Path:
    """Path of ``tracker``'s result file for ``seq``."""
    return Path(tracker.results_dir) / f"{seq.name}.txt"


def load_tracker_result(path: str | os.PathLike) -> np.ndarray:
    """Read a result file (TAB- or comma-separated ``x y w h`` rows) as an (N, 4) float64 array.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unparsable, or not four columns (the message names the file).
    """
    # The pandas C parser is about 3x faster than np.loadtxt on these small files (analysis cold-start time).
    boxes = load_text(path, delimiter=("\t", ","), dtype=np.float64, backend="pandas")
    if boxes.shape[1] != 4:
        raise ValueError(f"'{os.fspath(path)}': expected 4 columns [x, y, w, h], found {boxes.shape[1]}")
    return boxes


def tracker_info(tracker: TrackerLike) -> dict[str, Any]:
    """The original's tracker record: ``{'name', 'param', 'run_id', 'disp_name'}``."""
    return {
        "name": tracker.name,
        "param": tracker.parameter_name,
        "run_id": tracker.run_id,
        "disp_name": getattr(tracker, "display_name", None),
    }


def _sequence_options(seq: SequenceLike, protocol: str, dataset_options: Mapping[str, Mapping[str, Any]]):
    if protocol == "pytracking":
        return dict(dataset_options.get(getattr(seq, "dataset", ""), {}))
    bound = getattr(seq, "image_size", None)
    return {} if bound is None else {"bound": tuple(bound)}


def _check_protocol(protocol: str) -> None:
    if protocol not in metrics.PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {metrics.PROTOCOLS}")


def eval_data_fingerprint(
    trackers: Sequence[TrackerLike],
    dataset: Sequence[SequenceLike],
    options: Mapping[str, Any],
) -> str:
    """Hash of everything an ``eval_data.pkl`` depends on (see the module docstring).

    Args:
        trackers: the trackers.
        dataset: the sequences.
        options: the evaluation options (must be repr-stable: plain literals).

    Returns:
        Hex digest.
    """
    h = hashlib.blake2b(digest_size=20)
    h.update(repr(sorted(options.items())).encode())
    h.update(repr([tuple(tracker_info(t).values()) for t in trackers]).encode())
    for seq in dataset:
        h.update(seq.name.encode() + b"\0")
        h.update(np.ascontiguousarray(seq.ground_truth_rect, dtype=np.float64).tobytes())
        vis = getattr(seq, "target_visible", None)
        h.update(b"-" if vis is None else np.ascontiguousarray(vis, dtype=bool).tobytes())
        h.update(repr(getattr(seq, "image_size", None)).encode())
    for trk in trackers:
        for seq in dataset:
            path = result_file(trk, seq)
            try:
                st = os.stat(path)
                h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except FileNotFoundError:
                h.update(f"{path}\0missing\n".encode())
    return h.hexdigest()


def _atomic_pickle(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_all(paths: list[Path], num_workers: int | None) -> list[np.ndarray | BaseException]:
    """Read all result files; a failure is returned in place so the caller can decide (skip or raise)."""

    def load(path: Path) -> np.ndarray | BaseException:
        try:
            return load_tracker_result(path)
        except (OSError, ValueError) as e:
            return e

    # numpy's parser holds the GIL, so threads only pay off where opening files is slow (network file systems).
    workers = 1 if num_workers is None else num_workers
    if workers <= 1 or len(paths) < 16:
        return [load(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(load, paths, chunksize=16))


def extract_results(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    skip_missing_seq: bool = False,
    plot_bin_gap: float = 0.05,
    exclude_invalid_frames: bool = False,
    protocol: str = "pytracking",
    dataset_options: Mapping[str, Mapping[str, Any]] | None = None,
    num_workers: int | None = None,
) -> dict[str, Any]:
    """Compute per-sequence curves for every tracker and save them to ``eval_data.pkl`` (always recomputes).

    Args:
        trackers: K trackers (name, parameter_name, run_id, display_name, results_dir).
        dataset: S sequences (name, ground_truth_rect, target_visible, dataset).
        report_name: sub-directory of ``result_plot_path`` for the cache and plots.
        skip_missing_seq: a sequence lacking any tracker's result is marked invalid for all trackers instead of
            raising.
        plot_bin_gap: overlap threshold spacing.
        exclude_invalid_frames: curves divide by valid frames instead of all frames (pytracking protocol).
        protocol: ``'pytracking'`` or ``'got10k'`` (see :mod:`pytracking.analysis.metrics`).
        dataset_options: per ``Sequence.dataset`` tag, keyword options of
            :func:`~pytracking.analysis.metrics.pytracking_sequence_errors`; default
            :data:`~pytracking.analysis.metrics.DATASET_OPTIONS` (the original's UAV and LaSOT special cases).
        num_workers: threads reading result files; default sequential, which is fastest on local disks (parsing
            holds the GIL); 4-8 help on network file systems.

    Returns:
        The eval data dict: ``sequences``, ``trackers``, ``valid_sequence`` (S,), ``ave_success_rate_plot_overlap``
        (S, K, T), ``ave_success_rate_plot_center`` (S, K, 51), ``ave_success_rate_plot_center_norm`` (S, K, 51),
        ``avg_overlap_all`` (S, K), ``num_frames`` (S, K), the three ``threshold_set_*`` lists, ``protocol``,
        ``options`` and ``fingerprint``. Arrays are stored as nested lists, as in the original.

    Raises:
        FileNotFoundError: a result file is missing and ``skip_missing_seq`` is False.
        ValueError: a result file is unreadable or invalid (the message names it).
    """
    _check_protocol(protocol)
    trackers = list(trackers)
    dataset = list(dataset)
    dataset_options = metrics.DATASET_OPTIONS if dataset_options is None else dataset_options
    options = _options(plot_bin_gap, exclude_invalid_frames, skip_missing_seq, protocol, dataset_options)
    fingerprint = eval_data_fingerprint(trackers, dataset, options)

    thr_o = metrics.overlap_thresholds(plot_bin_gap)
    thr_c = metrics.center_thresholds()
    thr_n = metrics.norm_center_thresholds()
    n_seq, n_trk = len(dataset), len(trackers)
    succ = np.zeros((n_seq, n_trk, len(thr_o)))
    prec = np.zeros((n_seq, n_trk, len(thr_c)))
    prec_norm = np.zeros((n_seq, n_trk, len(thr_n)))
    avg_overlap = np.zeros((n_seq, n_trk))
    num_frames = np.zeros((n_seq, n_trk), dtype=np.int64)
    valid_sequence = np.ones(n_seq, dtype=bool)

    paths = [result_file(trk, seq) for seq in dataset for trk in trackers]
    loaded = _load_all(paths, num_workers)

    for s, seq in enumerate(dataset):
        row = loaded[s * n_trk : (s + 1) * n_trk]
        missing = [paths[s * n_trk + k] for k, r in enumerate(row) if isinstance(r, FileNotFoundError)]
        if missing:
            if skip_missing_seq:
                valid_sequence[s] = False
                continue
            raise FileNotFoundError(f"result not found: '{missing[0]}'")
        gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
        visible = getattr(seq, "target_visible", None)
        seq_opts = _sequence_options(seq, protocol, dataset_options)
        for k, pred in enumerate(row):
            if isinstance(pred, BaseException):
                raise pred
            err = metrics.sequence_errors(
                pred, gt, visible, protocol=protocol, options=seq_opts, source=os.fspath(paths[s * n_trk + k])
            )
            excl = exclude_invalid_frames and protocol == "pytracking"
            succ[s, k], prec[s, k], prec_norm[s, k], avg_overlap[s, k], num_frames[s, k] = metrics.sequence_curves(
                err, thr_o, thr_c, thr_n, excl
            )

    eval_data = {
        "sequences": [seq.name for seq in dataset],
        "trackers": [tracker_info(t) for t in trackers],
        "valid_sequence": valid_sequence.tolist(),
        "ave_success_rate_plot_overlap": succ.tolist(),
        "ave_success_rate_plot_center": prec.tolist(),
        "ave_success_rate_plot_center_norm": prec_norm.tolist(),
        "avg_overlap_all": avg_overlap.tolist(),
        "num_frames": num_frames.tolist(),
        "threshold_set_overlap": thr_o.tolist(),
        "threshold_set_center": thr_c.tolist(),
        "threshold_set_center_norm": thr_n.tolist(),
        "protocol": protocol,
        "options": options,
        "fingerprint": fingerprint,
        "format_version": _FORMAT_VERSION,
    }
    _atomic_pickle(eval_data, report_dir(report_name) / EVAL_DATA_FILE)
    return eval_data


def _options(
    plot_bin_gap: float,
    exclude_invalid_frames: bool,
    skip_missing_seq: bool,
    protocol: str,
    dataset_options: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    return {
        "plot_bin_gap": float(plot_bin_gap),
        "exclude_invalid_frames": bool(exclude_invalid_frames),
        "skip_missing_seq": bool(skip_missing_seq),
        "protocol": protocol,
        "dataset_options": {k: dict(sorted(v.items())) for k, v in sorted(dataset_options.items())},
    }


def load_eval_data(report_name: str) -> dict[str, Any] | None:
    """The cached eval data of ``report_name``, or None when there is none or it cannot be read.

    The file is a pickle written by :func:`extract_results`; load only reports you created yourself.
    """
    path = report_dir(report_name) / EVAL_DATA_FILE
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return data if isinstance(data, dict) else None


def load_or_extract_results(
    trackers: Sequence[TrackerLike],
    dataset: Iterable[SequenceLike],
    report_name: str,
    force_evaluation: bool = False,
    skip_missing_seq: bool = False,
    plot_bin_gap: float = 0.05,
    exclude_invalid_frames: bool = False,
    protocol: str = "pytracking",
    dataset_options: Mapping[str, Mapping[str, Any]] | None = None,
    num_workers: int | None = None,
) -> dict[str, Any]:
    """Return the cached eval data when its fingerprint matches the inputs, else run :func:`extract_results`.

    Args: as :func:`extract_results`, plus ``force_evaluation`` to ignore the cache.

    Returns:
        The eval data dict.
    """
    _check_protocol(protocol)
    trackers, dataset = list(trackers), list(dataset)
    kwargs = dict(
        skip_missing_seq=skip_missing_seq,
        plot_bin_gap=plot_bin_gap,
        exclude_invalid_frames=exclude_invalid_frames,
        protocol=protocol,
        dataset_options=dataset_options,
    )
    if not force_evaluation:
        cached = load_eval_data(report_name)
        if cached is not None and cached.get("format_version") == _FORMAT_VERSION:
            opts = metrics.DATASET_OPTIONS if dataset_options is None else dataset_options
            options = _options(plot_bin_gap, exclude_invalid_frames, skip_missing_seq, protocol, opts)
            if cached.get("fingerprint") == eval_data_fingerprint(trackers, dataset, options):
                return cached
    return extract_results(trackers, dataset, report_name, num_workers=num_workers, **kwargs)
