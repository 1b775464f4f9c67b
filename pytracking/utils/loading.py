"""Loading the tracking networks named by parameter files (``dimp50.pth``, ``atom_default.pth``, ...)."""

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


def find_network(net_path: str | os.PathLike) -> Path:
    """The network file ``net_path`` names: an absolute path, or the first match in the ``network_path`` dirs.

    Raises:
        ltr.admin.loading.CheckpointNotFoundError: no such file; the message names it, lists the directories
            searched and gives the download command.
    """
    # Imported here: pytracking.utils is a leaf layer and may not import ltr or pytracking.evaluation at load time.
    from ltr.admin import loading as ltr_loading
    from pytracking.evaluation.environment import env_settings

    path = Path(os.path.expanduser(os.fspath(net_path)))
    if path.is_absolute():
        if not path.is_file():
            raise ltr_loading.CheckpointNotFoundError(f"Network file not found: {path}")
        return path
    dirs = network_dirs(env_settings().network_path)
    found = next((d / path for d in dirs if (d / path).is_file()), None)
    if found is None:
        searched = "\n".join(f"  {d}" for d in dirs) or "  (none: network_path is empty)"
        raise ltr_loading.CheckpointNotFoundError(
            f"Network file '{path}' not found. Searched:\n{searched}\n"
            f"Download it with `python -m pytracking.download_networks {path.name}`, or point "
            f"PYTRACKING_NETWORK_PATH (or network_path in pytracking/evaluation/local.py) at the directory "
            f"that holds it."
        )
    return found


def load_network(net_path: str | os.PathLike, trust: bool = False, **kwargs: Any) -> Any:
    """Build a network from a checkpoint file and load its weights, for tracking (ImageNet weights not fetched).

    Args:
        net_path: an absolute path, or a file name (or relative path) looked up in each directory of the
            ``network_path`` setting in turn (``PYTRACKING_NETWORK_PATH`` or ``local.py``); see
            :func:`find_network`.
        trust: load the file without the safety restrictions of ``ltr.admin.loading.safe_load``.
        **kwargs: overrides of the network factory's arguments (``backbone_pretrained`` is always False).

    Returns:
        The network, as built by ``ltr.admin.loading.load_network``.

    Raises:
        ltr.admin.loading.CheckpointNotFoundError: no such file; the message lists the directories searched.
    """
    from ltr.admin import loading as ltr_loading

    kwargs["backbone_pretrained"] = False
    path = find_network(net_path)
    with warnings.catch_warnings():
        # backbone_pretrained is forced for every network; a factory without that parameter is not worth a warning.
        warnings.filterwarnings("ignore", message="Keyword argument 'backbone_pretrained' is not a parameter")
        net, _ = ltr_loading.load_network(path, trust=trust, **kwargs)
    return net
