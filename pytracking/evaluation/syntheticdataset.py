"""The embedded synthetic benchmark (``synthetic``, ``synthetic_train``), generated into a cache on first use.

Layout and conventions: :mod:`pytracking.evaluation.synthetic.layout`. Frames ``<split>/<seq>/img/*.jpg``, boxes
``groundtruth.txt`` (exact tight boxes of the masks, ``0,0,0,0`` on absent frames), ``target_visible`` from
GOT-10k's ``absence.label``, masks ``masks/<frame>.png`` (object id 1), per-sequence ``attributes.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, list_frames, load_boxes, require_file
from pytracking.evaluation.environment import EnvSettings
from pytracking.evaluation.synthetic.generator import ATTRIBUTES
from pytracking.evaluation.synthetic.layout import default_root, ensure_split, read_sequence_names
from pytracking.utils.load_text import load_text

__all__ = ["SyntheticDataset"]


class SyntheticDataset(BaseDataset):
    """Synthetic sequences with exact boxes, masks, visibility and attribute labels.

    Args:
        split: ``'synthetic'`` (evaluation, 18 short sequences) or ``'synthetic_train'``.
        root: cache folder; default ``$PYTRACKING_SYNTHETIC_PATH``, the ``synthetic_path`` setting, or
            ``~/.cache/pytracking/synthetic``.
        generate: generate the split when it is missing or stale; with ``False`` an existing ``<root>/<split>``
            is read as it is.
        env: settings; see :class:`~pytracking.evaluation.data.BaseDataset`.
        **params: generation parameters passed to
            :func:`~pytracking.evaluation.synthetic.layout.ensure_split` (``seed``, ``num_sequences``, ``width``,
            ``num_workers``, ...).
    """

    name = "synthetic"
    path_attr = None

    def __init__(
        self,
        split: str = "synthetic",
        root: str | os.PathLike | None = None,
        generate: bool = True,
        env: EnvSettings | None = None,
        **params: Any,
    ) -> None:
        super().__init__(root=None, env=env)
        self.split = split
        self.generate = generate
        self.params = params
        self._root_arg = root
        self._split_path: Path | None = None
        self._names: list[str] | None = None

    @property
    def split_path(self) -> Path:
        """``<root>/<split>``; generated here on first access (when ``generate``)."""
        if self._split_path is None:
            root = Path(self._root_arg) if self._root_arg is not None else default_root(self.env_settings)
            if self.generate:
                path = ensure_split(self.split, root, **self.params)
            else:
                path = root / self.split
                require_file(path / "list.txt", f"Dataset {self.name!r} ({self.split}, generate=False): list.txt")
            self.base_path = root
            self._split_path = path
        return self._split_path

    def sequence_names(self) -> list[str]:
        if self._names is None:
            self._names = read_sequence_names(self.split_path)
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        seq_dir = self.split_path / name
        context = f"{self.name} sequence {name!r}"
        frames = lazy(lambda: list_frames(seq_dir / "img", f"{context}: frame folder"))
        gt = lazy(lambda: load_boxes(seq_dir / "groundtruth.txt", f"{context}: ground-truth file"))

        def visible() -> np.ndarray:
            absence = load_text(require_file(seq_dir / "absence.label", f"{context}: absence.label"), dtype=np.int64)
            return absence.reshape(-1) == 0

        def masks() -> list[str]:
            return [os.fspath(seq_dir / "masks" / (Path(f).stem + ".png")) for f in frames()]

        return Sequence(
            name,
            frames,
            self.name,
            gt,
            ground_truth_seg=masks,
            object_class="synthetic",
            target_visible=visible,
        )

    def get_attributes(self) -> dict[str, list[str]]:
        """Attribute -> names of the sequences that have it, for every attribute (lists may be empty)."""
        out: dict[str, list[str]] = {attr: [] for attr in ATTRIBUTES}
        for name in self.sequence_names():
            labels = json.loads((self.split_path / name / "attributes.json").read_text())
            for attr, flag in labels.items():
                if flag:
                    out.setdefault(attr, []).append(name)
        return out
