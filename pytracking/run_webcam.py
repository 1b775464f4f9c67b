"""Interactive tracking on a webcam: draw boxes around targets with the mouse, the trackers follow them.

Examples (from the repository root, or ``python run_webcam.py ...`` from inside ``pytracking/``)::

    python -m pytracking.run_webcam dimp dimp50
    python -m pytracking.run_webcam csrt default --source clip.mp4   # a video standing in for the camera

Controls: press-drag-release the left mouse button to add a target (several allowed, one tracker each), ``r``
drops all targets, space pauses, ``q``/Esc quits. Needs a GUI build of OpenCV (``pip install
opencv-contrib-python``, not the ``-headless`` wheel) and a display; this is checked before anything starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    # Started as a file: Python put this folder first on sys.path, where its sub-packages (utils, libs, ...)
    # would shadow top-level modules; make the repository's package importable instead.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))


def run_webcam(
    tracker_name: str,
    tracker_param: str,
    debug: int | None = None,
    visdom_info: dict | None = None,
    source: int | str = 0,
    **kwargs: Any,
) -> Any:
    """Run the interactive tracker; see :func:`pytracking.evaluation.live.run_webcam` (same arguments).

    Returns:
        A :class:`pytracking.evaluation.live.LiveResult`.
    """
    from pytracking.evaluation import live  # imported here so that --help does not load torch

    return live.run_webcam(tracker_name, tracker_param, debug, visdom_info, source, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (the original script's arguments, plus --source)."""
    from pytracking.utils import cli

    parser = argparse.ArgumentParser(
        description="Run a tracker on a webcam.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    cli.add_tracker_arguments(parser)
    cli.add_debug_arguments(parser)
    parser.add_argument(
        "--source", type=str, default="0", help="Camera index, or a video file / stream URL standing in for a camera."
    )
    cli.add_trust_checkpoint_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run; returns the exit status (2 on errors)."""
    args = build_parser().parse_args(argv)
    from ltr.admin.loading import CheckpointError
    from pytracking.evaluation import live
    from pytracking.utils import cli

    try:
        result = live.run_webcam(
            args.tracker_name,
            args.tracker_param,
            args.debug,
            cli.visdom_info(args),
            live.parse_source(args.source),
            trust_checkpoint=args.trust_checkpoint,
        )
    except (
        FileNotFoundError,
        CheckpointError,
        live.VideoSourceError,
        live.GuiUnavailableError,
        ModuleNotFoundError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{result.num_frames} frames, {len(result.events)} events ({', '.join(result.kinds())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
