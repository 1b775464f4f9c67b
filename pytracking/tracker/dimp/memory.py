"""Fixed-size training-sample memory with exponentially decaying weights, as used by DiMP's online update."""

from __future__ import annotations

import torch

__all__ = ["SampleMemory"]


class SampleMemory:
    """Feature maps and target boxes of past frames, with one weight per stored sample.

    The first ``num_init`` slots hold the (augmented) first-frame samples. A new sample gets weight
    ``learning_rate`` while all others are scaled by ``1 - learning_rate``; once the memory is full the sample with
    the lowest weight is replaced (the initial samples are protected when ``init_min_weight > 0``). When the
    initial samples' total weight drops below ``init_min_weight`` they are scaled up to exactly that share.
    Weights always sum to one.

    Args:
        samples: initial samples ``(N, C, H, W)``.
        boxes: their target boxes ``(N, 4)`` ``[x, y, w, h]`` in sample (patch) pixels.
        capacity: number of slots (``>= N``).
        init_min_weight: minimum total weight of the initial samples (0 disables the protection).
    """

    def __init__(self, samples: torch.Tensor, boxes: torch.Tensor, capacity: int, init_min_weight: float = 0.0):
        n = samples.shape[0]
        if capacity < n:
            raise ValueError(f"sample memory capacity {capacity} is smaller than the {n} initial samples")
        self.capacity = int(capacity)
        self.num_init = n
        self.init_min_weight = float(init_min_weight)
        self.samples = samples.new_zeros(capacity, *samples.shape[1:])
        self.samples[:n] = samples
        self.boxes = boxes.new_zeros(capacity, 4)
        self.boxes[:n] = boxes
        self.weights = samples.new_zeros(capacity)
        self.weights[:n] = 1.0 / n
        self.num_stored = n

    def add(self, sample: torch.Tensor, box: torch.Tensor, learning_rate: float) -> int:
        """Store ``sample (1, C, H, W)`` with target ``box (4,)`` and update the weights.

        Returns:
            The slot the sample was written to.
        """
        w = self.weights
        if self.num_stored < self.capacity:
            slot = self.num_stored
        else:
            first = self.num_init if self.init_min_weight > 0 else 0
            slot = first + int(torch.argmin(w[first:]))
        if learning_rate >= 1.0:
            w.zero_()
            w[slot] = 1.0
        else:
            w.mul_(1.0 - learning_rate)
            w[slot] = learning_rate
        w.div_(w.sum())

        if self.init_min_weight > 0 and self.num_init < self.capacity:
            init_sum = w[: self.num_init].sum()
            if init_sum < self.init_min_weight:
                rest = w[self.num_init :].sum()
                w[: self.num_init] *= self.init_min_weight / init_sum
                if rest > 0:
                    w[self.num_init :] *= (1.0 - self.init_min_weight) / rest

        self.samples[slot] = sample.reshape(self.samples.shape[1:])
        self.boxes[slot] = box.reshape(4)
        self.num_stored = min(self.num_stored + 1, self.capacity)
        return slot

    def stored(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The filled part ``(samples (n, C, H, W), boxes (n, 4), weights (n,))``."""
        n = self.num_stored
        return self.samples[:n], self.boxes[:n], self.weights[:n]
