"""Run one tracker (name + parameter file) on a dataset, or on one of its sequences, and write the result files.

Examples (from the repository root; the first form works from any directory once the package is installed)::

    python -m pytracking.run_tracker csrt default --dataset otb --sequence Crossing
    python pytracking/run_tracker.py dimp dimp50 --dataset_name nfs --threads 4 --no-use_visdom

Results go to ``{results_path}/{tracker_name}/{tracker_param}[_{runid:03d}]`` (see
:mod:`pytracking.evaluation.running`); sequences with complete results are skipped unless ``--debug`` > 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence as SequenceType
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    # Started as a file: Python put this folder first on sys.path, where its sub-packages (utils, libs, ...)
    # would shadow top-level modules; make the repository's package importable instead.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))


def select_sequences(dataset: Any, sequence: str | int | None) -> Any:
    """``dataset`` itself, or a one-sequence list holding ``sequence`` (a name, or an index as int or digits).

    Raises:
        KeyError: no sequence of that name.
        IndexError: index out of range.
    """
    if sequence is None:
        return dataset
    from pytracking.evaluation.data import SequenceList

    if isinstance(sequence, str) and sequence.lstrip("-").isdigit():
        sequence = int(sequence)
    return SequenceList([SequenceList(dataset)[sequence]])


def run_tracker(
    tracker_name: str,
    tracker_param: str,
    run_id: int | None = None,
    dataset_name: str = "otb",
    sequence: str | int | None = None,
    debug: int = 0,
    threads: int = 0,
    visdom_info: dict | None = None,
    *,
    dataset: Any = None,
    trust_checkpoint: bool = False,
) -> Any:
    """Run tracker ``tracker_name`` with parameter file ``tracker_param`` on a dataset and save the results.

    Args:
        tracker_name: tracker package under ``pytracking/tracker``.
        tracker_param: parameter file under ``pytracking/parameter/<tracker_name>``.
        run_id: run number (results folder ``{tracker_param}_{run_id:03d}``), or ``None``.
        dataset_name: registered dataset name (see ``pytracking.evaluation.datasets.dataset_dict``).
        sequence: run only this sequence: its name, or its index in the dataset (int or string of digits).
        debug: debug level; > 0 recomputes existing results and re-raises tracker errors.
        threads: number of worker processes (0: run in this process).
        visdom_info: ``{'use_visdom': bool, 'server': str, 'port': int}`` for the debug dashboard.
        dataset: a dataset (``SequenceList``, ``BaseDataset`` or list of sequences) to use instead of
            ``dataset_name``.
        trust_checkpoint: load the networks without the safe-unpickling allowlist (only for files from a trusted
            source).

    Returns:
        The :class:`pytracking.evaluation.running.RunSummary` of the run.

    Raises:
        ModuleNotFoundError: unknown tracker or parameter file (checked before any sequence runs).
        ltr.admin.loading.CheckpointNotFoundError: a network file of the parameters is missing (checked before
            any sequence runs; the message names the file, the directories searched and the download command).
    """
    from pytracking.evaluation.datasets import get_dataset
    from pytracking.evaluation.preflight import checked_tracker
    from pytracking.evaluation.running import run_dataset

    # Fail now on a misspelled tracker or parameter name or a missing network file, not once per sequence.
    tracker, _ = checked_tracker(tracker_name, tracker_param, run_id, trust_checkpoint=trust_checkpoint)

    sequences = select_sequences(get_dataset(dataset_name) if dataset is None else dataset, sequence)
    return run_dataset(sequences, [tracker], debug=debug, threads=threads, visdom_info=visdom_info)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (the original script's arguments)."""
    from pytracking.utils import cli

    parser = argparse.ArgumentParser(
        description="Run a tracker on a dataset or sequence.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    cli.add_tracker_arguments(parser)
    parser.add_argument("--runid", type=int, default=None, help="The run id.")
    parser.add_argument(
        "--dataset_name", "--dataset", dest="dataset_name", type=str, default="otb", help="Name of dataset."
    )
    parser.add_argument("--sequence", type=str, default=None, help="Sequence name or index.")
    cli.add_debug_arguments(parser, threads=True)
    cli.add_trust_checkpoint_argument(parser)
    return parser


def main(argv: SequenceType[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run, and return the exit status (1 if a sequence failed)."""
    from pytracking.utils import cli

    args = build_parser().parse_args(argv)
    cli.configure_logging()
    try:
        summary = run_tracker(
            args.tracker_name,
            args.tracker_param,
            args.runid,
            args.dataset_name,
            args.sequence,
            args.debug,
            args.threads,
            cli.visdom_info(args),
            trust_checkpoint=args.trust_checkpoint,
        )
    except (ModuleNotFoundError, KeyError, IndexError, FileNotFoundError, ValueError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
