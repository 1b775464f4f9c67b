"""ImageNet VID (ILSVRC 2015 video object detection) training set, one sequence per object track.

Layout under ``imagenet_dir``::

    Annotations/VID/train/ILSVRC2015_VID_train_<set:04d>/ILSVRC2015_train_<vid:08d>/<frame:06d>.xml
    Data/VID/train/ILSVRC2015_VID_train_<set:04d>/ILSVRC2015_train_<vid:08d>/<frame:06d>.JPEG

Each XML file lists the objects of one frame (``trackid``, ``name`` = WordNet id, ``bndbox`` xmin/ymin/xmax/ymax,
``occluded``). A track starts at the first frame where its ``trackid`` appears and ends before the first frame
where it is missing. Boxes are ``[xmin, ymin, xmax - xmin, ymax - ymin]``; a frame is visible when it is not marked
occluded and its box is valid.

Parsing the XML files takes a while, so the tracks are cached in ``<imagenet_dir>/cache.json`` (the same format as
the original's cache, so either can read the other's), written atomically.

Reference: Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge", IJCV 2015.
"""

from __future__ import annotations

import json
import math
import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import torch

from ltr.data.image_loader import default_image_loader
from ltr.dataset.base_video_dataset import (
    BaseVideoDataset,
    ImageLoader,
    PathLike,
    resolve_root,
    valid_boxes,
)
from pytracking.utils.settings_base import atomic_write_text

__all__ = ["ImagenetVID", "parse_vid_annotations"]

_LAYOUT = "Annotations/VID/train/ILSVRC2015_VID_train_*/<video>/*.xml and Data/VID/train/.../*.JPEG"


def _text(node: ET.Element, tag: str, path: Path) -> str:
    child = node.find(tag)
    if child is None or child.text is None:
        raise ValueError(f"ImageNet VID annotation '{os.fspath(path)}': missing <{tag}>")
    return child.text.strip()


def _int(node: ET.Element, tag: str, path: Path) -> int:
    value = _text(node, tag, path)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"ImageNet VID annotation '{os.fspath(path)}': <{tag}> is not an integer: {value!r}") from None


def _parse_xml(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:
        line, col = e.position
        raise ValueError(f"ImageNet VID annotation '{os.fspath(path)}', line {line}, column {col}: {e}") from None


def _video_tracks(anno_dir: Path, set_id: int, vid_id: int) -> list[dict[str, Any]]:
    """The tracks of one video (see the module docstring)."""
    files = sorted(p for p in anno_dir.iterdir() if p.suffix == ".xml")
    if not files:
        return []
    roots = [_parse_xml(p) for p in files]
    image_size = [_int(roots[0], "size/width", files[0]), _int(roots[0], "size/height", files[0])]
    objects = [root.findall("object") for root in roots]

    starts: dict[str, int] = {}
    for f_id, frame_objects in enumerate(objects):
        for obj in frame_objects:
            starts.setdefault(_text(obj, "trackid", files[f_id]), f_id)

    tracks = []
    for track_id, start in starts.items():
        boxes, visible, class_name = [], [], None
        for f_id in range(start, len(objects)):
            obj = next((o for o in objects[f_id] if _text(o, "trackid", files[f_id]) == track_id), None)
            if obj is None:
                break  # the track ends at its first gap
            if class_name is None:
                class_name = _text(obj, "name", files[f_id])
            x1, y1 = _int(obj, "bndbox/xmin", files[f_id]), _int(obj, "bndbox/ymin", files[f_id])
            x2, y2 = _int(obj, "bndbox/xmax", files[f_id]), _int(obj, "bndbox/ymax", files[f_id])
            boxes.append([x1, y1, x2 - x1, y2 - y1])
            visible.append(_text(obj, "occluded", files[f_id]) == "0")
        tracks.append(
            {
                "set_id": set_id,
                "vid_id": vid_id,
                "class_name": class_name,
                "start_frame": start,
                "anno": boxes,
                "target_visible": visible,
                "image_size": image_size,
            }
        )
    return tracks


def parse_vid_annotations(root: PathLike) -> list[dict[str, Any]]:
    """All tracks of the training set, in the cache format.

    Returns:
        One dict per track: ``set_id``, ``vid_id``, ``class_name`` (WordNet id), ``start_frame`` (0-based),
        ``anno`` (list of ``[x, y, w, h]``), ``target_visible`` (list of bool), ``image_size`` (``[w, h]``).

    Raises:
        FileNotFoundError: no ``Annotations/VID/train`` folder.
        ValueError: a malformed XML file (named, with line and column).
    """
    base = Path(root) / "Annotations" / "VID" / "train"
    if not base.is_dir():
        raise FileNotFoundError(f"ImageNet VID: annotation folder {os.fspath(base)} not found; expected {_LAYOUT}")
    tracks = []
    for set_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        set_id = int(set_dir.name.rsplit("_", 1)[-1])
        for vid_dir in sorted(p for p in set_dir.iterdir() if p.is_dir()):
            tracks.extend(_video_tracks(vid_dir, set_id, int(vid_dir.name.rsplit("_", 1)[-1])))
    return tracks


def target_to_image_ratio(track: dict[str, Any]) -> float:
    """``sqrt(w * h / (W * H))`` of a track's first box relative to the image."""
    w, h = track["anno"][0][2:4]
    img_w, img_h = track["image_size"]
    return math.sqrt(w * h / (img_w * img_h))


class ImagenetVID(BaseVideoDataset):
    """ImageNet VID object tracks.

    Args:
        root: dataset folder (holding ``Annotations`` and ``Data``); default the ``imagenet_dir`` setting.
        image_loader: reads a frame as (H, W, 3) uint8 RGB.
        min_length: drop tracks shorter than this many frames.
        max_target_area: drop tracks whose first box has :func:`target_to_image_ratio` >= this value.
        cache_file: track cache; default ``<root>/cache.json``. Built when missing or unreadable.

    Raises:
        FileNotFoundError: the dataset folder or its annotations are missing.
    """

    def __init__(
        self,
        root: PathLike | None = None,
        image_loader: ImageLoader = default_image_loader,
        min_length: int = 0,
        max_target_area: float = 1,
        cache_file: PathLike | None = None,
    ) -> None:
        root = resolve_root("ImageNet VID", "imagenet_dir", root, _LAYOUT)
        super().__init__("imagenetvid", root, image_loader)
        self.cache_file = Path(cache_file) if cache_file is not None else root / "cache.json"
        tracks = self._load_or_build_cache(root)
        self.sequence_list = [
            t for t in tracks if len(t["anno"]) >= min_length and target_to_image_ratio(t) < max_target_area
        ]

    def _load_or_build_cache(self, root: Path) -> list[dict[str, Any]]:
        if self.cache_file.is_file():
            try:
                tracks = json.loads(self.cache_file.read_text())
                if isinstance(tracks, list):
                    return tracks
            except ValueError:
                pass
            warnings.warn(f"ImageNet VID: unreadable cache {os.fspath(self.cache_file)}; rebuilding it", stacklevel=3)
        tracks = parse_vid_annotations(root)
        try:
            atomic_write_text(self.cache_file, json.dumps(tracks))
        except OSError as e:  # e.g. a read-only dataset folder: work without the cache
            warnings.warn(f"ImageNet VID: could not write the cache {os.fspath(self.cache_file)}: {e}", stacklevel=3)
        return tracks

    # ---- API ---------------------------------------------------------------------------------------------------

    def get_class_name(self, seq_id: int) -> str:
        """WordNet id of the object class of track ``seq_id``."""
        return self.sequence_list[seq_id]["class_name"]

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        """``{'bbox': (N, 4) float32, 'valid': (N,) bool, 'visible': (N,) bool}``."""
        track = self.sequence_list[seq_id]
        bbox = torch.tensor(track["anno"], dtype=torch.float32).reshape(-1, 4)
        valid = valid_boxes(bbox)
        visible = torch.tensor(track["target_visible"], dtype=torch.bool) & valid
        return {"bbox": bbox, "valid": valid, "visible": visible}

    def _frame_path(self, seq_id: int, frame_id: int) -> str:
        track = self.sequence_list[seq_id]
        set_name = f"ILSVRC2015_VID_train_{track['set_id']:04d}"
        vid_name = f"ILSVRC2015_train_{track['vid_id']:08d}"
        frame = f"{frame_id + track['start_frame']:06d}.JPEG"
        return os.fspath(Path(self.root) / "Data" / "VID" / "train" / set_name / vid_name / frame)
