"""Fake datasets with the ``ltr.dataset`` API, for the data-pipeline tests.

Frames are generated in memory: a smooth background and the target drawn as a solid rectangle at a known box. The
classes live at module level so that samplers holding them can be pickled into spawned loader workers.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch


def render_frame(height: int, width: int, box: torch.Tensor, seed: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB: a gradient background (shifted by ``seed``) and a red target rectangle at ``box``."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (xx * 3 + seed * 7) % 200
    img[..., 1] = (yy * 3 + seed * 11) % 200
    img[..., 2] = ((xx + yy) * 2 + seed) % 200
    x, y, w, h = (int(round(float(v))) for v in box)
    img[max(y, 0) : y + h, max(x, 0) : x + w] = (255, 0, 0)
    return img


class FakeVideoDataset:
    """Sequences of ``seq_len`` frames; the box of frame ``f`` of sequence ``s`` is ``[20 + f, 30 + s, 40, 30]``.

    Args:
        name: dataset name.
        num_sequences: number of sequences.
        seq_len: frames per sequence (a list gives one length per sequence).
        image_size: (H, W).
        invisible: ``{seq_id: [frame ids where the target is not visible]}``.
    """

    def __init__(self, name="fake_video", num_sequences=3, seq_len=30, image_size=(120, 160), invisible=None):
        self.name = name
        self.lengths = list(seq_len) if isinstance(seq_len, (list, tuple)) else [seq_len] * num_sequences
        self.image_size = image_size
        self.invisible = invisible or {}
        self.get_frames_calls = []

    def __len__(self):
        return self.get_num_sequences()

    def get_name(self):
        return self.name

    def is_video_sequence(self):
        return True

    def has_class_info(self):
        return True

    def get_num_sequences(self):
        return len(self.lengths)

    def box(self, seq_id, frame_id):
        return torch.tensor([20.0 + frame_id, 30.0 + seq_id, 40.0, 30.0])

    def get_sequence_info(self, seq_id):
        n = self.lengths[seq_id]
        bbox = torch.stack([self.box(seq_id, f) for f in range(n)])
        visible = torch.ones(n, dtype=torch.bool)
        visible[list(self.invisible.get(seq_id, []))] = False
        return {"bbox": bbox, "valid": torch.ones(n, dtype=torch.bool), "visible": visible}

    def get_frames(self, seq_id, frame_ids, anno=None):
        self.get_frames_calls.append((seq_id, list(frame_ids)))
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        h, w = self.image_size
        frames = [render_frame(h, w, anno["bbox"][f], seed=seq_id * 100 + f) for f in frame_ids]
        frame_anno = {k: [v[f].clone() for f in frame_ids] for k, v in anno.items()}
        meta = OrderedDict(object_class_name=f"class{seq_id}", motion_class=None, major_class=None)
        return frames, frame_anno, meta


class FakeImageDataset:
    """Single images served as 1-frame sequences (like ``MSCOCOSeq``); the box of item ``i`` is
    ``[10 + i, 12, 50, 40]``."""

    def __init__(self, name="fake_image", num_images=4, image_size=(100, 140)):
        self.name = name
        self.num_images = num_images
        self.image_size = image_size

    def __len__(self):
        return self.num_images

    def get_name(self):
        return self.name

    def is_video_sequence(self):
        return False

    def get_num_sequences(self):
        return self.num_images

    def get_sequence_info(self, seq_id):
        bbox = torch.tensor([[10.0 + seq_id, 12.0, 50.0, 40.0]])
        return {"bbox": bbox, "valid": torch.ones(1, dtype=torch.bool), "visible": torch.ones(1, dtype=torch.bool)}

    def get_frames(self, seq_id, frame_ids, anno=None):
        if anno is None:
            anno = self.get_sequence_info(seq_id)
        h, w = self.image_size
        frame = render_frame(h, w, anno["bbox"][0], seed=seq_id)
        frames = [frame.copy() for _ in frame_ids]
        frame_anno = {k: [v[0].clone() for _ in frame_ids] for k, v in anno.items()}
        return frames, frame_anno, OrderedDict(object_class_name=None)


@pytest.fixture
def fake_video_dataset():
    """The :class:`FakeVideoDataset` class."""
    return FakeVideoDataset


@pytest.fixture
def fake_image_dataset():
    """The :class:`FakeImageDataset` class."""
    return FakeImageDataset
