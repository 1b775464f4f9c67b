"""Time ``extract_results`` on a synthetic results tree: cold (all files parsed) and from the cache.

Usage::

    python benchmarks/bench_analysis.py                          # 3 trackers x 5 runs x 100 sequences x 300 frames
    python benchmarks/bench_analysis.py --trackers 1 --runs 5 --sequences 100 --frames 300 --workers 1

Result files are written TAB-separated with 4 decimals, as trackers write them. "cold" forces a full evaluation
(the files are in the page cache after being written, so disk speed is excluded); "cached" is
``load_or_extract_results`` finding a valid ``eval_data.pkl`` (fingerprint check + unpickling).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # allow running the script from a plain checkout
    sys.path.insert(0, str(REPO))


@dataclass
class _Seq:
    name: str
    ground_truth_rect: np.ndarray
    target_visible: np.ndarray | None
    dataset: str = "otb"


@dataclass
class _Tracker:
    name: str
    parameter_name: str
    run_id: int | None
    results_dir: str
    display_name: str | None = None


def _make_tree(root: Path, n_trackers: int, n_runs: int, n_seqs: int, n_frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    seqs = []
    for s in range(n_seqs):
        xy = np.cumsum(rng.normal(0, 2, (n_frames, 2)), axis=0) + 200
        wh = np.abs(rng.normal(60, 5, (n_frames, 2))) + 5
        visible = rng.random(n_frames) > 0.02
        seqs.append(_Seq(f"seq{s:03d}", np.round(np.concatenate([xy, wh], axis=1), 2), visible))
    trackers = []
    for t in range(n_trackers):
        for r in range(n_runs):
            trk = _Tracker(f"trk{t}", "default", r, str(root / "results" / f"trk{t}" / f"default_{r:03d}"))
            os.makedirs(trk.results_dir, exist_ok=True)
            for seq in seqs:
                pred = seq.ground_truth_rect + rng.normal(0, 4 + 4 * t, seq.ground_truth_rect.shape)
                pred[:, 2:] = np.abs(pred[:, 2:])
                np.savetxt(Path(trk.results_dir) / f"{seq.name}.txt", pred, delimiter="\t", fmt="%.4f")
            trackers.append(trk)
    return trackers, seqs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trackers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sequences", type=int, default=100)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--workers", type=int, default=None, help="file-reading threads (default: automatic)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Keep the user's settings file and result_plot_path out of it.
        os.environ["PYTRACKING_LOCAL_FILE"] = str(root / "local.py")
        os.environ["PYTRACKING_RESULT_PLOT_PATH"] = str(root / "plots")
        from pytracking.analysis.extract_results import load_or_extract_results
        from pytracking.analysis.metrics import overlap_thresholds
        from pytracking.analysis.plot_results import compute_scores, merge_multiple_runs

        overlap_thresholds()  # import torch outside the timings (it is imported by any tracker anyway)
        start = time.perf_counter()
        trackers, seqs = _make_tree(root, args.trackers, args.runs, args.sequences, args.frames)
        n_files = len(trackers) * len(seqs)
        print(f"{n_files} result files x {args.frames} frames written in {time.perf_counter() - start:.1f} s")

        cold, cached = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            data = load_or_extract_results(trackers, seqs, "bench", force_evaluation=True, num_workers=args.workers)
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            again = load_or_extract_results(trackers, seqs, "bench", num_workers=args.workers)
            cached.append(time.perf_counter() - start)
            assert again["fingerprint"] == data["fingerprint"]
        start = time.perf_counter()
        scores = compute_scores(merge_multiple_runs(data))
        t_scores = time.perf_counter() - start
        print(f"cold extract_results:   best {min(cold):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in cold)})")
        print(f"cached (eval_data.pkl): best {min(cached):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in cached)})")
        print(f"merge runs + scores:    {t_scores:.3f} s; AUC per tracker: {np.round(scores['AUC'], 2).tolist()}")


if __name__ == "__main__":
    main()
