"""Checks an entry point makes before it starts tracking, so that a typo or a missing network file fails once, with
a clear message, instead of once per sequence or after a window or camera has opened."""

from __future__ import annotations

from typing import Any

from pytracking.evaluation.tracker import Tracker

__all__ = ["checked_tracker"]


def checked_tracker(
    tracker_name: str, tracker_param: str, run_id: int | None = None, *, trust_checkpoint: bool = False
) -> tuple[Tracker, Any]:
    """A :class:`Tracker` whose class, parameter file and network files were all found, with its parameters.

    Args:
        tracker_name: tracker package under ``pytracking/tracker``.
        tracker_param: parameter file under ``pytracking/parameter/<tracker_name>``.
        run_id: run number, or ``None``.
        trust_checkpoint: load the networks without the safe-unpickling allowlist (trusted files only).

    Returns:
        ``(tracker, params)``: ``params`` is one ``tracker.get_parameters()`` result, as the file defines it.

    Raises:
        ModuleNotFoundError: unknown tracker or parameter file (the message lists the available ones).
        ltr.admin.loading.CheckpointNotFoundError: a network file of the parameters is missing.
    """
    from pytracking.features.net_wrappers import check_networks

    tracker = Tracker(tracker_name, tracker_param, run_id, trust_checkpoint=trust_checkpoint)
    _ = tracker.tracker_class  # resolving the class is what fails on a misspelled tracker name
    params = tracker.get_parameters()
    check_networks(params)
    return tracker, params
