"""Data loader of the training framework and its collate functions.

:class:`LTRLoader` is a :class:`torch.utils.data.DataLoader` with a name, a training flag and an epoch interval
(read by the trainer), and a collate function that understands the pipeline's containers (``TensorDict``,
``TensorList``). With ``stack_dim=1`` the batch goes on dim 1, so per-frame tensors of shape (frames, ...) become
(frames, batch, ...), the layout the tracking networks expect.

Collation rules (per leaf, by the type of the batch's first element):

==========================  =============================================================================
tensor                      stacked along ``stack_dim`` (0-d tensors along dim 0)
numpy array                 converted and stacked along ``stack_dim`` (string/object arrays are rejected)
numpy scalar                1-D tensor of its dtype
bool / int / float          1-D bool / int64 / float64 tensor
str, bytes, ``None``        the list of values, unchanged
TensorDict / Mapping        a TensorDict / dict of the collated values per key
TensorList                  a TensorList of the collated elements (element-wise over the samples)
other Sequence              a list of the collated elements (the samples must have equal lengths)
==========================  =============================================================================

Unlike the original (which used ``collections.Mapping`` / ``collections.Sequence``, removed in Python 3.10),
this works on current Python versions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.utils.data

from pytracking.libs.tensordict import TensorDict
from pytracking.libs.tensorlist import TensorList

__all__ = ["LTRLoader", "ltr_collate", "ltr_collate_stack1", "collate"]


def _stack_tensors(batch: Sequence[torch.Tensor], dim: int) -> torch.Tensor:
    elem = batch[0]
    dim = min(dim, elem.dim())  # scalars (0-d tensors) have no frame dimension to stack behind
    out = None
    new_shared = getattr(elem.untyped_storage(), "_new_shared", None)  # private torch API: optional fast path
    if new_shared is not None and torch.utils.data.get_worker_info() is not None and elem.device.type == "cpu":
        # In a worker, stack straight into shared memory: the result then crosses the process boundary without
        # the extra copy the queue would make (torch's default collate does the same).
        shape = list(elem.shape)
        shape.insert(dim, len(batch))
        numel = len(batch) * elem.numel()
        storage = new_shared(numel * elem.element_size(), device=elem.device)
        out = elem.new(storage).resize_(shape)
    return torch.stack(list(batch), dim, out=out)


def collate(batch: Sequence[Any], stack_dim: int = 0) -> Any:
    """Collate a list of samples (see the module docstring for the rules).

    Args:
        batch: the samples.
        stack_dim: dimension of the batch in stacked tensors (0 or 1).

    Returns:
        The batch, with the structure of one sample.

    Raises:
        TypeError: an element type that cannot be collated.
        ValueError: sequences of different lengths.
    """
    if len(batch) == 0:
        return batch
    elem = batch[0]
    if isinstance(elem, torch.Tensor):
        return _stack_tensors(batch, stack_dim)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SaUO":
            raise TypeError(f"collate: cannot collate numpy arrays of dtype {elem.dtype}")
        return _stack_tensors([torch.as_tensor(b) for b in batch], stack_dim)
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return torch.as_tensor(np.asarray(batch))
    if isinstance(elem, bool):
        return torch.tensor(batch, dtype=torch.bool)
    if isinstance(elem, int):
        return torch.tensor(batch, dtype=torch.int64)
    if isinstance(elem, float):
        return torch.tensor(batch, dtype=torch.float64)
    if isinstance(elem, (str, bytes)) or elem is None:
        return list(batch)
    if isinstance(elem, TensorDict):
        return TensorDict((key, collate([d[key] for d in batch], stack_dim)) for key in elem)
    if isinstance(elem, Mapping):
        return {key: collate([d[key] for d in batch], stack_dim) for key in elem}
    if isinstance(elem, TensorList):
        _check_lengths(batch)
        return TensorList(collate(list(samples), stack_dim) for samples in zip(*batch))
    if isinstance(elem, Sequence):
        _check_lengths(batch)
        return [collate(list(samples), stack_dim) for samples in zip(*batch)]
    raise TypeError(f"collate: batch must hold tensors, arrays, numbers, strings, dicts or lists; found {type(elem)}")


def _check_lengths(batch: Sequence[Sequence]) -> None:
    lengths = {len(b) for b in batch}
    if len(lengths) > 1:
        raise ValueError(f"collate: the samples' sequences have different lengths {sorted(lengths)}")


def ltr_collate(batch: Sequence[Any]) -> Any:
    """:func:`collate` with the batch on dim 0."""
    return collate(batch, 0)


def ltr_collate_stack1(batch: Sequence[Any]) -> Any:
    """:func:`collate` with the batch on dim 1 (tensors (frames, ...) become (frames, batch, ...))."""
    return collate(batch, 1)


class LTRLoader(torch.utils.data.DataLoader):
    """A named :class:`~torch.utils.data.DataLoader` of training or validation batches.

    Args:
        name: loader name (``'train'``, ``'val'``), used in logs and statistics.
        dataset: a sampler from ``ltr.data.sampler`` (any map-style dataset works).
        training: whether the trainer runs it with gradients (training) or without (validation).
        batch_size: samples per batch.
        shuffle: shuffle the indices (irrelevant for random samplers).
        sampler: index sampler (torch's meaning, not ``ltr.data.sampler``).
        batch_sampler: batch index sampler.
        num_workers: worker processes (0: load in the main process).
        epoch_interval: the trainer runs this loader every ``epoch_interval`` epochs.
        collate_fn: custom collate function; default :func:`ltr_collate` or :func:`ltr_collate_stack1`.
        stack_dim: 0 or 1, the batch dimension of the default collate function.
        pin_memory: return batches in pinned memory.
        drop_last: drop the last incomplete batch.
        timeout: seconds to wait for a worker's batch (0: forever).
        worker_init_fn: called in each worker with its id.
        multiprocessing_context: e.g. ``'spawn'``; the dataset and processing must then be picklable.
        generator: generator of the base seeds of the workers (and of shuffling).
        prefetch_factor: batches loaded in advance per worker (``None``: torch's default).
        persistent_workers: keep the workers alive between epochs (the original's ``MultiEpochLTRLoader``).

    Raises:
        ValueError: ``stack_dim`` other than 0 or 1 without a ``collate_fn``.
    """

    def __init__(
        self,
        name: str,
        dataset: torch.utils.data.Dataset,
        training: bool = True,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        epoch_interval: int = 1,
        collate_fn: Callable[[list], Any] | None = None,
        stack_dim: int = 0,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: torch.Generator | None = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ) -> None:
        if collate_fn is None:
            if stack_dim == 0:
                collate_fn = ltr_collate
            elif stack_dim == 1:
                collate_fn = ltr_collate_stack1
            else:
                raise ValueError(f"LTRLoader: stack_dim must be 0 or 1, got {stack_dim}")
        super().__init__(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=sampler,
            batch_sampler=batch_sampler,
            num_workers=num_workers,
            collate_fn=collate_fn,
            pin_memory=pin_memory,
            drop_last=drop_last,
            timeout=timeout,
            worker_init_fn=worker_init_fn,
            multiprocessing_context=multiprocessing_context,
            generator=generator,
            prefetch_factor=prefetch_factor,
            persistent_workers=persistent_workers,
        )
        self.name = name
        self.training = training
        self.epoch_interval = epoch_interval
        self.stack_dim = stack_dim
