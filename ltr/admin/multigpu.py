"""Multi-GPU wrappers for networks whose batches are sequence-major, and helpers to see through any wrapper.

Training batches are laid out ``(frames, batch, ...)``, so :class:`MultiGPU` splits along dimension 1 by default.
Both it and :class:`ltr.admin.distributed.DistributedNet` forward unknown attributes to the wrapped network, so an
actor can call ``net.extract_backbone_features(...)`` whether or not the network is wrapped.
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

__all__ = ["MultiGPU", "is_multi_gpu", "unwrap"]


class ForwardAttributes:
    """Mixin for a network wrapper (with a ``module`` attribute) that forwards attributes it lacks to the module."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":  # not set up yet (or being unpickled): no wrapped network to ask
                raise
            return getattr(self.module, name)


class MultiGPU(ForwardAttributes, nn.DataParallel):
    """``nn.DataParallel`` that scatters along ``dim`` (default 1) and exposes the wrapped network's attributes.

    Args:
        module: the network.
        dim: the batch dimension of the inputs (1 for ``(frames, batch, ...)`` tensors).
        **kwargs: passed to ``nn.DataParallel`` (``device_ids``, ``output_device``).
    """

    def __init__(self, module: nn.Module, dim: int = 1, **kwargs: Any):
        super().__init__(module, dim=dim, **kwargs)
        self.dim = dim  # DataParallel leaves it unset when CUDA is unavailable (it then just calls the module)


def is_multi_gpu(net: nn.Module) -> bool:
    """Whether ``net`` is a DataParallel / DistributedDataParallel wrapper (including :class:`MultiGPU`)."""
    return isinstance(net, (nn.DataParallel, DistributedDataParallel))


def unwrap(net: nn.Module) -> nn.Module:
    """The network inside any (nested) DataParallel / DistributedDataParallel wrappers; ``net`` itself otherwise."""
    while is_multi_gpu(net):
        net = net.module
    return net
