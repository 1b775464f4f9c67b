"""Writing training checkpoints in the official layout.

A checkpoint is a ``torch.save``-d dict with exactly the keys of :data:`CHECKPOINT_KEYS` (plus any ``extra``):
``epoch`` (int), ``actor_type`` / ``net_type`` (class names), ``net`` (the state_dict of the unwrapped network),
``net_info``, ``constructor`` (the pickled ``NetConstructor``), ``optimizer`` (its state_dict), ``stats``
(``OrderedDict`` of ``OrderedDict`` of ``AverageMeter`` / ``StatValue``) and ``settings`` (the run's
``Settings``). ``ltr.admin.loading`` reads these files back. The released model files are network-only
checkpoints (:func:`save_network`): the same keys with ``optimizer``, ``stats`` and ``settings`` set to None.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

__all__ = ["CHECKPOINT_KEYS", "checkpoint_path", "export_network", "save_checkpoint", "save_network"]

CHECKPOINT_KEYS = (
    "epoch",
    "actor_type",
    "net_type",
    "net",
    "net_info",
    "constructor",
    "optimizer",
    "stats",
    "settings",
)


def checkpoint_path(workspace_dir: str | os.PathLike, project_path: str, net_type: str, epoch: int) -> str:
    """``{workspace_dir}/checkpoints/{project_path}/{net_type}_ep{epoch:04d}.pth.tar``.

    Args:
        workspace_dir: the environment's workspace directory.
        project_path: ``ltr/<train module>/<train name>`` (``settings.project_path``).
        net_type: the network class name, e.g. ``'DiMPnet'``.
        epoch: the epoch just finished (1-based in the trainer).
    """
    return os.path.join(os.fspath(workspace_dir), "checkpoints", project_path, f"{net_type}_ep{epoch:04d}.pth.tar")


def _unwrap(net: torch.nn.Module) -> torch.nn.Module:
    # A wrapped network is saved without its wrapper prefix ('module.'), as the official trainer does.
    if isinstance(net, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)):
        return net.module
    return net


def _state_dict(obj: Any) -> Any:
    if isinstance(obj, torch.nn.Module):
        return _unwrap(obj).state_dict()
    if isinstance(obj, torch.optim.Optimizer):
        return obj.state_dict()
    return obj


def save_checkpoint(
    path: str | os.PathLike,
    *,
    epoch: int,
    actor_type: str,
    net_type: str,
    net: torch.nn.Module | Mapping[str, torch.Tensor],
    net_info: Any,
    constructor: Any,
    optimizer: torch.optim.Optimizer | Mapping[str, Any] | None,
    stats: Any,
    settings: Any,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically: a reader sees either no file or the complete new one.

    The data goes to a temporary file in the target directory, which then replaces ``path`` with
    ``os.replace``; on any failure the temporary file is removed and an existing ``path`` is left unchanged.

    Args:
        path: target file (its directory is created).
        epoch, actor_type, net_type, net_info, constructor, stats, settings: stored under their own names.
        net: a network (its state_dict is stored; ``DataParallel`` wrappers are removed) or a state_dict.
        optimizer: an optimizer (its state_dict is stored) or a state_dict.
        extra: more entries to store; they may not reuse the standard keys.

    Returns:
        The path written.
    """
    state = {
        "epoch": epoch,
        "actor_type": actor_type,
        "net_type": net_type,
        "net": _state_dict(net),
        "net_info": net_info,
        "constructor": constructor,
        "optimizer": _state_dict(optimizer),
        "stats": stats,
        "settings": settings,
    }
    if extra:
        clash = sorted(set(extra) & set(state))
        if clash:
            raise ValueError(f"save_checkpoint: extra entries {clash} would overwrite standard checkpoint keys.")
        state.update(extra)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name opened with 'x' (not mkstemp, whose files are private): the result gets the usual
    # umask-governed permissions.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    f = open(tmp, "xb")  # opened outside the try: if this fails there is nothing of ours to remove
    try:
        with f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_network(
    path: str | os.PathLike,
    net: torch.nn.Module | Mapping[str, torch.Tensor],
    *,
    epoch: int | None,
    actor_type: str | None,
    net_type: str | None = None,
    net_info: Any = None,
    constructor: Any = None,
) -> Path:
    """Write a network-only checkpoint in the official layout: what the released model files hold.

    All keys of :data:`CHECKPOINT_KEYS` are present; ``optimizer``, ``stats`` and ``settings`` are None. The file
    is written atomically (see :func:`save_checkpoint`).

    Args:
        path: target file (its directory is created).
        net: a network (``DataParallel`` wrappers are removed) or its state_dict.
        epoch: the epoch the weights come from.
        actor_type: class name of the actor that trained the network, e.g. ``'DiMPActor'``.
        net_type: class name of the network; None: that of ``net`` (a network only).
        net_info: stored as is.
        constructor: the ``NetConstructor`` that rebuilds the network; None: ``net.constructor`` (a network only,
            which must have one).

    Returns:
        The path written.
    """
    if isinstance(net, torch.nn.Module):
        module = _unwrap(net)
        net_type = type(module).__name__ if net_type is None else net_type
        constructor = module.constructor if constructor is None else constructor
    return save_checkpoint(
        path,
        epoch=epoch,
        actor_type=actor_type,
        net_type=net_type,
        net=net,
        net_info=net_info,
        constructor=constructor,
        optimizer=None,
        stats=None,
        settings=None,
    )


def export_network(
    checkpoint: str | os.PathLike, path: str | os.PathLike, half: bool = False, trust: bool = False
) -> tuple[Path, str]:
    """Write the release form of a training checkpoint: the network only, in the official layout.

    The optimizer state, statistics and settings are dropped (``optimizer``/``stats``/``settings`` become None),
    which shrinks a file several times; ``half`` stores floating-point weights as float16 (halving it again; they
    are widened back to the network's dtype when loaded). The file is written atomically.

    Args:
        checkpoint: a checkpoint written by the trainer.
        path: the release file to write.
        half: store float weights in float16.
        trust: load ``checkpoint`` without the safe-unpickling restrictions.

    Returns:
        The path written and the SHA-256 hex digest of its bytes.
    """
    import hashlib

    from ltr.admin.loading import safe_load

    state = safe_load(checkpoint, trust=trust)
    net = state["net"]
    if half:
        net = {k: v.half() if torch.is_floating_point(v) else v for k, v in net.items()}
    out = save_network(
        path,
        net,
        epoch=state.get("epoch"),
        actor_type=state.get("actor_type"),
        net_type=state.get("net_type"),
        net_info=state.get("net_info"),
        constructor=state.get("constructor"),
    )
    return out, hashlib.sha256(out.read_bytes()).hexdigest()
