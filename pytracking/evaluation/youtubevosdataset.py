"""YouTube-VOS (2018, 2019) video object segmentation, read as :class:`Sequence` objects.

Layout under ``youtubevos_dir``: ``<version>/<split>/meta.json``, ``<version>/<split>/JPEGImages/<seq>/*.jpg`` and
``<version>/<split>/Annotations/<seq>/*.png`` (palette PNGs of object ids). ``all_frames=True`` reads the frames
from ``<split>_all_frames/JPEGImages`` (the meta and masks stay those of ``<split>``). Split ``'jjvalid'`` is a
subset of ``train`` whose names come from ``sequence_file`` (default ``{dataspec_path}/youtubevos_jjvalid.txt``).

``meta.json`` gives, for every video, its objects and the frames in which each appears: an object is initialised
with the mask of its first listed frame. Sequences are multi-object; the earliest initialisation frame becomes
frame 0. ``ground_truth_rect`` is ``None`` (the benchmark is scored on masks).

Reference: Xu et al., "YouTube-VOS: A Large-Scale Video Object Segmentation Benchmark", 2018.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

from pytracking.evaluation.data import BaseDataset, Sequence, lazy, list_frames, mask_box, read_label_map
from pytracking.evaluation.davisdataset import mask_annotations
from pytracking.evaluation.environment import EnvSettings

__all__ = ["YouTubeVOSDataset"]


class YouTubeVOSDataset(BaseDataset):
    """YouTube-VOS (``youtubevos_dir``).

    Args:
        version: ``'2018'`` or ``'2019'``.
        split: ``'train'``, ``'valid'``, ``'test'`` or ``'jjvalid'``.
        all_frames: read frames from ``<split>_all_frames`` (every frame, not every 5th).
        sequence_file: names (one per line) to use instead of all videos of ``meta.json``.
        root, env: see :class:`~pytracking.evaluation.data.BaseDataset`.
    """

    name = "yt2019"
    path_attr = "youtubevos_dir"

    def __init__(
        self,
        version: str = "2019",
        split: str = "valid",
        all_frames: bool = False,
        sequence_file: str | os.PathLike | None = None,
        root: str | os.PathLike | None = None,
        env: EnvSettings | None = None,
    ) -> None:
        if str(version) not in ("2018", "2019"):
            raise ValueError(f"YouTubeVOSDataset: unknown version {version!r}; choose '2018' or '2019'")
        if split not in ("train", "valid", "test", "jjvalid"):
            raise ValueError(f"YouTubeVOSDataset: unknown split {split!r}")
        self.name = f"yt{version}"
        super().__init__(root=root, env=env)
        data_split = "train" if split == "jjvalid" else split
        self.split_path = Path(self.base_path) / str(version) / data_split
        self.frame_path = Path(self.base_path) / str(version) / (data_split + ("_all_frames" if all_frames else ""))
        if split == "jjvalid" and sequence_file is None:
            sequence_file = self._root_from("dataspec_path", None, "data-spec folder") / "youtubevos_jjvalid.txt"
        self.sequence_file = sequence_file
        self._meta: dict | None = None
        self._names: list[str] | None = None

    def _videos(self) -> dict:
        if self._meta is None:
            meta_file = self.split_path / "meta.json"
            if not meta_file.is_file():
                raise FileNotFoundError(f"Dataset {self.name!r}: meta file not found: {meta_file}")
            self._meta = json.loads(meta_file.read_text())["videos"]
        return self._meta

    def sequence_names(self) -> list[str]:
        if self._names is None:
            if self.sequence_file is not None:
                path = Path(self.sequence_file)
                if not path.is_file():
                    raise FileNotFoundError(f"Dataset {self.name!r}: sequence list not found: {path}")
                self._names = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
            else:
                self._names = sorted(self._videos())
        return list(self._names)

    def _construct_sequence(self, name: str) -> Sequence:
        context = f"{self.name} sequence {name!r}"
        frames = lazy(lambda: list_frames(self.frame_path / "JPEGImages" / name, f"{context}: frame folder"))
        annos = lazy(lambda: mask_annotations(frames(), self.split_path / "Annotations" / name))

        @lazy
        def objects() -> OrderedDict:
            videos = self._videos()
            if name not in videos:
                raise KeyError(f"{context}: not listed in {self.split_path / 'meta.json'}")
            objs = videos[name]["objects"]
            return OrderedDict((str(k), objs[k]) for k in sorted(objs, key=int))

        def init_data() -> dict:
            stems = [os.path.splitext(os.path.basename(f))[0] for f in frames()]
            index = {s: i for i, s in enumerate(stems)}
            data: dict[int, dict] = {}
            for oid, obj in objects().items():
                first = obj["frames"][0]
                if first not in index:
                    raise FileNotFoundError(f"{context}: frame {first!r} of object {oid} not found among the frames")
                entry = data.setdefault(index[first], {"mask": annos()[index[first]], "object_ids": [], "bbox": {}})
                entry["object_ids"].append(oid)
            for entry in data.values():
                if entry["mask"] is None:
                    raise FileNotFoundError(f"{context}: initialisation mask missing in {self.split_path}")
                labels = read_label_map(entry["mask"])
                entry["bbox"] = OrderedDict((oid, mask_box(labels == int(oid))) for oid in entry["object_ids"])
            return dict(sorted(data.items()))

        return Sequence(
            name,
            frames,
            self.name,
            None,
            ground_truth_seg=annos,
            init_data=init_data,
            object_ids=lambda: list(objects()),
            multiobj_mode=True,
        )
