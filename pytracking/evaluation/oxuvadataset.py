"""OxUvA long-term tracking benchmark: ``dev`` (200 tracks) and ``test`` (366 tracks).

Layout: ``{oxuva_path}/tasks/<split>.csv`` with rows ``video_id, object_id, init_frame, last_frame, xmin, xmax, ymin,
ymax`` (box coordinates normalised to [0, 1] by the image size) and frames
``images/<split>/<video_id>/{frame:06d}.jpeg`` for ``frame = init_frame .. last_frame``.

Sequence name: ``<video_id>_<object_id>``. The ground truth is -1 (unknown) on every frame except frame 0, whose box
is the task's initial box converted to pixels: ``x = xmin * W``, ``y = ymin * H``, ``w = (xmax - xmin) * W``,
``h = (ymax - ymin) * H``, with W, H read from the first frame's image header (only that file is opened, when the
ground truth is first used). The dense 1 Hz annotations of ``annotations/dev.csv`` are not read.

Reference: Valmadre et al., "Long-term Tracking in the Wild: A Benchmark", ECCV 2018.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, require_file
from pytracking.evaluation.environment import EnvSettings

__all__ = ["OxUvADataset"]


def _image_size(path: str) -> tuple[int, int]:
    from PIL import Image  # optional import: only when a task's box is converted

    with Image.open(require_file(Path(path), "OxUvA frame")) as im:
        return im.size


class OxUvADataset(BaseDataset):
    """OxUvA (``oxuva_path``).

    Args:
        split: ``'dev'`` or ``'test'``.
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "oxuva"
    path_attr = "oxuva_path"

    def __init__(
        self, split: str = "dev", root: str | os.PathLike | None = None, env: EnvSettings | None = None
    ) -> None:
        if split not in ("dev", "test"):
            raise ValueError(f"OxUvADataset: unknown split {split!r}; choose 'dev' or 'test'")
        super().__init__(root=root, env=env)
        self.split = split
        self._tasks: dict[str, dict] | None = None

    def _read_tasks(self) -> dict[str, dict]:
        if self._tasks is None:
            task_file = require_file(Path(self.base_path) / "tasks" / f"{self.split}.csv", "OxUvA task list")
            tasks = {}
            with open(task_file, newline="") as f:
                for row in csv.reader(f):
                    if not row or not row[0].strip():
                        continue
                    vid, obj = row[0].strip(), row[1].strip()
                    init_frame, last_frame = int(row[2]), int(row[3])
                    xmin, xmax, ymin, ymax = (float(v) for v in row[4:8])
                    tasks[f"{vid}_{obj}"] = {
                        "video": vid,
                        "object": obj,
                        "init_frame": init_frame,
                        "last_frame": last_frame,
                        "box": (xmin, xmax, ymin, ymax),
                    }
            self._tasks = tasks
        return self._tasks

    def sequence_names(self) -> list[str]:
        return list(self._read_tasks())

    def _construct_sequence(self, name: str) -> Sequence:
        task = self._read_tasks()[name]
        folder = Path(self.base_path) / "images" / self.split / task["video"]
        frames = [os.path.join(folder, f"{i:06d}.jpeg") for i in range(task["init_frame"], task["last_frame"] + 1)]

        def ground_truth() -> np.ndarray:
            width, height = _image_size(frames[0])
            xmin, xmax, ymin, ymax = task["box"]
            gt = np.full((len(frames), 4), -1.0)
            gt[0] = [xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height]
            return gt

        return Sequence(name, frames, self.name, lazy(ground_truth))
