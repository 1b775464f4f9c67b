"""Command-line arguments shared by the pytracking entry points (``run_tracker``, ``run_experiment``, ``run_video``,
``run_webcam``), so each flag has one spelling, default and help text.

Only the standard library is imported here: the scripts build their parser before loading torch, so ``--help``
stays fast.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

__all__ = [
    "add_debug_arguments",
    "add_tracker_arguments",
    "add_trust_checkpoint_argument",
    "configure_logging",
    "visdom_info",
]


def add_tracker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the positional ``tracker_name`` and ``tracker_param``."""
    parser.add_argument("tracker_name", type=str, help="Name of tracking method (pytracking/tracker/<name>).")
    parser.add_argument("tracker_param", type=str, help="Name of parameter file (pytracking/parameter/<name>/).")


def add_debug_arguments(parser: argparse.ArgumentParser, *, threads: bool = False, visdom: bool = True) -> None:
    """Add ``--debug``, then optionally ``--threads`` and the Visdom dashboard options.

    Args:
        parser: the parser to extend.
        threads: also add ``--threads`` (worker processes for dataset runs).
        visdom: also add ``--use_visdom``/``--no-use_visdom``, ``--visdom_server`` and ``--visdom_port`` (read
            back with :func:`visdom_info`).
    """
    parser.add_argument("--debug", type=int, default=0, help="Debug level.")
    if threads:
        parser.add_argument("--threads", type=int, default=0, help="Number of worker processes (0: none).")
    if visdom:
        parser.add_argument(
            "--use_visdom", action=argparse.BooleanOptionalAction, default=True, help="Show debug output in Visdom."
        )
        parser.add_argument("--visdom_server", type=str, default="127.0.0.1", help="Server for visdom.")
        parser.add_argument("--visdom_port", type=int, default=8097, help="Port for visdom.")


def visdom_info(args: argparse.Namespace) -> dict[str, Any]:
    """``{'use_visdom', 'server', 'port'}`` from arguments parsed with :func:`add_debug_arguments`."""
    return {"use_visdom": args.use_visdom, "server": args.visdom_server, "port": args.visdom_port}


def add_trust_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust-checkpoint``/``--no-trust-checkpoint`` (dest ``trust_checkpoint``, default False)."""
    parser.add_argument(
        "--trust-checkpoint",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Load network files without the safe-unpickling allowlist (only for files from a trusted source).",
    )


def configure_logging() -> None:
    """Send INFO and above to stderr as ``LEVEL logger: message`` (the progress lines of dataset runs)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
