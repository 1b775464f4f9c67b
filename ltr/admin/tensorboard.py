"""TensorBoard logging of the per-epoch training statistics (optional: needs the ``tensorboard`` package).

The layout is one event directory per loader (``<dir>/train``, ``<dir>/val``) plus ``<dir>/info`` holding the
run's module, script and description as text. TensorBoard is imported only when a writer is first needed, so
``import ltr`` never requires it; when it is missing the writer disables itself with a single warning.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["TensorboardWriter"]


def _summary_writer_factory() -> Callable[[str], Any] | None:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        warnings.warn(
            f"TensorBoard logging is off: torch.utils.tensorboard is not usable ({e}). Install it with "
            f"`pip install tensorboard`.",
            stacklevel=3,
        )
        return None
    return SummaryWriter


class TensorboardWriter:
    """Writes the epoch statistics of each loader as scalars.

    Args:
        directory: root event directory (``<env.tensorboard_dir>/<project_path>`` in the trainer).
        loader_names: one sub-directory (and writer) per loader.
        writer_factory: ``directory -> SummaryWriter``-like object (``add_scalar``, ``add_text``, ``flush``,
            ``close``); default ``torch.utils.tensorboard.SummaryWriter``.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        loader_names: Iterable[str],
        writer_factory: Callable[[str], Any] | None = None,
    ):
        self.directory = os.fspath(directory)
        self.loader_names = list(loader_names)
        self._factory = writer_factory
        self._writers: OrderedDict[str, Any] | None = None
        self.enabled = True

    def _writer(self, name: str) -> Any | None:
        if not self.enabled:
            return None
        if self._factory is None:
            self._factory = _summary_writer_factory()
            if self._factory is None:
                self.enabled = False
                return None
        if self._writers is None:
            self._writers = OrderedDict()
        if name not in self._writers:
            self._writers[name] = self._factory(os.path.join(self.directory, name))
        return self._writers[name]

    def write_info(self, module_name: str, script_name: str, description: str = "") -> None:
        """Record the train-settings module, script and description (as text under ``info``)."""
        writer = self._writer("info")
        if writer is None:
            return
        writer.add_text("Module_name", str(module_name))
        writer.add_text("Script_name", str(script_name))
        writer.add_text("Description", str(description))
        writer.flush()

    def write_epoch(self, stats: Mapping[str, Mapping[str, Any] | None], epoch: int, ind: int = -1) -> None:
        """Write entry ``ind`` of each statistic's history (the epoch just finished) at step ``epoch``.

        Args:
            stats: loader name -> (stat name -> ``AverageMeter`` / ``StatValue``), or None for a loader that has
                not run yet. Meters that got no update this epoch (``has_new_data`` False) are skipped.
            epoch: the global step.
            ind: which history entry to write.
        """
        for loader_name, loader_stats in stats.items():
            if not loader_stats:
                continue
            writer = None
            for name, meter in loader_stats.items():
                history = getattr(meter, "history", None)
                if not history or not getattr(meter, "has_new_data", True):
                    continue
                writer = writer or self._writer(loader_name)
                if writer is None:
                    return
                writer.add_scalar(name, float(history[ind]), epoch)
            if writer is not None:
                writer.flush()

    def close(self) -> None:
        """Close every writer opened so far."""
        for writer in (self._writers or {}).values():
            writer.close()
        self._writers = None
