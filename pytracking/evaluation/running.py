"""Run trackers over datasets and write their result files; resumable, crash-safe, optionally in parallel.

Result files of a (tracker, sequence) pair, in ``tracker.results_dir`` unless noted:

* single object: ``{seq}.txt`` with one ``x<TAB>y<TAB>w<TAB>h`` row per frame, the boxes truncated to integers
  (``astype(int)``) and written ``%d``; ``{seq}_time.txt`` (seconds per frame, ``%f``) and, when the tracker
  reports it, ``{seq}_object_presence_scores.txt`` (``%f``);
* multi-object sequences (``seq.multiobj_mode``): the same three files per object, ``{seq}_{object_id}.txt`` etc.;
  an object that appears after frame 0 has rows from its first frame on;
* OxUvA (``seq.dataset == 'oxuva'``): ``{seq}.csv`` without header, one row per frame after the first:
  video, object, frame number, ``present`` (``'true'``/``'false'``: presence score above the tracker's
  ``object_presence_score_threshold``), score, xmin, xmax, ymin, ymax (box normalised by the image size and
  clipped to [0, 1]); plus ``{seq}_time.txt``;
* segmentation: ``{tracker.segmentation_dir}/{seq}/{frame_stem}.png``, indexed PNGs with the DAVIS palette.

Crash safety and resuming: every file is written to a temporary file in its folder and renamed into place, and
a sequence's files are written together once it is tracked, the main file (``{seq}.txt``, ``{seq}_{id}.txt`` or
``{seq}.csv``) last. So the presence of the main file(s) means the sequence is complete, and a run killed at
any point leaves no partial result file; :func:`run_dataset` skips complete sequences (not with ``debug``) and
removes temporary files left by killed runs. A tracker that outputs masks but no boxes gets a hidden marker
``{segmentation_dir}/{seq}/.complete`` written last instead.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import re
import secrets
import time
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence
from pytracking.evaluation.tracker import Tracker
from pytracking.utils.image_io import imwrite_indexed

__all__ = [
    "SequenceResult",
    "RunSummary",
    "run_sequence",
    "run_dataset",
    "save_tracker_output",
    "result_files",
    "is_complete",
    "clean_stale_temp_files",
]

logger = logging.getLogger(__name__)

SEGMENTATION_DONE_MARKER = ".complete"

# Temporary files of atomic writes: '.<target name>.<pid>.<random hex>.tmp' (the pattern imwrite_indexed uses too).
_TEMP_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]+\.tmp$")


# ---------------------------------------------------------------------------------------------------------------
# Atomic writers


def _temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _table_text(values: np.ndarray, fmt: str, delimiter: str = "\t") -> str:
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt=fmt, delimiter=delimiter)
    return buffer.getvalue()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else, or cannot be probed: leave its files alone
    return True


def clean_stale_temp_files(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Delete temporary files of atomic writes whose writing process no longer runs (a killed run's leftovers).

    Files of live processes (e.g. a concurrent run) are kept. Only this host's processes can be checked, so do
    not run two evaluations on different machines over one shared folder at the same time.

    Args:
        folder: folder to clean (nothing happens when it does not exist).
        recursive: also clean its sub-folders (segmentation folders have one per sequence).

    Returns:
        The deleted paths.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    removed = []
    for path in root.rglob(".*.tmp") if recursive else root.glob(".*.tmp"):
        match = _TEMP_RE.match(path.name)
        if match is None or not path.is_file():
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and not _pid_alive(pid):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


# ---------------------------------------------------------------------------------------------------------------
# Result files


def _is_multiobject(seq: Sequence) -> bool:
    return bool(getattr(seq, "multiobj_mode", False))


def result_files(tracker: Tracker, seq: Sequence) -> list[Path]:
    """The main result file(s) of ``seq``: their presence means the sequence was tracked completely."""
    base = Path(tracker.results_dir)
    if seq.dataset in _DATASET_WRITERS:
        return [base / f"{seq.name}.csv"]
    if _is_multiobject(seq):
        ids = seq.object_ids or []
        return [base / f"{seq.name}_{oid}.txt" for oid in ids]
    return [base / f"{seq.name}.txt"]


def is_complete(tracker: Tracker, seq: Sequence) -> bool:
    """Whether ``tracker`` has complete results for ``seq`` (main files, or the segmentation-only marker)."""
    files = result_files(tracker, seq)
    if files and all(f.is_file() for f in files):
        return True
    return (Path(tracker.segmentation_dir) / seq.name / SEGMENTATION_DONE_MARKER).is_file()


def _missing(values: list, what: str, where: str) -> None:
    absent = [i for i, v in enumerate(values) if v is None]
    if absent:
        raise ValueError(f"{where}: the tracker gave no {what} for frame(s) {absent[:10]}")


def _boxes_array(boxes: list, where: str) -> np.ndarray:
    _missing(boxes, "box", where)
    arr = np.array([np.asarray(b, dtype=np.float64).reshape(-1) for b in boxes], dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{where}: boxes must be [x, y, w, h], got an array of shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise ValueError(f"{where}: non-finite box at frame(s) {bad[:10].tolist()}: {arr[bad[0]].tolist()}")
    return arr


def _per_object(values: list, ids: list, key: str, seq: Sequence) -> dict[str, list]:
    """Split per-frame ``{object id: value}`` dicts into per-object lists (frames where an object is absent are
    skipped); a plain value (e.g. one time for the frame) counts for every object present in that frame."""
    out: dict[str, list] = {str(oid): [] for oid in ids}
    for frame, value in enumerate(values):
        if isinstance(value, Mapping):
            for oid, v in value.items():
                if str(oid) not in out:
                    raise ValueError(f"Sequence {seq.name!r}: {key} for unknown object {oid!r} at frame {frame}")
                out[str(oid)].append(v)
        elif value is not None:
            for lst in out.values():
                lst.append(value)
    return out


def _write_segmentation(seq: Sequence, tracker: Tracker, masks: list) -> Path:
    folder = Path(tracker.segmentation_dir) / seq.name
    folder.mkdir(parents=True, exist_ok=True)
    for frame_path, mask in zip(seq.frames, masks):
        if mask is not None:
            imwrite_indexed(folder / f"{Path(frame_path).stem}.png", np.asarray(mask))
    return folder


def _write_column(path: Path, values: list) -> Path:
    _missing(values, "value", os.fspath(path))
    _atomic_write_text(path, _table_text(np.asarray(values, dtype=np.float64).reshape(-1, 1), "%f"))
    return path


def _write_side_files(base: Path, stem: str, times: list | None, scores: list | None) -> list[Path]:
    """``{stem}_time.txt`` and ``{stem}_object_presence_scores.txt`` (when given)."""
    written = []
    if times:
        written.append(_write_column(base / f"{stem}_time.txt", times))
    if scores:
        written.append(_write_column(base / f"{stem}_object_presence_scores.txt", scores))
    return written


def _write_boxes(path: Path, boxes: np.ndarray) -> Path:
    # Truncation towards zero (astype(int)), as the original toolkit wrote its results.
    _atomic_write_text(path, _table_text(boxes.astype(np.int64), "%d", "\t"))
    return path


def _write_oxuva(seq: Sequence, tracker: Tracker, output: dict) -> list[Path]:
    base = Path(tracker.results_dir)
    boxes = _boxes_array(output["target_bbox"], f"OxUvA results of {seq.name!r}")
    height, width = output["image_shape"]
    scores = output.get("object_presence_score") or [1.0] * len(boxes)
    _missing(scores, "presence score", f"OxUvA results of {seq.name!r}")
    threshold = output.get("object_presence_score_threshold", 0.55)
    video, obj = seq.name.rsplit("_", 1)
    lines = []
    for i in range(1, len(boxes)):
        x, y, w, h = boxes[i]
        xmin, xmax = np.clip([x / width, (x + w) / width], 0.0, 1.0)
        ymin, ymax = np.clip([y / height, (y + h) / height], 0.0, 1.0)
        frame_num = int(Path(seq.frames[i]).stem)
        present = "true" if scores[i] > threshold else "false"
        lines.append(
            f"{video},{obj},{frame_num},{present},{scores[i]:.6f},{xmin:.6f},{xmax:.6f},{ymin:.6f},{ymax:.6f}\n"
        )
    written = _write_side_files(base, seq.name, output.get("time"), None)
    path = base / f"{seq.name}.csv"
    _atomic_write_text(path, "".join(lines))
    written.append(path)
    return written


_DATASET_WRITERS = {"oxuva": _write_oxuva}


def save_tracker_output(seq: Sequence, tracker: Tracker, output: dict) -> list[Path]:
    """Write the result files of one tracked sequence (see the module docstring for names and formats).

    Args:
        seq: the sequence.
        tracker: gives ``results_dir`` and ``segmentation_dir``.
        output: :meth:`Tracker.run_sequence`'s dict of per-frame lists.

    Returns:
        The files written, the main file(s) last (segmentation PNGs are represented by their folder).

    Raises:
        ValueError: malformed or non-finite boxes, or per-object outputs that do not match the sequence.
    """
    base = Path(tracker.results_dir)
    base.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if output.get("segmentation"):
        written.append(_write_segmentation(seq, tracker, output["segmentation"]))

    if "target_bbox" not in output:
        if not written:
            raise ValueError(f"Sequence {seq.name!r}: the tracker produced neither boxes nor masks")
        marker = written[0] / SEGMENTATION_DONE_MARKER
        _atomic_write_text(marker, "")
        return [*written, marker]

    if seq.dataset in _DATASET_WRITERS:
        return written + _DATASET_WRITERS[seq.dataset](seq, tracker, output)

    boxes = output["target_bbox"]
    times = output.get("time")
    scores = output.get("object_presence_score")
    is_dict = any(isinstance(b, Mapping) for b in boxes)

    if not _is_multiobject(seq):
        if is_dict:
            keys = {k for b in boxes if b is not None for k in b}
            if len(keys) != 1:
                raise ValueError(f"Sequence {seq.name!r} is single-object but the tracker output objects {keys}")
            (key,) = keys
            boxes, times, scores = (
                [v.get(key) if isinstance(v, Mapping) else v for v in vals] if vals else vals
                for vals in (boxes, times, scores)
            )
        arr = _boxes_array(boxes, f"Results of {seq.name!r}")
        written += _write_side_files(base, seq.name, times, scores)
        return [*written, _write_boxes(base / f"{seq.name}.txt", arr)]

    ids = [str(oid) for oid in (seq.object_ids or [])]
    if not is_dict:
        if len(ids) != 1:
            raise ValueError(f"Sequence {seq.name!r} has objects {ids} but the tracker output one box per frame")
        boxes = [{ids[0]: b} for b in boxes]
    per_boxes = _per_object(boxes, ids, "target_bbox", seq)
    per_times = _per_object(times, ids, "time", seq) if times else {}
    per_scores = _per_object(scores, ids, "object_presence_score", seq) if scores else {}
    missing = [oid for oid in ids if not per_boxes[oid]]
    if missing:
        raise ValueError(f"Sequence {seq.name!r}: the tracker output no box for object(s) {missing}")
    arrays = {oid: _boxes_array(per_boxes[oid], f"Results of {seq.name!r}, object {oid}") for oid in ids}
    # Every object's side files first, then the main files, so that all main files present means complete.
    for oid in ids:
        written += _write_side_files(base, f"{seq.name}_{oid}", per_times.get(oid), per_scores.get(oid))
    return written + [_write_boxes(base / f"{seq.name}_{oid}.txt", arrays[oid]) for oid in ids]


# ---------------------------------------------------------------------------------------------------------------
# Running


@dataclass
class SequenceResult:
    """What happened to one (sequence, tracker) pair.

    Attributes:
        sequence: sequence name.
        tracker: tracker id (``name/parameter_name[_run]``).
        status: ``'done'``, ``'skipped'`` (results existed) or ``'failed'``.
        num_frames: frames tracked (0 unless done).
        tracking_time: summed per-frame tracker time in seconds.
        traceback: the formatted exception of a failure.
    """

    sequence: str
    tracker: str
    status: str
    num_frames: int = 0
    tracking_time: float = 0.0
    traceback: str | None = None

    @property
    def fps(self) -> float:
        """Frames per second of tracker time (0 when nothing was timed)."""
        return self.num_frames / self.tracking_time if self.tracking_time > 0 else 0.0


@dataclass
class RunSummary:
    """Outcome of :func:`run_dataset`: one :class:`SequenceResult` per (sequence, tracker) pair."""

    results: list[SequenceResult] = field(default_factory=list)
    wall_time: float = 0.0

    def _with(self, status: str) -> list[SequenceResult]:
        return [r for r in self.results if r.status == status]

    @property
    def done(self) -> list[SequenceResult]:
        """Pairs tracked in this run."""
        return self._with("done")

    @property
    def skipped(self) -> list[SequenceResult]:
        """Pairs whose results already existed."""
        return self._with("skipped")

    @property
    def failed(self) -> list[SequenceResult]:
        """Pairs that raised (with their tracebacks)."""
        return self._with("failed")

    @property
    def ok(self) -> bool:
        """True when no pair failed."""
        return not self.failed

    def __str__(self) -> str:
        frames = sum(r.num_frames for r in self.done)
        lines = [
            f"Run summary: {len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed "
            f"({frames} frames in {self.wall_time:.1f} s)"
        ]
        for r in self.failed:
            lines.append(f"FAILED {r.tracker} on {r.sequence}:")
            lines.extend("    " + line for line in (r.traceback or "").rstrip().splitlines())
        return "\n".join(lines)


def run_sequence(
    seq: Sequence,
    tracker: Tracker,
    debug: int = 0,
    visdom_info: dict | None = None,
    *,
    skip_existing: bool = True,
) -> SequenceResult:
    """Track one sequence with one tracker and write its result files.

    Args:
        seq: the sequence.
        tracker: the tracker.
        debug: debug level passed to the tracker; with ``debug > 0`` existing results are recomputed.
        visdom_info: visdom settings passed to the tracker.
        skip_existing: return ``'skipped'`` without tracking when complete results exist.

    Returns:
        The :class:`SequenceResult` (``'done'`` or ``'skipped'``).

    Raises:
        Whatever the tracker raises; :func:`run_dataset` records it and goes on.
    """
    if skip_existing and not debug and is_complete(tracker, seq):
        return SequenceResult(seq.name, tracker.id_string, "skipped")
    output = tracker.run_sequence(seq, debug=debug, visdom_info=visdom_info)
    save_tracker_output(seq, tracker, output)
    times = output.get("time") or []
    total = float(
        sum(sum(t.values()) if isinstance(t, Mapping) else t for t in times if t is not None)  # per-object dicts
    )
    result = SequenceResult(seq.name, tracker.id_string, "done", num_frames=len(seq.frames), tracking_time=total)
    logger.info("%s on %s: %d frames, %.1f FPS", tracker.id_string, seq.name, result.num_frames, result.fps)
    return result


def _run_job(seq: Sequence, tracker: Tracker, debug: int, visdom_info: dict | None) -> SequenceResult:
    """Run one pair, turning an exception into a ``'failed'`` result (keeps the pool going)."""
    try:
        return run_sequence(seq, tracker, debug=debug, visdom_info=visdom_info)
    except Exception:
        return SequenceResult(seq.name, tracker.id_string, "failed", traceback=traceback.format_exc())


def _run_pickled_job(payload: bytes, debug: int, visdom_info: dict | None) -> SequenceResult:
    seq, tracker = pickle.loads(payload)
    return _run_job(seq, tracker, debug, visdom_info)


def _init_worker(num_threads: int) -> None:
    # Runs before the worker imports torch: N workers each using every core would oversubscribe the CPU.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(num_threads))


def _materialise(seq: Sequence) -> Sequence:
    """A copy of ``seq`` holding plain values instead of lazy loaders (closures cannot be pickled)."""
    return Sequence(
        seq.name,
        list(seq.frames),
        seq.dataset,
        seq.ground_truth_rect,
        ground_truth_seg=seq.ground_truth_seg,
        init_data=seq.init_data,
        object_class=seq.object_class,
        target_visible=seq.target_visible,
        object_ids=seq.object_ids,
        multiobj_mode=seq.multiobj_mode,
    )


def _pickle_job(seq: Sequence, tracker: Tracker) -> bytes:
    try:
        return pickle.dumps((seq, tracker))
    except Exception:  # any pickling failure (local function, lock, ...) means "materialise"
        return pickle.dumps((_materialise(seq), tracker))


def _sequence_list(dataset: Any) -> list[Sequence]:
    if isinstance(dataset, BaseDataset):
        return list(dataset.get_sequence_list())
    if isinstance(dataset, Sequence):
        return [dataset]
    return list(dataset)


def run_dataset(
    dataset: Any,
    trackers: Tracker | Iterable[Tracker],
    debug: int = 0,
    threads: int = 0,
    visdom_info: dict | None = None,
    *,
    progress: bool = True,
    verbose: bool = True,
    raise_errors: bool | None = None,
) -> RunSummary:
    """Run every tracker on every sequence, skipping pairs that already have complete results.

    Args:
        dataset: a :class:`~pytracking.evaluation.data.SequenceList` (or any iterable of sequences), or a
            :class:`~pytracking.evaluation.data.BaseDataset`.
        trackers: one tracker or several.
        debug: debug level for the trackers; ``debug > 0`` also recomputes existing results.
        threads: 0 runs the pairs one after the other in this process (sequences outer, trackers inner); N > 0
            runs them in N worker processes (spawn start method). Workers receive pickled sequences and trackers:
            lazy sequences are materialised first, tracker code is imported by name in the worker.
        visdom_info: visdom settings passed to the trackers.
        progress: show a tqdm bar (pairs done, frames/s, ETA).
        verbose: print the :class:`RunSummary` at the end.
        raise_errors: re-raise a tracker's exception instead of recording it; default ``debug > 0``. Only with
            ``threads == 0``.

    Returns:
        The :class:`RunSummary` (done, skipped and failed pairs, failures with their tracebacks).
    """
    from tqdm import tqdm  # imported here: only runs need it

    start = time.perf_counter()
    trackers = [trackers] if isinstance(trackers, Tracker) else list(trackers)
    sequences = _sequence_list(dataset)
    raise_errors = debug > 0 if raise_errors is None else raise_errors
    summary = RunSummary()

    for tracker in trackers:
        for folder in (tracker.results_dir, tracker.segmentation_dir):
            for path in clean_stale_temp_files(folder):
                logger.info("Removed a temporary file left by a killed run: %s", path)

    pending: list[tuple[Sequence, Tracker]] = []
    for seq in sequences:
        for tracker in trackers:
            try:
                complete = not debug and is_complete(tracker, seq)
            except Exception:
                summary.results.append(
                    SequenceResult(seq.name, tracker.id_string, "failed", traceback=traceback.format_exc())
                )
                continue
            if complete:
                summary.results.append(SequenceResult(seq.name, tracker.id_string, "skipped"))
            else:
                pending.append((seq, tracker))

    bar = tqdm(total=len(pending), unit="seq", desc="Tracking", disable=not progress, dynamic_ncols=True)
    frames_done = 0

    def record(result: SequenceResult) -> None:
        nonlocal frames_done
        summary.results.append(result)
        if result.status == "failed":
            logger.error("%s failed on %s:\n%s", result.tracker, result.sequence, result.traceback)
        frames_done += result.num_frames
        bar.update(1)
        bar.set_postfix_str(f"{frames_done / max(time.perf_counter() - start, 1e-9):.1f} frames/s", refresh=False)

    try:
        if threads == 0:
            for seq, tracker in pending:
                if raise_errors:
                    record(run_sequence(seq, tracker, debug=debug, visdom_info=visdom_info))
                else:
                    record(_run_job(seq, tracker, debug, visdom_info))
        else:
            _run_in_pool(pending, threads, debug, visdom_info, record)
    finally:
        bar.close()

    summary.wall_time = time.perf_counter() - start
    if verbose:
        print(summary)
    return summary


def _run_in_pool(
    pending: list[tuple[Sequence, Tracker]],
    threads: int,
    debug: int,
    visdom_info: dict | None,
    record: Any,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    threads_per_worker = max(1, (os.cpu_count() or 1) // threads)
    executor = ProcessPoolExecutor(
        max_workers=threads, mp_context=ctx, initializer=_init_worker, initargs=(threads_per_worker,)
    )
    futures: dict[Future, tuple[Sequence, Tracker]] = {}
    try:
        for seq, tracker in pending:
            try:
                payload = _pickle_job(seq, tracker)
            except Exception:
                record(SequenceResult(seq.name, tracker.id_string, "failed", traceback=traceback.format_exc()))
                continue
            futures[executor.submit(_run_pickled_job, payload, debug, visdom_info)] = (seq, tracker)
        for future in as_completed(futures):
            seq, tracker = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                result = SequenceResult(
                    seq.name,
                    tracker.id_string,
                    "failed",
                    traceback=traceback.format_exc() + "A worker process died (killed, or out of memory?).\n",
                )
            except Exception:
                result = SequenceResult(seq.name, tracker.id_string, "failed", traceback=traceback.format_exc())
            record(result)
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
