"""Loading the tracking networks named by parameter files (``dimp50.pth``, ``atom_default.pth``, ``atom_prob_ml``).

A network is named by a checkpoint file or by a directory of training checkpoints (``*.pth.tar``, as written by
``ltr`` training), of which the latest by sorted name is used.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

__all__ = ["find_network", "load_network", "network_dirs"]


def network_dirs(network_path: str | os.PathLike | list | tuple) -> list[Path]:
    """The directories to search, in order, from a ``network_path`` setting (one directory or a list)."""
    if isinstance(network_path, (str, os.PathLike)):
        network_path = [network_path]
    return [Path(os.path.expanduser(os.fspath(d))) for d in network_path if os.fspath(d)]


def _usable(path: Path) -> bool:
    """Whether ``path`` is a checkpoint file or a directory holding at least one checkpoint."""
    from ltr.admin.loading import CHECKPOINT_PATTERN  # here: pytracking.utils may not import ltr at load time

    return path.is_file() or (path.is_dir() and next(path.glob(CHECKPOINT_PATTERN), None) is not None)


def _empty_directory_error(directories: list[Path]) -> FileNotFoundError:
    from ltr.admin import loading as ltr_loading

    names = "\n".join(f"  {d}" for d in directories)
    return ltr_loading.CheckpointNotFoundError(
        f"Network directory without checkpoints (no '{ltr_loading.CHECKPOINT_PATTERN}' file in it):\n{names}\n"
        f"Copy the network's training checkpoint(s) into it (e.g. ATOMnet_ep0050.pth.tar from ltr's "
        f"checkpoints/<module>/<name>/; the latest by sorted name is loaded), or remove the directory and put "
        f"a checkpoint file of that name in the network_path instead."
    )


def find_network(net_path: str | os.PathLike) -> Path:
    """The network ``net_path`` names: a checkpoint file or a directory of ``*.pth.tar`` checkpoints, given as an
    absolute path or looked up in the ``network_path`` directories in turn.

    In the lookup, a match that is a directory without checkpoints is passed over (a later ``network_path``
    directory may hold a usable one).

    Args:
        net_path: absolute path, or file/directory name (or relative path) inside a ``network_path`` directory.

    Returns:
        The file or directory found (a directory is returned as is; see :func:`load_network`).

    Raises:
        ltr.admin.loading.CheckpointNotFoundError: nothing of that name; the message names it, lists the
            directories searched and gives the download command. Also raised, naming the directory and the fix,
            when the only matches are directories without any ``*.pth.tar`` checkpoint.
    """
    # Imported here: pytracking.utils is a leaf layer and may not import ltr or pytracking.evaluation at load time.
    from ltr.admin import loading as ltr_loading
    from pytracking.evaluation.environment import env_settings

    path = Path(os.path.expanduser(os.fspath(net_path)))
    if path.is_absolute():
        if _usable(path):
            return path
        if path.is_dir():
            raise _empty_directory_error([path])
        raise ltr_loading.CheckpointNotFoundError(f"Network file not found: {path}")
    dirs = network_dirs(env_settings().network_path)
    candidates = [d / path for d in dirs]
    found = next((c for c in candidates if _usable(c)), None)
    if found is not None:
        return found
    empty = [c for c in candidates if c.is_dir()]
    if empty:
        raise _empty_directory_error(empty)
    from pytracking.download_networks import NETWORKS

    searched = "\n".join(f"  {d}" for d in dirs) or "  (none: network_path is empty)"
    if path.name in NETWORKS:
        fix = f"Download it with `python -m pytracking.download_networks {path.name}`, or point"
    else:  # e.g. atom_prob_ml: published as training checkpoints only, so nothing to download by that name
        fix = (
            f"'{path.name}' is not one of the files `python -m pytracking.download_networks` fetches: train it "
            f"with ltr and copy its checkpoint file (or its checkpoints directory) into one of these, or point"
        )
    raise ltr_loading.CheckpointNotFoundError(
        f"Network file '{path}' not found. Searched:\n{searched}\n{fix} PYTRACKING_NETWORK_PATH (or "
        f"network_path in pytracking/evaluation/local.py) at the directory that holds it."
    )


def load_network(net_path: str | os.PathLike, trust: bool = False, **kwargs: Any) -> Any:
    """Build a network from a checkpoint and load its weights, for tracking (ImageNet weights not fetched).

    Args:
        net_path: a checkpoint file or a directory of ``*.pth.tar`` checkpoints (the latest by sorted name is
            loaded, e.g. ``ATOMnet_ep0050.pth.tar`` over ``ATOMnet_ep0049.pth.tar``): an absolute path, or a name
            (or relative path) looked up in each directory of the ``network_path`` setting in turn
            (``PYTRACKING_NETWORK_PATH`` or ``local.py``); see :func:`find_network`.
        trust: load the file without the safety restrictions of ``ltr.admin.loading.safe_load``.
        **kwargs: overrides of the network factory's arguments (``backbone_pretrained`` is always False).

    Returns:
        The network, as built by ``ltr.admin.loading.load_network``.

    Raises:
        ltr.admin.loading.CheckpointNotFoundError: no such file or directory (the message lists the directories
            searched), or a directory without checkpoints.
    """
    from ltr.admin import loading as ltr_loading

    kwargs["backbone_pretrained"] = False
    path = find_network(net_path)
    with warnings.catch_warnings():
        # backbone_pretrained is forced for every network; a factory without that parameter is not worth a warning.
        warnings.filterwarnings("ignore", message="Keyword argument 'backbone_pretrained' is not a parameter")
        # ltr's loader takes a file as is and picks a directory's latest checkpoint: one rule for both sides.
        net, _ = ltr_loading.load_network(path, trust=trust, **kwargs)
    return net
