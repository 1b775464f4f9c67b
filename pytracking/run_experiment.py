"""Run an experiment: a function in ``pytracking/experiments/<module>.py`` returning ``(trackers, dataset)``.

Examples (from the repository root; the first form works from any directory once the package is installed)::

    python -m pytracking.run_experiment myexperiments reference_trackers_synthetic --threads 2
    python -m pytracking.run_experiment myexperiments reference_trackers_otb --threads 4
    python pytracking/run_experiment.py myexperiments reference_trackers_otb_crossing_girl
"""

from __future__ import annotations

import argparse
import importlib
import inspect
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

EXPERIMENTS_PACKAGE = "pytracking.experiments"


def load_experiment(experiment_module: str, experiment_name: str) -> Any:
    """The experiment function ``experiment_name`` of ``pytracking.experiments.<experiment_module>``.

    Raises:
        ModuleNotFoundError: no such module (the message lists the experiment modules).
        AttributeError: no such function in it (the message lists its functions).
    """
    import pkgutil

    module_name = f"{EXPERIMENTS_PACKAGE}.{experiment_module}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise  # the module exists but one of its own imports is missing
        package = importlib.import_module(EXPERIMENTS_PACKAGE)
        available = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
        raise ModuleNotFoundError(
            f"no experiment module {experiment_module!r}; available: {', '.join(available)}", name=module_name
        ) from e
    function = getattr(module, experiment_name, None)
    if not callable(function):
        available = sorted(
            name
            for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")
        )
        raise AttributeError(
            f"experiment module {experiment_module!r} has no experiment {experiment_name!r}; "
            f"available: {', '.join(available)}"
        )
    return function


def run_experiment(
    experiment_module: str,
    experiment_name: str,
    debug: int = 0,
    threads: int = 0,
    visdom_info: dict | None = None,
    report: bool = False,
) -> Any:
    """Run the trackers of an experiment on its dataset and save the results.

    Args:
        experiment_module: module name in ``pytracking/experiments``.
        experiment_name: function in that module returning ``(trackers, dataset)``.
        debug: debug level; > 0 recomputes existing results and re-raises tracker errors.
        threads: number of worker processes (0: run in this process).
        visdom_info: ``{'use_visdom': bool, 'server': str, 'port': int}`` for the debug dashboard.
        report: afterwards, print the score table (AUC, OP50, OP75, precision, normalised precision) of the
            experiment, cached under ``{result_plot_path}/<module>_<name>``.

    Returns:
        The :class:`pytracking.evaluation.running.RunSummary` of the run.
    """
    from pytracking.evaluation.running import run_dataset

    trackers, dataset = load_experiment(experiment_module, experiment_name)()
    summary = run_dataset(dataset, trackers, debug=debug, threads=threads, visdom_info=visdom_info)
    if report and summary.ok:
        from pytracking.analysis.plot_results import print_results

        print_results(
            trackers, dataset, f"{experiment_module}_{experiment_name}", plot_types=("success", "prec", "norm_prec")
        )
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    from pytracking.utils import cli

    parser = argparse.ArgumentParser(
        description="Run an experiment (trackers x dataset).", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("experiment_module", type=str, help="Module in pytracking/experiments, e.g. myexperiments.")
    parser.add_argument("experiment_name", type=str, help="Function in that module returning (trackers, dataset).")
    cli.add_debug_arguments(parser, threads=True)
    parser.add_argument(
        "--report", action=argparse.BooleanOptionalAction, default=True, help="Print the score table at the end."
    )
    return parser


def main(argv: SequenceType[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run, and return the exit status (1 if a sequence failed)."""
    from pytracking.utils import cli

    args = build_parser().parse_args(argv)
    cli.configure_logging()
    try:
        summary = run_experiment(
            args.experiment_module,
            args.experiment_name,
            args.debug,
            args.threads,
            cli.visdom_info(args),
            report=args.report,
        )
    except (ModuleNotFoundError, AttributeError, KeyError, FileNotFoundError, ValueError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
