"""TrackingNet training dataset.

Layout under ``trackingnet_dir``::

    TRAIN_<s>/anno/<video>.txt             x,y,w,h per frame (','), s = 0..11
    TRAIN_<s>/frames/<video>/<i>.jpg       frames, 0-based (0.jpg, 1.jpg, ...)

TrackingNet has no occlusion labels: a frame is visible when its box is valid. Object classes come from a class map
(``<video>\\t<class>`` per line), by default ``ltr/data_specs/trackingnet_classmap.txt``; that file is not shipped
with this package (it is PyTracking's ``ltr/data_specs/trackingnet_classmap.txt``). Without it the dataset works but
has no class information.

Reference: Mueller et al., "TrackingNet: A Large-Scale Dataset and Benchmark for Object Tracking in the Wild",
ECCV 2018.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from ltr.data.image_loader import default_image_loader
from ltr.data_specs import DATA_SPECS_DIR
from ltr.dataset.base_video_dataset import (
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    load_boxes,
    resolve_root,
    sample_fraction,
    valid_boxes,
)

__all__ = ["TrackingNet", "read_class_map"]

_LAYOUT = "TRAIN_<s>/anno/<video>.txt and TRAIN_<s>/frames/<video>/<i>.jpg for the chunks s = 0..11"
CLASS_MAP_FILE = "trackingnet_classmap.txt"
UNKNOWN_CLASS = "Unknown"


def read_class_map(path: PathLike) -> dict[str, str]:
    """Video name -> class name from a TAB-separated class map.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line without exactly one TAB (the message names the file and the line).
    """
    mapping = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise ValueError(f"'{os.fspath(path)}', line {number}: expected '<video>\\t<class>', got {line!r}")
            mapping[parts[0]] = parts[1]
    return mapping


class TrackingNet(BaseVideoDataset):
    """TrackingNet training videos of some chunks.

    Args:
        root: dataset folder; default the ``trackingnet_dir`` setting.
        image_loader: reads a frame as (H, W, 3) uint8 RGB.
        set_ids: chunk numbers ``TRAIN_<s>`` to use; default ``0..11``.
        data_fraction: keep a random fraction of the sequences.
        class_map: class map file; default ``ltr/data_specs/trackingnet_classmap.txt`` when present.
        seed: seed of the ``data_fraction`` draw (``None``: the global :mod:`random` state).

    Videos are ordered by chunk, then by name (the original took the directory listing's order).

    Raises:
        FileNotFoundError: the dataset folder, a chunk's ``anno`` folder or an explicitly given class map is
            missing.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        image_loader: ImageLoader = default_image_loader,
        set_ids: Sequence[int] | None = None,
        data_fraction: float | None = None,
        class_map: PathLike | None = None,
        seed: int | None = 0,
    ) -> None:
        root = resolve_root("TrackingNet", "trackingnet_dir", root, _LAYOUT)
        super().__init__("trackingnet", root, image_loader)
        self.set_ids = list(range(12)) if set_ids is None else list(set_ids)
        self.sequence_list: list[tuple[int, str]] = sample_fraction(
            self._list_sequences(root, self.set_ids), data_fraction, seed
        )

        map_path = Path(class_map) if class_map is not None else DATA_SPECS_DIR / CLASS_MAP_FILE
        self.class_map_path = map_path
        if class_map is not None or map_path.is_file():
            self.seq_to_class_map: dict[str, str] | None = read_class_map(map_path)
            self._build_seq_per_class([self.seq_to_class_map.get(v, UNKNOWN_CLASS) for _, v in self.sequence_list])
        else:
            self.seq_to_class_map = None

    @staticmethod
    def _list_sequences(root: Path, set_ids: Sequence[int]) -> list[tuple[int, str]]:
        sequences = []
        for s in set_ids:
            anno_dir = root / f"TRAIN_{s}" / "anno"
            if not anno_dir.is_dir():
                raise FileNotFoundError(f"TrackingNet: annotation folder {os.fspath(anno_dir)} not found ({_LAYOUT})")
            names = sorted(f[: -len(".txt")] for f in os.listdir(anno_dir) if f.endswith(".txt"))
            sequences.extend((s, name) for name in names)
        return sequences

    # ---- API ---------------------------------------------------------------------------------------------------

    def has_class_info(self) -> bool:
        """Whether a class map was found (see the module docstring)."""
        return self.seq_to_class_map is not None

    def get_sequences_in_class(self, class_name: str) -> list[int]:
        if self.seq_to_class_map is None:
            raise ValueError(
                f"TrackingNet: no class information, the class map {os.fspath(self.class_map_path)} is missing. "
                f"Copy PyTracking's ltr/data_specs/{CLASS_MAP_FILE} (github.com/visionml/pytracking) there, or pass "
                f"class_map=..."
            )
        return super().get_sequences_in_class(class_name)

    def get_class_name(self, seq_id: int) -> str | None:
        """Class of sequence ``seq_id`` (``None`` without a class map)."""
        if self.seq_to_class_map is None:
            return None
        return self.seq_to_class_map.get(self.sequence_list[seq_id][1], UNKNOWN_CLASS)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (N, 4) float32, 'valid': (N,) bool, 'visible': (N,) bool}`` (visible = valid)."""
        set_id, video = self.sequence_list[seq_id]
        bbox = load_boxes(Path(self.root) / f"TRAIN_{set_id}" / "anno" / f"{video}.txt")
        valid = valid_boxes(bbox)
        return {"bbox": bbox, "valid": valid, "visible": valid.clone()}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        set_id, video = self.sequence_list[seq_id]
        return os.fspath(Path(self.root) / f"TRAIN_{set_id}" / "frames" / video / f"{frame_id}.jpg")
