"""Run a training experiment: ``ltr/train_settings/<train_module>/<train_name>.py``.

Examples (from the repository root; the first form works from any directory once the package is installed)::

    python -m ltr.run_training dimp dimp50
    cd ltr && python run_training.py bbreg atom --no-cudnn_benchmark --seed 1
    torchrun --nproc_per_node 4 -m ltr.run_training dimp super_dimp

Checkpoints go to ``{workspace_dir}/checkpoints/ltr/<train_module>/<train_name>/``; a run started again resumes
from the latest one. Under ``torchrun`` the process group is initialised before the settings module runs (see
:mod:`ltr.admin.distributed`); each process trains on its own share of the data and only rank 0 writes.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    # Started as a file: Python put this folder first on sys.path, where its sub-packages (data, models, ...) would
    # shadow top-level modules; make the repository's packages importable instead.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

__all__ = ["UnknownTrainSettingsError", "available_settings", "build_parser", "main", "run_training", "seed_all"]

SETTINGS_PACKAGE = "ltr.train_settings"


class UnknownTrainSettingsError(LookupError):
    """No settings module ``ltr/train_settings/<module>/<name>.py``."""


def available_settings() -> list[str]:
    """Every ``<module>/<name>`` under ``ltr/train_settings``, sorted."""
    package = importlib.import_module(SETTINGS_PACKAGE)
    found = []
    for group in pkgutil.iter_modules(package.__path__):
        if not group.ispkg:
            continue
        sub = importlib.import_module(f"{SETTINGS_PACKAGE}.{group.name}")
        found += [f"{group.name}/{m.name}" for m in pkgutil.iter_modules(sub.__path__) if not m.ispkg]
    return sorted(found)


def _settings_module_name(train_module: str, train_name: str) -> str:
    name = f"{SETTINGS_PACKAGE}.{train_module}.{train_name}"
    spec = None
    if all(part.isidentifier() for part in (train_module, train_name)):
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
    if spec is None:
        listing = "\n".join(f"  {s}" for s in available_settings()) or "  (none)"
        raise UnknownTrainSettingsError(
            f"No training settings '{train_module}/{train_name}' (expected ltr/train_settings/{train_module}/"
            f"{train_name}.py). Available settings (module/name):\n{listing}"
        )
    return name


def seed_all(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's ``random``."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def run_training(
    train_module: str,
    train_name: str,
    cudnn_benchmark: bool = True,
    seed: int | None = None,
    settings: Any = None,
) -> Any:
    """Run ``ltr.train_settings.<train_module>.<train_name>.run(settings)``.

    Args:
        train_module: settings group, e.g. ``'dimp'``.
        train_name: settings file, e.g. ``'dimp50'``.
        cudnn_benchmark: let cuDNN pick the fastest convolution algorithms (not bit-reproducible).
        seed: seed every random generator (offset by the process rank under torchrun, so processes draw
            different samples); None leaves them unseeded.
        settings: a ``Settings`` object to fill in (default a new one).

    Returns:
        Whatever the settings module's ``run`` returns.

    Raises:
        UnknownTrainSettingsError: no such settings module (the message lists the available ones).
    """
    import torch

    from ltr.admin import distributed
    from ltr.admin.settings import Settings

    module_name = _settings_module_name(train_module, train_name)
    started_group = not distributed.is_distributed() and distributed.init_distributed()
    try:
        torch.backends.cudnn.benchmark = cudnn_benchmark
        if settings is None:
            settings = Settings()
        settings.module_name = train_module
        settings.script_name = train_name
        settings.project_path = f"ltr/{train_module}/{train_name}"
        if distributed.is_distributed():
            settings.rank = distributed.get_rank()
            settings.world_size = distributed.get_world_size()
            settings.local_rank = distributed.get_local_rank()
        if seed is not None:
            settings.seed = seed
            seed_all(seed + distributed.get_rank())
        return importlib.import_module(module_name).run(settings)
    finally:
        if started_group:
            distributed.cleanup()


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        description="Run a training experiment (ltr/train_settings/<train_module>/<train_name>.py).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("train_module", help="Settings group in ltr/train_settings, e.g. dimp.")
    parser.add_argument("train_name", help="Settings file in that group, e.g. dimp50.")
    parser.add_argument(
        "--cudnn_benchmark",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Let cuDNN benchmark convolution algorithms (faster, not bit-reproducible).",
    )
    parser.add_argument("--seed", type=int, default=None, help="Seed the random generators (plus the process rank).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        import cv2

        cv2.setNumThreads(0)  # OpenCV's own threads compete with the data-loader workers
    except ImportError:
        pass
    import torch.multiprocessing as mp

    # Loader workers are started fresh rather than forked from a process that may hold CUDA state.
    mp.set_start_method("spawn", force=True)
    try:
        run_training(args.train_module, args.train_name, cudnn_benchmark=args.cudnn_benchmark, seed=args.seed)
    except UnknownTrainSettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
