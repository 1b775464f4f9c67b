"""Lazily loaded tracking networks, as held by parameter files (``params.net = NetWithBackbone(...)``).

A wrapper only records where the network is and how to build it; the checkpoint (a file, or the latest of a
directory of checkpoints) is read on :meth:`NetWrapper.initialize` (called by the tracker) or on the first access
to an attribute of the network. Attributes the wrapper does not have itself are looked up on the loaded network, so
trackers call ``params.net.classifier`` etc. directly.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FunctionType, MethodType, ModuleType
from typing import Any

import torch

__all__ = [
    "IMAGE_FORMATS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NetWithBackbone",
    "NetWrapper",
    "check_networks",
    "network_holders",
    "trust_networks",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_FORMATS = ("rgb", "bgr", "rgb255", "bgr255")

# The wrapper's own attributes: never forwarded to the network, so a lookup of one of them before __init__ has set
# it (unpickling, copying) fails plainly instead of triggering a load.
_OWN_ATTRIBUTES = frozenset({"net_path", "use_gpu", "trust", "net_kwargs", "net", "device", "_loading"})


class NetWrapper:
    """A network loaded on demand from ``net_path`` and then used in eval mode on ``device``.

    Args:
        net_path: checkpoint file, or directory of ``*.pth.tar`` checkpoints (the latest by sorted name is used):
            a name searched in the ``network_path`` setting, or an absolute path
            (see :func:`pytracking.utils.loading.load_network`).
        use_gpu: run on CUDA when it is available; the CPU is used otherwise (never an error).
        initialize: load the network now instead of on first use.
        trust: load the checkpoint without the safe-unpickling restrictions.
        **kwargs: overrides of the network constructor's arguments.

    A pickled wrapper does not carry its network: the receiving process loads it again from ``net_path``.
    """

    def __init__(
        self,
        net_path: str | os.PathLike,
        use_gpu: bool = True,
        initialize: bool = False,
        trust: bool = False,
        **kwargs: Any,
    ) -> None:
        self.net_path = net_path
        self.use_gpu = use_gpu
        self.trust = trust
        self.net_kwargs = kwargs
        self.device = torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
        self.net: torch.nn.Module | None = None
        self._loading = False
        if initialize:
            self.initialize()

    @property
    def is_loaded(self) -> bool:
        """Whether the network has been read from its checkpoint."""
        return self.net is not None

    def initialize(self) -> None:
        """Load the network if it is not loaded yet (what trackers call before the first frame)."""
        if self.net is None:
            self.load_network()

    def load_network(self) -> None:
        """(Re)load the network from ``net_path``, move it to ``device`` and put it in eval mode.

        Raises:
            ltr.admin.loading.CheckpointNotFoundError: the file or directory is missing (the message names it,
                the directories searched and the download command), or a directory holds no checkpoint.
        """
        from pytracking.utils.loading import load_network

        self._loading = True
        try:
            net = load_network(self.net_path, trust=self.trust, **self.net_kwargs)
        finally:
            self._loading = False
        self.net = net.to(self.device).eval()

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails. Special names and the wrapper's own fields must not be forwarded:
        # copy/pickle probe them on instances whose __dict__ is still empty.
        if name.startswith("__") or name in _OWN_ATTRIBUTES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if self.__dict__.get("_loading", True):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r} (network not loaded)")
        self.initialize()
        try:
            return getattr(self.net, name)
        except AttributeError:
            raise AttributeError(
                f"neither {type(self).__name__} nor its network {type(self.net).__name__} ({self.net_path}) has "
                f"an attribute {name!r}"
            ) from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the network's forward pass (loading it first if needed)."""
        self.initialize()
        return self.net(*args, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # The weights are reloaded lazily from net_path: sending a (possibly CUDA) network through pickle to
        # worker processes is slow and ties the copy to the sender's device.
        state = dict(self.__dict__)
        state["net"] = None
        state["_loading"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __copy__(self) -> NetWrapper:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)  # shares the loaded network
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> NetWrapper:
        new = object.__new__(type(self))
        memo[id(self)] = new
        new.__dict__.update({k: copy.deepcopy(v, memo) for k, v in self.__dict__.items()})
        return new

    def __repr__(self) -> str:
        state = type(self.net).__name__ if self.net is not None else "not loaded"
        return f"{type(self).__name__}({os.fspath(self.net_path)!r}, device={self.device}, {state})"


class NetWithBackbone(NetWrapper):
    """A :class:`NetWrapper` whose network has ``extract_backbone_features``, plus the image normalisation it expects.

    Args:
        net_path, use_gpu, initialize, trust, **kwargs: as for :class:`NetWrapper`.
        image_format: channel order and value range the network was trained with: ``'rgb'`` / ``'bgr'`` (images
            scaled to [0, 1] before normalising) or ``'rgb255'`` / ``'bgr255'`` (kept in [0, 255]).
        mean: per-channel mean, in the network's channel order and value range (0-1 units for ``'rgb'``/``'bgr'``,
            0-255 units for the ``*255`` formats). Default: ImageNet.
        std: per-channel standard deviation, same conventions. Default: ImageNet.
    """

    def __init__(
        self,
        net_path: str | os.PathLike,
        use_gpu: bool = True,
        initialize: bool = False,
        image_format: str = "rgb",
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        trust: bool = False,
        **kwargs: Any,
    ) -> None:
        if image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, got {image_format!r}")
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std need 3 values (one per channel), got {list(mean)} and {list(std)}")
        if any(s == 0 for s in std):
            raise ValueError(f"std values must be non-zero, got {list(std)}")
        self.image_format = image_format
        self.mean = torch.tensor(mean, dtype=torch.float64).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float64).view(1, 3, 1, 1)
        super().__init__(net_path, use_gpu=use_gpu, initialize=initialize, trust=trust, **kwargs)

    def preprocess_image(self, im: torch.Tensor) -> torch.Tensor:
        """Normalise RGB images for the network.

        Args:
            im: (B, 3, H, W) RGB images with values in [0, 255] (any dtype; integer input becomes float32).

        Returns:
            (B, 3, H, W) on ``device``: channels reordered to BGR for the ``bgr*`` formats, divided by 255 for
            ``'rgb'``/``'bgr'``, then ``(x - mean) / std``. The input is not modified.
        """
        if im.dim() != 4 or im.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(im.shape)}")
        im = im.to(self.device)
        if not im.is_floating_point():
            im = im.float()
        if self.image_format.startswith("bgr"):
            im = im.flip(1)
        if not self.image_format.endswith("255"):
            im = im / 255
        mean = self.mean.to(device=im.device, dtype=im.dtype)
        std = self.std.to(device=im.device, dtype=im.dtype)
        return (im - mean) / std

    def extract_backbone(self, im: torch.Tensor) -> Any:
        """Backbone features of RGB images ``im`` (B, 3, H, W) in [0, 255]: preprocessing, then the network's
        ``extract_backbone_features`` (an ordered dict layer name -> (B, C, H', W') for the DiMP/ATOM nets)."""
        self.initialize()
        return self.net.extract_backbone_features(self.preprocess_image(im))


# ---------------------------------------------------------------------------------------------------------------
# Finding the networks held by tracker parameters

# Leaves of the parameter walk: never holders, and (tensors, modules) too large or self-referential to search.
_LEAF_TYPES = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    type,
    ModuleType,
    FunctionType,
    MethodType,
    torch.Tensor,
    torch.nn.Module,
    torch.device,
    torch.dtype,
    Path,
)


def network_holders(obj: Any) -> list[Any]:
    """The objects reachable from ``obj`` that load a network from a checkpoint: those with a ``net_path`` and a
    ``trust`` attribute, i.e. :class:`NetWrapper` instances and feature objects that create one lazily (e.g.
    ATOM's :class:`~pytracking.features.deep.ATOMResNet18`).

    The walk follows instance attributes (``vars()``, never ``getattr``, so no network is loaded), mappings and
    sequences; tensors, modules and loaded networks are not entered.

    Args:
        obj: tracker parameters (``TrackerParams``) or anything holding them.

    Returns:
        The holders, each once, in the order found (depth first).
    """
    found: list[Any] = []
    seen: set[int] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, _LEAF_TYPES) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            children = list(item)
        else:
            attributes = getattr(item, "__dict__", None)
            if not isinstance(attributes, dict):
                continue
            if "net_path" in attributes and "trust" in attributes:
                found.append(item)
            children = list(attributes.values())
        stack.extend(reversed(children))
    return found


def trust_networks(obj: Any, trust: bool = True) -> int:
    """Set ``trust`` on every network holder reachable from ``obj`` (see :func:`network_holders`).

    With ``trust=True`` the networks are loaded without the safe-unpickling allowlist of
    ``ltr.admin.loading.safe_load`` (``--trust-checkpoint`` on the command lines): only for files from a trusted
    source. It takes effect for networks not loaded yet.

    Returns:
        The number of holders changed.
    """
    holders = network_holders(obj)
    for holder in holders:
        holder.trust = bool(trust)
    return len(holders)


def check_networks(obj: Any) -> list[Path]:
    """Check that the checkpoint of every network reachable from ``obj`` exists, without loading anything.

    Returns:
        The resolved paths, in the order of :func:`network_holders`: checkpoint files, or directories holding at
        least one ``*.pth.tar`` checkpoint (see :func:`pytracking.utils.loading.find_network`).

    Raises:
        ltr.admin.loading.CheckpointNotFoundError: a file or directory is missing (the message names it, the
            ``network_path`` directories searched and the download command), or a directory holds no checkpoint.
    """
    from pytracking.utils.loading import find_network

    return [find_network(holder.net_path) for holder in network_holders(obj)]
