"""Pack a tracker's GOT-10k test results into the zip the evaluation server expects.

Archive layout, for every test sequence ``<seq>`` (named ``GOT-10k_Test_{:06d}``) and run id ``r``:
``<seq>/<seq>_{r+1:03d}.txt`` (boxes ``x,y,w,h`` with ``%f``, one row per frame) and ``<seq>/<seq>_time.txt``
(seconds per frame, from the first run). Results are read from ``Tracker(name, param, r).results_dir``.

Everything is checked before anything is written: the dataset size, every run's result file for every sequence,
row counts equal to the sequence lengths, finite values. One error lists all problems.

Usage: ``python -m pytracking.util_scripts.pack_got10k_results <tracker_name> <param_name> [--output_name NAME]``
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.tracker import Tracker
from pytracking.util_scripts._packing import (
    PackingError,
    ProblemList,
    load_boxes,
    load_column,
    output_folder,
    sequence_list,
    table_text,
    write_zip,
)

__all__ = ["pack_got10k_results", "PackingError", "GOT10K_TEST_SIZE"]

GOT10K_TEST_SIZE = 180


def pack_got10k_results(
    tracker_name: str,
    param_name: str,
    output_name: str | None = None,
    *,
    dataset: Any = None,
    run_ids: Sequence[int] = (0, 1, 2),
    expected_num_sequences: int | None = GOT10K_TEST_SIZE,
    output_dir: str | os.PathLike | None = None,
    env: EnvSettings | None = None,
) -> Path:
    """Validate and pack GOT-10k test results.

    Args:
        tracker_name: tracker name.
        param_name: parameter name.
        output_name: zip name without ``.zip``; default ``{tracker_name}_{param_name}``.
        dataset: the sequences (SequenceList or BaseDataset); default the registered ``got10k_test``.
        run_ids: runs to pack (numbered ``run + 1`` in the archive); the first also gives the time file.
        expected_num_sequences: required dataset size (``None``: no check).
        output_dir: folder for the zip; default the ``got_packed_results_path`` setting.
        env: settings for the results and output folders; default :func:`env_settings`.

    Returns:
        Path of the written zip.

    Raises:
        PackingError: wrong dataset size, missing/incomplete/malformed result files (all listed), no output folder.
    """
    run_ids = list(run_ids)
    if not run_ids or any(not isinstance(r, int) or r < 0 for r in run_ids) or len(set(run_ids)) != len(run_ids):
        raise PackingError(f"run_ids must be distinct non-negative ints, got {run_ids}")
    seqs = sequence_list(dataset, "got10k_test", expected_num_sequences, "GOT-10k")
    folder = output_folder(output_dir, "got_packed_results_path", env)
    problems = ProblemList(f"GOT-10k results of {tracker_name}/{param_name} (runs {run_ids})")
    entries: dict[str, str] = {}
    for index, run_id in enumerate(run_ids):
        results_dir = Path(Tracker(tracker_name, param_name, run_id, env=env).results_dir)
        for seq in seqs:
            num_frames = len(seq.frames)
            boxes = load_boxes(results_dir / f"{seq.name}.txt", num_frames, problems)
            if boxes is not None:
                entries[f"{seq.name}/{seq.name}_{run_id + 1:03d}.txt"] = table_text(boxes, "%f")
            if index == 0:
                times = load_column(results_dir / f"{seq.name}_time.txt", num_frames, problems)
                if times is not None:
                    entries[f"{seq.name}/{seq.name}_time.txt"] = table_text(times.reshape(-1, 1), "%f")
    problems.raise_if_any()
    return write_zip(folder / f"{output_name or f'{tracker_name}_{param_name}'}.zip", entries)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Pack GOT-10k test results for the evaluation server.")
    parser.add_argument("tracker_name")
    parser.add_argument("param_name")
    parser.add_argument("--output_name", default=None)
    parser.add_argument("--run_ids", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--output_dir", default=None)
    args = parser.parse_args(argv)
    path = pack_got10k_results(
        args.tracker_name, args.param_name, args.output_name, run_ids=args.run_ids, output_dir=args.output_dir
    )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
