"""Track one target through a video file.

Examples (from the repository root, or ``python run_video.py ...`` from inside ``pytracking/``)::

    python -m pytracking.run_video dimp dimp50 clip.mp4 --optional_box 205 151 17 50 --save_results
    python pytracking/run_video.py csrt default clip.mp4            # select the box in a window

Without ``--optional_box`` the first frame opens in an OpenCV window to select the target; that needs a GUI build
of OpenCV (not ``opencv-*-headless``) and a display. ``--save_results`` writes
``{results_path}/{tracker_name}/{tracker_param}[_{runid:03d}]/video_<stem>.txt`` (one TAB-separated integer box
per frame). While a window shows the tracking, ``q``/Esc stops and ``r`` selects a new box.
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


def run_video(
    tracker_name: str,
    tracker_param: str,
    videofile: str,
    optional_box: Sequence[float] | None = None,
    debug: int | None = None,
    save_results: bool = False,
    run_id: int | None = None,
    display: Any = None,
    *,
    trust_checkpoint: bool = False,
) -> Any:
    """Run the tracker on ``videofile``; see :func:`pytracking.evaluation.live.run_video` (same arguments).

    Returns:
        A :class:`pytracking.evaluation.live.VideoResult` (``.boxes``: (N, 4) per-frame boxes).
    """
    from pytracking.evaluation import live  # imported here so that --help does not load torch

    return live.run_video(
        tracker_name,
        tracker_param,
        videofile,
        optional_box,
        debug,
        save_results,
        run_id,
        display,
        trust_checkpoint=trust_checkpoint,
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (the original script's arguments, plus --runid and --display)."""
    from pytracking.utils import cli

    parser = argparse.ArgumentParser(
        description="Run a tracker on a video file.", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    cli.add_tracker_arguments(parser)
    parser.add_argument("videofile", type=str, help="Path to a video file.")
    parser.add_argument(
        "--optional_box",
        type=float,
        nargs=4,
        default=None,
        metavar=("X", "Y", "W", "H"),
        help="Initial box on the first frame (otherwise select it in a window).",
    )
    cli.add_debug_arguments(parser, visdom=False)
    parser.add_argument(
        "--save_results",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="Save the boxes to {results_dir}/video_<stem>.txt.",
    )
    parser.add_argument("--runid", type=int, default=None, help="The run id.")
    parser.add_argument(
        "--display",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Show the tracking in a window (default: when OpenCV can open one).",
    )
    cli.add_trust_checkpoint_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run, print a summary; returns the exit status (2 on errors)."""
    args = build_parser().parse_args(argv)
    from ltr.admin.loading import CheckpointError
    from pytracking.evaluation import live

    display = None
    try:
        if args.display or (args.display is None and live.opencv_gui_problem() is None):
            display = live.OpenCVDisplay(f"{args.tracker_name}/{args.tracker_param}: {Path(args.videofile).name}")
        result = live.run_video(
            args.tracker_name,
            args.tracker_param,
            args.videofile,
            args.optional_box,
            args.debug,
            args.save_results,
            args.runid,
            display,
            trust_checkpoint=args.trust_checkpoint,
        )
    except (
        FileNotFoundError,
        CheckpointError,
        live.VideoSourceError,
        live.GuiUnavailableError,
        ModuleNotFoundError,
        ValueError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if display is not None:
            display.close()
    print(f"{args.tracker_name}/{args.tracker_param} on {args.videofile}: {result.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
