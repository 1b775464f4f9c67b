"""DAVIS video object segmentation (2016 single-object, 2017 multi-object), read as :class:`Sequence` objects.

Layout under ``davis_dir``: frames ``JPEGImages/<resolution>/<seq>/*.jpg``, masks ``Annotations/<resolution>/<seq>/
*.png`` (2017: palette PNGs of object ids; 2016: grayscale 0/255, read as id 1), sequence lists
``ImageSets/<version>/<split>.txt``. Without an ``ImageSets`` list (and without ``sequences=``) the sequence folders
under ``Annotations/<resolution>`` are used.

Each sequence is multi-object (``multiobj_mode=True``): object ids are the non-zero labels of the first mask (read
when first needed); frame 0 initialises every object with its mask and mask box. ``ground_truth_rect`` is a dict
object id -> (N, 4) of pixel-inclusive mask boxes, NaN where a frame has no mask or the object is absent (all masks
are read on first access). Objects that appear after frame 0 are not initialised.

Reference: Perazzi et al., CVPR 2016; Pont-Tuset et al., "The 2017 DAVIS Challenge on Video Object Segmentation".
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, list_frames, mask_box, read_label_map
from pytracking.evaluation.environment import EnvSettings

__all__ = ["DAVISDataset", "mask_annotations"]

_SPLITS = ("train", "val", "test-dev", "test-challenge")


def mask_annotations(frames: list[str], anno_dir: Path) -> list[str | None]:
    """Annotation path per frame (``<anno_dir>/<frame stem>.png``), ``None`` where no mask file exists."""
    present = set(os.listdir(anno_dir)) if Path(anno_dir).is_dir() else set()
    out: list[str | None] = []
    for frame in frames:
        fname = os.path.splitext(os.path.basename(frame))[0] + ".png"
        out.append(os.path.join(anno_dir, fname) if fname in present else None)
    return out


def boxes_from_masks(annos: list[str | None], object_ids: list[str]) -> OrderedDict:
    """Per-object (N, 4) mask boxes; NaN rows where a frame has no mask or the object is absent."""
    gt = OrderedDict((oid, np.full((len(annos), 4), np.nan)) for oid in object_ids)
    for i, path in enumerate(annos):
        if path is None:
            continue
        labels = read_label_map(path)
        for oid in object_ids:
            gt[oid][i] = mask_box(labels == int(oid))
    return gt


class DAVISDataset(BaseDataset):
    """DAVIS (``davis_dir``).

    Args:
        version: ``'2016'`` or ``'2017'`` (chooses ``ImageSets/<version>``).
        split: ``'train'``, ``'val'``, ``'test-dev'`` or ``'test-challenge'``.
        sequences: sequence names to use instead of the ``ImageSets`` list.
        resolution: image resolution folder.
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "davis"
    path_attr = "davis_dir"

    def __init__(
        self,
        version: str = "2017",
        split: str = "val",
        sequences: list[str] | None = None,
        resolution: str = "480p",
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
    ) -> None:
        if str(version) not in ("2016", "2017"):
            raise ValueError(f"DAVISDataset: unknown version {version!r}; choose '2016' or '2017'")
        if split not in _SPLITS:
            raise ValueError(f"DAVISDataset: unknown split {split!r}; choose one of {_SPLITS}")
        super().__init__(root=root, env=env)
        self.version, self.split, self.resolution = str(version), split, resolution
        self._names = list(sequences) if sequences is not None else None

    def sequence_names(self) -> list[str]:
        if self._names is None:
            list_file = Path(self.base_path) / "ImageSets" / self.version / f"{self.split}.txt"
            if list_file.is_file():
                self._names = [ln.strip() for ln in list_file.read_text().splitlines() if ln.strip()]
            else:
                anno_root = Path(self.base_path) / "Annotations" / self.resolution
                if not anno_root.is_dir():
                    raise FileNotFoundError(
                        f"Dataset {self.name!r}: neither the sequence list {list_file} nor {anno_root} exists"
                    )
                self._names = sorted(d for d in os.listdir(anno_root) if (anno_root / d).is_dir())
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        root = Path(self.base_path)
        context = f"{self.name} sequence {name!r}"
        frames = lazy(lambda: list_frames(root / "JPEGImages" / self.resolution / name, f"{context}: frame folder"))
        annos = lazy(lambda: mask_annotations(frames(), root / "Annotations" / self.resolution / name))

        @lazy
        def object_ids() -> list[str]:
            first = annos()[0]
            if first is None:
                raise FileNotFoundError(f"{context}: first-frame mask not found for frame {frames()[0]}")
            labels = read_label_map(first)
            return [str(v) for v in np.unique(labels) if v != 0]

        def init_data() -> dict:
            labels = read_label_map(annos()[0])
            ids = object_ids()
            boxes = OrderedDict((oid, mask_box(labels == int(oid))) for oid in ids)
            return {0: {"mask": annos()[0], "object_ids": ids, "bbox": boxes}}

        return Sequence(
            name,
            frames,
            self.name,
            lambda: boxes_from_masks(annos(), object_ids()),
            ground_truth_seg=annos,
            init_data=init_data,
            object_ids=object_ids,
            multiobj_mode=True,
        )
