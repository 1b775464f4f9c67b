"""Per-stage wall-clock timing of a tracker's frame (what ``benchmarks/bench_tracker_frame.py`` reports)."""

from __future__ import annotations

import time

import torch

__all__ = ["StageTimer"]


class StageTimer:
    """Splits a frame into consecutive stages: ``lap(name)`` charges the time since the previous lap to ``name``.

    Args:
        sync_cuda: wait for queued CUDA work at each lap, so GPU stages are charged correctly (slower; the tracker
            enables it only for benchmarks).

    ``times`` maps stage name -> seconds for the current frame (laps with the same name add up).
    """

    def __init__(self, sync_cuda: bool = False) -> None:
        self.sync_cuda = sync_cuda and torch.cuda.is_available()
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def start(self) -> None:
        """Begin a new frame: forget the previous frame's stages."""
        self.times = {}
        self._sync()
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        """Charge the time since the previous lap (or :meth:`start`) to stage ``name``."""
        self._sync()
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self._last
        self._last = now

    def _sync(self) -> None:
        if self.sync_cuda:
            torch.cuda.synchronize()
