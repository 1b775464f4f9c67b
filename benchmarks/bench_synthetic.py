"""Generation time of the embedded synthetic benchmark, per split.

Usage::

    python benchmarks/bench_synthetic.py                                  # 'synthetic' + 40 'synthetic_train' seqs
    python benchmarks/bench_synthetic.py --train-sequences 200 --workers 2 --root /tmp/syn

Each split is generated from scratch (``overwrite=True``) into ``--root`` (default: a temporary folder that is
deleted afterwards). Texture loading (scikit-image sample images, once per process) is timed separately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow running the script from a plain checkout
    sys.path.insert(0, str(REPO))

from pytracking.evaluation.synthetic import generator, layout  # noqa: E402


def _run(root: Path, split: str, workers: int, **params) -> None:
    cfg = generator.split_config(split, **params)
    start = time.perf_counter()
    path = layout.generate_split(root, split, overwrite=True, num_workers=workers, **params)
    elapsed = time.perf_counter() - start
    manifest = layout.read_manifest(path)
    frames = (manifest["file_count"] - 1 - 6 * cfg.num_sequences) // 2
    print(
        f"{split:16s} {cfg.num_sequences:4d} seqs {frames:6d} frames {cfg.width}x{cfg.height}  "
        f"{elapsed:7.2f} s  ({1e3 * elapsed / max(frames, 1):.2f} ms/frame, workers={workers})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--train-sequences", type=int, default=40, help="sequences of 'synthetic_train' (0: skip)")
    parser.add_argument("--workers", type=int, default=0, help="processes for 'synthetic_train'")
    args = parser.parse_args()

    start = time.perf_counter()
    textures = generator.load_textures()
    print(f"textures: {len(textures)} ({generator.texture_source_id()}) loaded in {time.perf_counter() - start:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root or Path(tmp)
        _run(root, "synthetic", 0)
        if args.train_sequences > 0:
            _run(root, "synthetic_train", args.workers, num_sequences=args.train_sequences)


if __name__ == "__main__":
    main()
