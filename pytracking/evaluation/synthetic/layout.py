"""On-disk layout of the synthetic benchmark, its manifest, and atomic, concurrency-safe generation into a cache.

Layout of one split (OTB / GOT-10k-like, readable by ordinary loaders)::

    <root>/<split>/
        manifest.json               written last: fingerprint (generator version, split, seed, parameters,
                                    texture source), texture checksums and ``file_count`` (files besides itself)
        list.txt                    sequence names, one per line
        <seq>/img/000001.jpg ...    frames, 1-based, RGB (JPEG, or PNG with ``image_format='png'``)
        <seq>/masks/000001.png ...  indexed PNG, DAVIS palette: 0 background, 1 target (its visible pixels)
        <seq>/groundtruth.txt       ``x,y,w,h`` per frame (integers): the pixel-inclusive tight box of the mask,
                                    equal to ``box_ops.mask_to_xywh(mask)``; ABSENT frames have ``0,0,0,0``
        <seq>/absence.label         GOT-10k: ``1`` where the target is absent (empty mask: out of view or fully
                                    occluded), else ``0``; one per line
        <seq>/cover.label           GOT-10k visible-ratio levels 0..8 (visible pixels / whole-target pixels)
        <seq>/attributes.json       ``{attribute: bool}`` (see ``generator.derive_attributes``)
        <seq>/frames.csv            per-frame statistics with a header (pixel counts, unclipped full box, blur,
                                    gain/offset, camera offset, distractors in view, ...)
        <seq>/info.json             generation details (shape, textures, primary challenge, ...)

Cache protocol: a split is generated into a hidden temporary folder next to it, ``manifest.json`` last, and then
renamed into place, so an interrupted generation never leaves a split that looks complete (a leftover temporary
folder of a dead process is removed by the next generation). A split counts as complete and up to date when its
manifest's fingerprint equals the requested one and the number of files matches ``file_count``. Processes
generating the same split concurrently each render into their own temporary folder; the commit runs under a lock
file (where ``fcntl`` exists), and a process that finds a complete split already committed discards its own.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pytracking.evaluation.synthetic.generator import (
    GENERATOR_VERSION,
    RenderedSequence,
    SplitConfig,
    load_textures,
    render_sequence,
    split_config,
    texture_source_id,
)
from pytracking.utils.image_io import imwrite_indexed

__all__ = [
    "MANIFEST_NAME",
    "ENV_VAR",
    "default_root",
    "fingerprint",
    "write_sequence",
    "read_manifest",
    "count_files",
    "is_complete",
    "generate_split",
    "ensure_split",
    "read_sequence_names",
    "read_attributes",
    "read_frame_table",
]

MANIFEST_NAME = "manifest.json"
ENV_VAR = "PYTRACKING_SYNTHETIC_PATH"
_FORMAT = "pytracking-ng synthetic tracking benchmark"
_FILES_PER_SEQUENCE = 6  # groundtruth.txt, absence.label, cover.label, attributes.json, frames.csv, info.json

PathLike = str | os.PathLike


def default_root(env: Any = None) -> Path:
    """Cache folder of the synthetic splits.

    In order: ``$PYTRACKING_SYNTHETIC_PATH``; the ``synthetic_path`` setting (when the settings define it and it
    is non-empty); ``$XDG_CACHE_HOME/pytracking/synthetic`` (default ``~/.cache/pytracking/synthetic``).

    Args:
        env: settings object to read ``synthetic_path`` from; default ``env_settings()`` (only consulted when the
            environment variable is not set).
    """
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    if env is None:
        from pytracking.evaluation.environment import env_settings

        env = env_settings()
    configured = getattr(env, "synthetic_path", "")
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "pytracking" / "synthetic"


def fingerprint(split: str, cfg: SplitConfig) -> dict[str, Any]:
    """What a cached split must match to be reused: generator version, split, parameters, texture source."""
    return {
        "generator_version": GENERATOR_VERSION,
        "split": split,
        "params": cfg.params(),
        "texture_source": texture_source_id(cfg.textures),
    }


# ---------------------------------------------------------------------------------------------------------------
# Writing and reading one sequence


def _fmt(value: Any) -> str:
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    return f"{float(value):.6f}"


def write_sequence(seq_dir: PathLike, seq: RenderedSequence, image_format: str = "jpg", jpeg_quality: int = 95) -> int:
    """Write one rendered sequence in the layout above (``seq_dir`` must not exist yet).

    Returns:
        The number of files written.
    """
    seq_dir = Path(seq_dir)
    (seq_dir / "img").mkdir(parents=True)
    (seq_dir / "masks").mkdir()
    if image_format == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    else:
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    for i, (frame, mask) in enumerate(zip(seq.frames, seq.masks, strict=True), start=1):
        ok, buf = cv2.imencode(f".{image_format}", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise OSError(f"OpenCV could not encode frame {i} of {seq.name} as {image_format}")
        buf.tofile(os.fspath(seq_dir / "img" / f"{i:06d}.{image_format}"))
        imwrite_indexed(seq_dir / "masks" / f"{i:06d}.png", mask.astype(np.uint8))

    def lines(rows) -> str:
        return "".join(f"{r}\n" for r in rows)

    (seq_dir / "groundtruth.txt").write_text(lines(",".join(str(int(v)) for v in box) for box in seq.boxes))
    (seq_dir / "absence.label").write_text(lines(int(not v) for v in seq.visible))
    (seq_dir / "cover.label").write_text(lines(int(c) for c in seq.cover))
    (seq_dir / "attributes.json").write_text(json.dumps(seq.attributes, indent=2, sort_keys=True) + "\n")
    (seq_dir / "info.json").write_text(json.dumps(seq.info, indent=2, sort_keys=True) + "\n")
    names = list(seq.table)
    rows = [",".join(names)] + [",".join(_fmt(seq.table[c][t]) for c in names) for t in range(len(seq.frames))]
    (seq_dir / "frames.csv").write_text(lines(rows))
    return 2 * len(seq.frames) + _FILES_PER_SEQUENCE


def read_frame_table(seq_dir: PathLike) -> dict[str, np.ndarray]:
    """``frames.csv`` of a sequence as column name -> (n,) float64 array."""
    with open(Path(seq_dir) / "frames.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], np.array(rows[1:], dtype=np.float64).reshape(-1, len(rows[0]))
    return {name: body[:, j] for j, name in enumerate(header)}


def read_sequence_names(split_dir: PathLike) -> list[str]:
    """Names in ``<split_dir>/list.txt``."""
    path = Path(split_dir) / "list.txt"
    if not path.is_file():
        raise FileNotFoundError(f"Synthetic split: sequence list not found: {os.fspath(path)}")
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def read_attributes(split_dir: PathLike) -> dict[str, dict[str, bool]]:
    """Sequence name -> its ``attributes.json``."""
    split_dir = Path(split_dir)
    return {
        name: json.loads((split_dir / name / "attributes.json").read_text()) for name in read_sequence_names(split_dir)
    }


# ---------------------------------------------------------------------------------------------------------------
# Manifest and completeness


def read_manifest(split_dir: PathLike) -> dict[str, Any] | None:
    """The parsed manifest, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads((Path(split_dir) / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


def count_files(split_dir: PathLike) -> int:
    """Number of files under ``split_dir`` besides the manifest."""
    total = 0
    for _, _, files in os.walk(split_dir):
        total += len(files)
    return total - int((Path(split_dir) / MANIFEST_NAME).is_file())


def is_complete(split_dir: PathLike, expected: dict[str, Any] | None = None, verify_files: bool = True) -> bool:
    """Whether ``split_dir`` holds a complete split (matching the fingerprint ``expected`` when given).

    Args:
        split_dir: ``<root>/<split>``.
        expected: a :func:`fingerprint`; ``None`` accepts any complete split.
        verify_files: also count the files against the manifest's ``file_count`` (catches deleted files).
    """
    manifest = read_manifest(split_dir)
    if manifest is None or manifest.get("format") != _FORMAT:
        return False
    if expected is not None and any(manifest.get(k) != v for k, v in expected.items()):
        return False
    return not verify_files or count_files(split_dir) == manifest.get("file_count")


# ---------------------------------------------------------------------------------------------------------------
# Atomic generation


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _scratch_name(split: str, kind: str) -> str:
    return f".{split}.{kind}-{os.getpid()}-{secrets.token_hex(4)}-{socket.gethostname()}"


def _remove_stale_scratch(root: Path, split: str) -> None:
    """Remove temporary / old folders of this split left by processes of this host that no longer run."""
    if os.name == "nt":  # os.kill would terminate the process there; leftovers are harmless, skip
        return
    host = socket.gethostname()
    for kind in ("tmp", "old"):
        prefix = f".{split}.{kind}-"
        for path in root.glob(f"{glob.escape(prefix)}*"):
            pid, _, rest = path.name[len(prefix) :].partition("-")
            _, _, owner = rest.partition("-")
            if pid.isdigit() and owner == host and not _pid_alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _commit_lock(root: Path, split: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no advisory locks: the rename-based commit below still never corrupts a split
        yield
        return
    with open(root / f".{split}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _commit(tmp: Path, final: Path, expected: dict[str, Any], overwrite: bool) -> None:
    """Move the finished ``tmp`` split to ``final``, or discard it when an equal complete split is already there."""
    with _commit_lock(final.parent, final.name):
        old = None
        if final.exists():
            if not overwrite and is_complete(final, expected):
                shutil.rmtree(tmp, ignore_errors=True)
                return
            old = final.parent / _scratch_name(final.name, "old")
            os.rename(final, old)
        try:
            os.rename(tmp, final)
        except OSError:
            # Without a lock another process may have committed in between; keep its split if it is complete.
            if final.exists() and is_complete(final, expected):
                shutil.rmtree(tmp, ignore_errors=True)
                return
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)


def _link_tree(src: Path, dst: Path) -> int:
    """Hard-link (or copy) every file of ``src`` into the new folder ``dst``; returns the number of files."""
    count = 0
    for folder, _, files in os.walk(src):
        target = dst / Path(folder).relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(os.path.join(folder, name), target / name)
            except OSError:
                shutil.copy2(os.path.join(folder, name), target / name)
            count += 1
    return count


def _reusable(final: Path, expected: dict[str, Any]) -> int:
    """How many leading sequences of an existing complete split can be reused (same fingerprint apart from the
    number of sequences: a sequence depends only on the seed, its index and the other parameters)."""
    manifest = read_manifest(final)
    if manifest is None or not is_complete(final):
        return 0
    mine = dict(expected, params={k: v for k, v in expected["params"].items() if k != "num_sequences"})
    theirs = dict(
        {k: manifest.get(k) for k in expected},
        params={k: v for k, v in (manifest.get("params") or {}).items() if k != "num_sequences"},
    )
    return int(manifest["params"]["num_sequences"]) if mine == theirs else 0


def _init_worker() -> None:
    # One OpenCV thread per worker process: the processes already use the cores.
    cv2.setNumThreads(1)


def _render_and_write(cfg: SplitConfig, index: int, tmp: str) -> int:
    seq = render_sequence(cfg, index)
    return write_sequence(Path(tmp) / seq.name, seq, cfg.image_format, cfg.jpeg_quality)


def generate_split(
    root: PathLike,
    split: str = "synthetic",
    seed: int | None = None,
    num_sequences: int | None = None,
    *,
    overwrite: bool = False,
    num_workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
    **params: Any,
) -> Path:
    """Generate a split into ``<root>/<split>`` atomically, unless an equal complete split is already there.

    Args:
        root: cache folder (created if needed).
        split: a built-in split (``'synthetic'`` or ``'synthetic_train'``).
        seed: split seed (default: the split's).
        num_sequences: number of sequences (default: the split's). Growing a complete split reuses (hard-links)
            its existing sequences and renders only the new ones.
        overwrite: regenerate even when a matching complete split exists.
        num_workers: render in this many processes (0 or 1: in this process); the output does not depend on it.
        progress: called as ``progress(done, total)`` after each sequence.
        **params: other :class:`~pytracking.evaluation.synthetic.generator.SplitConfig` fields (e.g. ``width``,
            ``min_frames``, ``image_format``).

    Returns:
        The split folder ``<root>/<split>``.
    """
    cfg = split_config(split, seed=seed, num_sequences=num_sequences, **params)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / split
    expected = fingerprint(split, cfg)
    if not overwrite and is_complete(final, expected):
        return final
    _remove_stale_scratch(root, split)

    tmp = root / _scratch_name(split, "tmp")
    tmp.mkdir()
    try:
        textures = load_textures(cfg.textures)
        total = cfg.num_sequences
        reuse = 0 if overwrite else min(_reusable(final, expected), total)
        file_count = 0
        for i in range(reuse):
            name = cfg.sequence_name(i)
            file_count += _link_tree(final / name, tmp / name)
        todo = list(range(reuse, total))
        done = reuse
        if num_workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(num_workers, get_context("spawn"), _init_worker) as pool:
                for count in pool.map(_render_and_write, [cfg] * len(todo), todo, [os.fspath(tmp)] * len(todo)):
                    file_count += count
                    done += 1
                    if progress is not None:
                        progress(done, total)
        else:
            for i in todo:
                seq = render_sequence(cfg, i, textures)
                file_count += write_sequence(tmp / seq.name, seq, cfg.image_format, cfg.jpeg_quality)
                done += 1
                if progress is not None:
                    progress(done, total)
        (tmp / "list.txt").write_text("".join(f"{cfg.sequence_name(i)}\n" for i in range(total)))
        file_count += 1
        manifest = {
            "format": _FORMAT,
            **expected,
            "seed": cfg.seed,
            "num_sequences": total,
            "textures": [{"name": t.name, "crc32": t.crc32} for t in textures],
            "file_count": file_count,
        }
        buf = io.StringIO()
        json.dump(manifest, buf, indent=2, sort_keys=True)
        (tmp / MANIFEST_NAME).write_text(buf.getvalue() + "\n")
        _commit(tmp, final, expected, overwrite)
    except BaseException:
        # Whatever interrupted the generation (error, Ctrl-C), leave no partial folder behind.
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def ensure_split(
    split: str = "synthetic", root: PathLike | None = None, *, verify_files: bool = True, **kwargs: Any
) -> Path:
    """Return ``<root>/<split>``, generating it first unless a complete, up-to-date copy is cached.

    Args:
        split: ``'synthetic'`` or ``'synthetic_train'``.
        root: cache folder; default :func:`default_root`.
        verify_files: count the files against the manifest (a split with deleted files is regenerated).
        **kwargs: passed to :func:`generate_split` (``seed``, ``num_sequences``, ``num_workers``, split parameters).

    Returns:
        The split folder.
    """
    root = default_root() if root is None else Path(root)
    gen_keys = ("overwrite", "num_workers", "progress")
    cfg = split_config(split, **{k: v for k, v in kwargs.items() if k not in gen_keys})
    final = root / split
    if is_complete(final, fingerprint(split, cfg), verify_files=verify_files):
        return final
    return generate_split(root, split, **kwargs)
