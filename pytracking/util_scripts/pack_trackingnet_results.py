"""Pack a tracker's TrackingNet test results into the zip the evaluation server expects.

Archive layout: ``<seq>.txt`` for every test sequence, boxes ``x,y,w,h`` written ``%.2f``, one row per frame,
read from ``Tracker(name, param, run_id).results_dir``.

Everything is checked before anything is written: the dataset size, a result file for every sequence, row counts
equal to the sequence lengths, finite values. One error lists all problems.

Usage: ``python -m pytracking.util_scripts.pack_trackingnet_results <tracker_name> <param_name> [--run_id N]``
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.tracker import Tracker
from pytracking.util_scripts._packing import (
    PackingError,
    ProblemList,
    load_boxes,
    output_folder,
    sequence_list,
    table_text,
    write_zip,
)

__all__ = ["pack_trackingnet_results", "PackingError", "TRACKINGNET_TEST_SIZE"]

TRACKINGNET_TEST_SIZE = 511


def pack_trackingnet_results(
    tracker_name: str,
    param_name: str,
    run_id: int | None = None,
    output_name: str | None = None,
    *,
    dataset: Any = None,
    expected_num_sequences: int | None = TRACKINGNET_TEST_SIZE,
    output_dir: str | os.PathLike | None = None,
    env: EnvSettings | None = None,
) -> Path:
    """Validate and pack TrackingNet test results.

    Args:
        tracker_name: tracker name.
        param_name: parameter name.
        run_id: which run's results (``None``: the unnumbered run).
        output_name: zip name without ``.zip``; default ``{tracker_name}_{param_name}`` (plus ``_{run_id:03d}``).
        dataset: the sequences (SequenceList or BaseDataset); default the registered ``trackingnet``.
        expected_num_sequences: required dataset size (``None``: no check).
        output_dir: folder for the zip; default the ``tn_packed_results_path`` setting.
        env: settings for the results and output folders; default :func:`env_settings`.

    Returns:
        Path of the written zip.

    Raises:
        PackingError: wrong dataset size, missing/incomplete/malformed result files (all listed), no output folder.
    """
    seqs = sequence_list(dataset, "trackingnet", expected_num_sequences, "TrackingNet")
    folder = output_folder(output_dir, "tn_packed_results_path", env)
    tracker = Tracker(tracker_name, param_name, run_id, env=env)
    problems = ProblemList(f"TrackingNet results of {tracker.id_string}")
    entries: dict[str, str] = {}
    for seq in seqs:
        boxes = load_boxes(Path(tracker.results_dir) / f"{seq.name}.txt", len(seq.frames), problems)
        if boxes is not None:
            entries[f"{seq.name}.txt"] = table_text(boxes, "%.2f")
    problems.raise_if_any()
    if output_name is None:
        output_name = f"{tracker_name}_{param_name}" + ("" if run_id is None else f"_{run_id:03d}")
    return write_zip(folder / f"{output_name}.zip", entries)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Pack TrackingNet test results for the evaluation server.")
    parser.add_argument("tracker_name")
    parser.add_argument("param_name")
    parser.add_argument("--run_id", type=int, default=None)
    parser.add_argument("--output_name", default=None)
    parser.add_argument("--output_dir", default=None)
    args = parser.parse_args(argv)
    path = pack_trackingnet_results(
        args.tracker_name, args.param_name, args.run_id, args.output_name, output_dir=args.output_dir
    )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
