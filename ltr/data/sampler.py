"""Samplers: map-style datasets that draw random training samples (train and test frames of one sequence).

Every item is drawn afresh (the index is ignored): a dataset is chosen by probability, then a sequence with enough
visible frames, then frame ids, and the frames and boxes are passed to a processing function. The random draws use
Python's :mod:`random` (so seeding it, and torch/numpy for the processing, makes an epoch reproducible; data-loader
workers get distinct seeds from torch).

Dataset API used (``ltr.dataset``): ``get_name``, ``is_video_sequence``, ``get_num_sequences``,
``get_sequence_info(seq_id)`` (``'visible'`` (N,) bool, ``'bbox'`` (N, 4)) and ``get_frames(seq_id, frame_ids,
anno)`` -> ``(frames, {key: [per-frame value]}, meta)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
import torch.utils.data

from pytracking.libs.tensordict import TensorDict

__all__ = ["no_processing", "TrackingSampler", "DiMPSampler", "ATOMSampler"]

FrameSampleMode = Literal["causal", "interval"]

# Gap growth per failed attempt and the number of attempts after which a sequence is declared unusable.
GAP_INCREASE_STEP = 5
MAX_FRAME_ATTEMPTS = 1000
# Sequence draws (per sequence of the dataset, at least 1000) before a dataset is declared unusable.
SEQUENCE_ATTEMPTS_PER_SEQUENCE = 50


def no_processing(data: TensorDict) -> TensorDict:
    """The identity processing."""
    return data


class TrackingSampler(torch.utils.data.Dataset):
    """Draws train frames and later (``'causal'``) or nearby (``'interval'``) test frames of one target.

    Per item: a dataset is chosen with probabilities ``p_datasets``; a sequence is drawn uniformly until it has
    more than ``2 * (num_train_frames + num_test_frames)`` visible frames and at least 20 frames (any sequence of an
    image dataset qualifies). Frame ids are then drawn among the visible frames:

    * ``'causal'``: a base frame in ``[num_train_frames - 1, N - num_test_frames)``, the other train frames in
      ``[base - max_gap - g, base)`` and the test frames in ``(base, base + max_gap + g)``;
    * ``'interval'``: a base frame anywhere, the other train frames in ``[base - max_gap - g, base + max_gap + g)``
      and the test frames in the same window;

    where the gap increase ``g`` starts at 0 and grows by 5 after each attempt that finds no frames (a new base is
    drawn at each attempt). Frames are drawn with replacement and in no particular order. An image dataset repeats
    its single frame.

    Args:
        datasets: datasets with the ``ltr.dataset`` API.
        p_datasets: relative probability of each dataset; ``None``: proportional to their sizes (``len``).
        samples_per_epoch: ``len`` of the sampler.
        max_gap: largest frame distance from the base frame.
        num_test_frames: test frames per sample.
        num_train_frames: train frames per sample.
        processing: called with the sample :class:`TensorDict`; its result is the item.
        frame_sample_mode: ``'causal'`` or ``'interval'``.

    An item (before processing) holds ``train_images`` / ``test_images`` (lists of (H, W, 3) uint8 arrays),
    ``train_anno`` / ``test_anno`` (lists of (4,) boxes), ``dataset`` (name) and ``test_class`` (or ``None``).
    """

    def __init__(
        self,
        datasets: Sequence[Any],
        p_datasets: Sequence[float] | None,
        samples_per_epoch: int,
        max_gap: int,
        num_test_frames: int,
        num_train_frames: int = 1,
        processing: Callable[[TensorDict], Any] = no_processing,
        frame_sample_mode: FrameSampleMode = "causal",
    ) -> None:
        if frame_sample_mode not in ("causal", "interval"):
            raise ValueError(f"unknown frame_sample_mode {frame_sample_mode!r}; choose 'causal' or 'interval'")
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("TrackingSampler needs at least one dataset")
        if p_datasets is None:
            p_datasets = [len(d) for d in self.datasets]
        if len(p_datasets) != len(self.datasets):
            raise ValueError(f"{len(p_datasets)} probabilities for {len(self.datasets)} datasets")
        total = sum(p_datasets)
        if not total > 0:
            raise ValueError(f"the dataset probabilities must have a positive sum, got {list(p_datasets)}")
        self.p_datasets = [p / total for p in p_datasets]
        self.samples_per_epoch = samples_per_epoch
        self.max_gap = max_gap
        self.num_test_frames = num_test_frames
        self.num_train_frames = num_train_frames
        self.processing = processing
        self.frame_sample_mode = frame_sample_mode

    def __len__(self) -> int:
        return self.samples_per_epoch

    # ---- building blocks (also used by samplers with other frame rules) -------------------------------------------

    def _sample_dataset(self) -> Any:
        """A dataset drawn with probabilities ``p_datasets``."""
        return random.choices(self.datasets, self.p_datasets)[0]

    def _has_enough_visible_frames(self, visible: torch.Tensor, is_video: bool) -> bool:
        if not is_video:
            return True
        needed = 2 * (self.num_test_frames + self.num_train_frames)
        return int(visible.sum()) > needed and len(visible) >= 20

    def _sample_sequence(self, dataset: Any) -> tuple[int, dict, torch.Tensor]:
        """A sequence id drawn uniformly until it has enough visible frames; returns its info and visibility."""
        is_video = dataset.is_video_sequence()
        num_sequences = dataset.get_num_sequences()
        # The original loops forever when no sequence qualifies; a bounded number of draws turns that into an error.
        for _ in range(max(1000, SEQUENCE_ATTEMPTS_PER_SEQUENCE * num_sequences)):
            seq_id = random.randint(0, num_sequences - 1)
            info = dataset.get_sequence_info(seq_id)
            visible = torch.as_tensor(info["visible"]).bool().reshape(-1)
            if self._has_enough_visible_frames(visible, is_video):
                return seq_id, info, visible
        raise RuntimeError(
            f"{dataset.get_name()}: no sequence with at least 20 frames and more than "
            f"{2 * (self.num_test_frames + self.num_train_frames)} visible ones was found"
        )

    @staticmethod
    def _sample_visible_ids(
        visible: torch.Tensor, num_ids: int = 1, min_id: int | None = None, max_id: int | None = None
    ) -> list[int] | None:
        """``num_ids`` ids (with replacement) of visible frames in ``[min_id, max_id)``, clipped to the sequence.

        Returns:
            The ids, ``[]`` for ``num_ids == 0``, or ``None`` when the range holds no visible frame.
        """
        if num_ids == 0:
            return []
        min_id = 0 if min_id is None or min_id < 0 else min_id
        max_id = len(visible) if max_id is None or max_id > len(visible) else max_id
        if max_id <= min_id:
            return None
        valid = (torch.nonzero(visible[min_id:max_id]).reshape(-1) + min_id).tolist()
        if not valid:
            return None
        return random.choices(valid, k=num_ids)

    def _sample_causal(self, visible: torch.Tensor) -> tuple[list[int], list[int]]:
        gap_increase = 0
        for _ in range(MAX_FRAME_ATTEMPTS):
            base = self._sample_visible_ids(
                visible, num_ids=1, min_id=self.num_train_frames - 1, max_id=len(visible) - self.num_test_frames
            )
            if base is None:
                break
            prev = self._sample_visible_ids(
                visible, num_ids=self.num_train_frames - 1, min_id=base[0] - self.max_gap - gap_increase, max_id=base[0]
            )
            if prev is None:
                gap_increase += GAP_INCREASE_STEP
                continue
            train_ids = base + prev
            test_ids = self._sample_visible_ids(
                visible,
                num_ids=self.num_test_frames,
                min_id=train_ids[0] + 1,
                max_id=train_ids[0] + self.max_gap + gap_increase,
            )
            gap_increase += GAP_INCREASE_STEP
            if test_ids is not None:
                return train_ids, test_ids
        raise RuntimeError(f"no causal train/test frames found among {int(visible.sum())} visible frames")

    def _sample_interval(self, visible: torch.Tensor) -> tuple[list[int], list[int]]:
        gap_increase = 0
        for _ in range(MAX_FRAME_ATTEMPTS):
            base = self._sample_visible_ids(visible, num_ids=1)
            if base is None:
                break
            gap = self.max_gap + gap_increase
            extra = self._sample_visible_ids(
                visible, num_ids=self.num_train_frames - 1, min_id=base[0] - gap, max_id=base[0] + gap
            )
            if extra is None:
                gap_increase += GAP_INCREASE_STEP
                continue
            train_ids = base + extra
            test_ids = self._sample_visible_ids(
                visible, num_ids=self.num_test_frames, min_id=train_ids[0] - gap, max_id=train_ids[0] + gap
            )
            gap_increase += GAP_INCREASE_STEP
            if test_ids is not None:
                return train_ids, test_ids
        raise RuntimeError(f"no train/test frames found among {int(visible.sum())} visible frames")

    def _sample_frame_ids(self, visible: torch.Tensor, is_video: bool) -> tuple[list[int], list[int]]:
        """Train and test frame ids of a sequence (an image dataset repeats frame 0)."""
        if not is_video:
            return [0] * self.num_train_frames, [0] * self.num_test_frames
        if self.frame_sample_mode == "causal":
            return self._sample_causal(visible)
        return self._sample_interval(visible)

    def __getitem__(self, index: int) -> Any:
        """A random sample (``index`` is ignored), passed through ``processing``."""
        dataset = self._sample_dataset()
        seq_id, info, visible = self._sample_sequence(dataset)
        train_ids, test_ids = self._sample_frame_ids(visible, dataset.is_video_sequence())

        train_frames, train_anno, _ = dataset.get_frames(seq_id, train_ids, info)
        test_frames, test_anno, test_meta = dataset.get_frames(seq_id, test_ids, info)
        data = TensorDict(
            {
                "train_images": train_frames,
                "train_anno": train_anno["bbox"],
                "test_images": test_frames,
                "test_anno": test_anno["bbox"],
                "dataset": dataset.get_name(),
                "test_class": test_meta.get("object_class_name") if test_meta is not None else None,
            }
        )
        return self.processing(data)


class DiMPSampler(TrackingSampler):
    """:class:`TrackingSampler` under DiMP's name; its defaults (``'causal'`` frame sampling) are already DiMP's."""


class ATOMSampler(TrackingSampler):
    """:class:`TrackingSampler` with the ATOM defaults (one train and one test frame, ``'interval'`` sampling)."""

    def __init__(
        self,
        datasets: Sequence[Any],
        p_datasets: Sequence[float] | None,
        samples_per_epoch: int,
        max_gap: int,
        num_test_frames: int = 1,
        num_train_frames: int = 1,
        processing: Callable[[TensorDict], Any] = no_processing,
        frame_sample_mode: FrameSampleMode = "interval",
    ) -> None:
        super().__init__(
            datasets,
            p_datasets,
            samples_per_epoch,
            max_gap,
            num_test_frames,
            num_train_frames=num_train_frames,
            processing=processing,
            frame_sample_mode=frame_sample_mode,
        )
