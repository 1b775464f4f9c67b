"""Loading checkpoints and networks safely.

A training checkpoint (``ltr.admin.checkpoint``) pickles, besides tensors, a ``NetConstructor``, the training
statistics (``AverageMeter`` / ``StatValue``) and the run's ``Settings`` with its ``EnvironmentSettings``. Older
official files name these classes ``dlframework.common.utils.{model_constructor,stats,settings,local}.*``.
Unpickling an arbitrary file can run arbitrary code, so by default files are read with
``torch.load(weights_only=True)`` and an allowlist of exactly those classes (under every name they were pickled
with). Settings objects come back as inert :class:`PickledSettings` / :class:`PickledEnvironmentSettings` records,
so no user ``local.py`` is needed. Any other class is refused with an :class:`UnsafeCheckpointError` naming it;
``trust=True`` (``--trust-checkpoint`` on command lines) lifts the restriction for files from a trusted source.

Building the network runs the factory named by the constructor; in safe mode that must be a
``@model_constructor`` function in ``ltr``/``pytracking`` or in a module already imported.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import pickle
import re
import sys
import threading
import types
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ltr.admin import environment
from ltr.admin.model_constructor import NetConstructor, model_constructor
from ltr.admin.stats import AverageMeter, StatValue

__all__ = [
    "CheckpointError",
    "CheckpointFormatError",
    "CheckpointNotFoundError",
    "CorruptCheckpointError",
    "PickledEnvironmentSettings",
    "PickledSettings",
    "UnsafeCheckpointError",
    "checkpoint_globals",
    "load_network",
    "load_pretrained",
    "load_weights",
    "safe_load",
    "torch_load_legacy",
]

TRUST_HINT = "trust=True (Python) or --trust-checkpoint (command line)"


class CheckpointError(RuntimeError):
    """A checkpoint file could not be used."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file (or directory) does not exist."""


class CorruptCheckpointError(CheckpointError):
    """The file is not a readable PyTorch checkpoint (truncated, damaged, or something else entirely)."""


class CheckpointFormatError(CheckpointError):
    """The file is a PyTorch file, but not the kind of checkpoint that was asked for."""


class UnsafeCheckpointError(CheckpointError):
    """Loading the file would need code outside the allowlist; ``trust=True`` lifts the restriction.

    Attributes:
        path: the file.
        global_name: the refused class or function (``module.Name``), when known.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, global_name: str | None = None):
        super().__init__(message)
        self.path = path
        self.global_name = global_name


class _PickledRecord:
    """Inert record of the attributes an unpickled object had; it has no behaviour of its own."""

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({items})"


class PickledSettings(_PickledRecord):
    """Stands in for a pickled ``ltr.admin.settings.Settings`` (batch size, ``env``, ... as attributes)."""


class PickledEnvironmentSettings(_PickledRecord):
    """Stands in for a pickled ``ltr.admin.local.EnvironmentSettings`` (the trainer's directories)."""


# Module paths under which the admin classes were pickled: the current one and the legacy 'dlframework' layouts
# (the original aliased dlframework -> ltr, dlframework.common -> ltr, dlframework.common.utils -> ltr.admin).
_ADMIN_MODULES = ("ltr.admin", "dlframework.common.utils", "dlframework.admin", "dlframework.common.admin")
_ADMIN_CLASSES = {
    "model_constructor.NetConstructor": NetConstructor,
    "stats.AverageMeter": AverageMeter,
    "stats.StatValue": StatValue,
    "settings.Settings": PickledSettings,
    "local.EnvironmentSettings": PickledEnvironmentSettings,
    "environment.EnvironmentSettings": PickledEnvironmentSettings,
}
_LEGACY_PACKAGES = (("dlframework.common.utils", "ltr.admin"), ("dlframework.common", "ltr"), ("dlframework", "ltr"))


def _numpy_globals() -> dict[str, Any]:
    # Statistics or settings may hold numpy scalars or arrays. These reconstructors only rebuild numeric data;
    # the items of object arrays go through the same restricted unpickler.
    import numpy as np

    try:
        multiarray = importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy < 2
        multiarray = importlib.import_module("numpy.core.multiarray")
    found: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for package in ("numpy.core", "numpy._core"):  # files written under numpy 1 and numpy 2
        found[f"{package}.multiarray.scalar"] = multiarray.scalar
        found[f"{package}.multiarray._reconstruct"] = multiarray._reconstruct
    # Since numpy 1.25 a dtype instance is of a per-kind class (Float64DType, ...), which must be allowed too
    # for its state to be restored.
    dtypes = getattr(np, "dtypes", None)
    for name in dir(dtypes) if dtypes is not None else ():
        cls = getattr(dtypes, name)
        if isinstance(cls, type) and issubclass(cls, np.dtype):
            found[f"numpy.dtypes.{name}"] = cls
    return found


@functools.lru_cache(maxsize=1)
def _allowed_globals() -> dict[str, Any]:
    names = {f"{m}.{suffix}": cls for m in _ADMIN_MODULES for suffix, cls in _ADMIN_CLASSES.items()}
    for cls in (PickledSettings, PickledEnvironmentSettings):  # a re-saved loaded checkpoint
        names[f"{cls.__module__}.{cls.__qualname__}"] = cls
    names.update(_numpy_globals())
    return names


def checkpoint_globals() -> dict[str, Any]:
    """The allowlist beyond torch's own: pickled ``module.Name`` -> the object it is loaded as."""
    return dict(_allowed_globals())


_SAFE_LOCK = threading.Lock()  # torch's safe_globals context edits a process-wide set


def _legacy_module(module: str) -> str:
    for old, new in _LEGACY_PACKAGES:
        if module == old or module.startswith(old + "."):
            return new + module[len(old) :]
    return module


class _TrustedUnpickler(pickle.Unpickler):
    """Unrestricted unpickler that still maps the known names (legacy ones, settings stand-ins)."""

    def find_class(self, module: str, name: str) -> Any:
        known = _allowed_globals().get(f"{module}.{name}")
        if known is not None:
            return known
        return super().find_class(_legacy_module(module), name)


def _trusted_load(file, **kwargs) -> Any:
    return _TrustedUnpickler(file, **kwargs).load()


# torch.load(pickle_module=...) uses the module's Unpickler (subclassing it) and load().
_TRUSTED_PICKLE = types.ModuleType("ltr_trusted_pickle")
_TRUSTED_PICKLE.Unpickler = _TrustedUnpickler
_TRUSTED_PICKLE.load = _trusted_load


def _existing_file(path: str | os.PathLike) -> Path:
    path = Path(os.path.expanduser(os.fspath(path)))
    if path.is_dir():
        raise CheckpointNotFoundError(
            f"{path} is a directory, not a checkpoint file. Pass a file, or use load_network(network_dir=...) "
            f"to load the latest checkpoint in a directory."
        )
    if not path.is_file():
        raise CheckpointNotFoundError(f"Checkpoint file not found: {path}")
    return path


def _read_error(path: Path, e: Exception, trust: bool) -> CheckpointError:
    message = str(e)
    if not trust and isinstance(e, pickle.UnpicklingError):
        refused = re.search(r"GLOBAL ([\w.]+)", message)
        if refused:
            name = refused.group(1)
            name = name if "." in name else f"builtins.{name}"  # torch prints builtins without their module
            return UnsafeCheckpointError(
                f"Refusing to load {path}: it pickles '{name}', which is not among the classes a checkpoint holds "
                f"(network constructor, training statistics, settings), and unpickling it could run arbitrary "
                f"code. If you trust the source of this file, load it with {TRUST_HINT}.",
                path,
                name,
            )
    if trust and isinstance(e, (ImportError, AttributeError)):
        return CheckpointError(
            f"{path} pickles objects whose code is not available here ({type(e).__name__}: {e}). It was "
            f"probably written by a different version of the code."
        )
    detail = re.search(r"WeightsUnpickler error:\s*(.+?)\s*(?:\n\n|$)", message, re.DOTALL)
    reason = detail.group(1) if detail else (message.strip().splitlines() or [""])[0]
    text = (
        f"{path} is not a readable PyTorch checkpoint ({type(e).__name__}: {reason}). It is probably truncated "
        f"or corrupted, or not a checkpoint at all (e.g. an interrupted download, or an HTML page saved in its "
        f"place): download or create it again."
    )
    if detail:
        text += f" If the file is intact and you trust its source, {TRUST_HINT} loads it without restrictions."
    return CorruptCheckpointError(text)


def safe_load(path: str | os.PathLike, map_location: Any = "cpu", trust: bool = False) -> Any:
    """Load a ``torch.save``-d file, unpickling only tensors, plain containers and the checkpoint classes.

    Args:
        path: the file.
        map_location: as for ``torch.load``.
        trust: load with ``weights_only=False`` (any pickled object; only for files from a trusted source).
            Legacy ``dlframework`` names and the settings stand-ins are mapped in both modes.

    Returns:
        The unpickled object (for a checkpoint: the dict described in ``ltr.admin.checkpoint``).

    Raises:
        CheckpointNotFoundError: no such file.
        UnsafeCheckpointError: the file pickles a class outside the allowlist (and ``trust`` is False).
        CorruptCheckpointError: the file is not a readable PyTorch file.
        CheckpointError: with ``trust``, the file refers to code that does not exist here.
    """
    path = _existing_file(path)
    try:
        if trust:
            return torch.load(path, map_location=map_location, weights_only=False, pickle_module=_TRUSTED_PICKLE)
        if not hasattr(torch.serialization, "safe_globals") or torch.__version__ < "2.6":
            raise CheckpointError(
                f"Safe loading of {path} needs torch >= 2.6 (installed: {torch.__version__}). Upgrade torch, or "
                f"load the file with {TRUST_HINT} if you trust its source."
            )
        allow = [(obj, name) for name, obj in _allowed_globals().items()]
        with _SAFE_LOCK, torch.serialization.safe_globals(allow):
            return torch.load(path, map_location=map_location, weights_only=True)
    except (CheckpointError, OSError):
        raise
    except Exception as e:  # torch reports damaged files with many exception types (EOFError, KeyError, ...)
        raise _read_error(path, e, trust) from e


def torch_load_legacy(path: str | os.PathLike, trust: bool = False) -> Any:
    """Load a checkpoint that may use the legacy ``dlframework`` module names (same as :func:`safe_load`)."""
    return safe_load(path, map_location="cpu", trust=trust)


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def _network_checkpoint(path: Path, ckpt: Any) -> Mapping:
    """Check that ``ckpt`` is a full network checkpoint (has 'net' and 'constructor')."""
    expected = "a training checkpoint dict with at least 'net' (the weights) and 'constructor' (how to build it)"
    if _is_state_dict(ckpt):
        example = next(iter(ckpt))
        raise CheckpointFormatError(
            f"{path} holds a bare state_dict ({len(ckpt)} tensors, e.g. '{example}'), not {expected}. Build the "
            f"network yourself and load the weights with ltr.admin.loading.load_weights(net, path)."
        )
    if not isinstance(ckpt, Mapping):
        raise CheckpointFormatError(f"{path} holds a {type(ckpt).__name__}, not {expected}.")
    missing = [k for k in ("net", "constructor") if ckpt.get(k) is None]
    if missing:
        hint = ""
        if "net" not in missing:
            hint = " Build the network yourself and load the weights with ltr.admin.loading.load_weights(net, path)."
        raise CheckpointFormatError(
            f"{path} is not a network checkpoint: it lacks {missing}; its keys are {sorted(map(str, ckpt))}, "
            f"expected {expected}.{hint}"
        )
    return ckpt


# The files of a checkpoint directory; without an epoch, the last of them in sorted order is loaded.
CHECKPOINT_PATTERN = "*.pth.tar"


def _resolve_checkpoint(network_dir: str | os.PathLike | None, checkpoint: int | str | os.PathLike | None) -> Path:
    net_path = Path(os.path.expanduser(os.fspath(network_dir))) if network_dir is not None else None
    if net_path is not None and net_path.is_file():
        return net_path
    if isinstance(checkpoint, bool):
        raise TypeError("checkpoint must be None, an epoch number or a path, not a bool.")
    if checkpoint is None or isinstance(checkpoint, int):
        if net_path is None:
            raise ValueError("load_network needs network_dir (a checkpoint file or directory) or a checkpoint path.")
        if not net_path.is_dir():
            raise CheckpointNotFoundError(f"Neither a checkpoint file nor a directory: {net_path}")
        pattern = CHECKPOINT_PATTERN if checkpoint is None else f"*_ep{checkpoint:04d}.pth.tar"
        matches = sorted(net_path.glob(pattern))
        if not matches:
            raise CheckpointNotFoundError(f"No checkpoint matching '{pattern}' in {net_path}")
        if checkpoint is not None and len(matches) > 1:
            names = ", ".join(p.name for p in matches)
            raise CheckpointError(f"Several checkpoints of epoch {checkpoint} in {net_path}: {names}. Pass a path.")
        return matches[-1]
    if isinstance(checkpoint, (str, os.PathLike)):
        path = Path(os.path.expanduser(os.fspath(checkpoint)))
        if net_path is not None and not path.is_absolute() and not path.exists() and (net_path / path).exists():
            return net_path / path
        return path
    raise TypeError(f"checkpoint must be None, an epoch number or a path, not {type(checkpoint).__name__}.")


# Every @model_constructor factory is a closure over this one code object.
_FACTORY_CODE = model_constructor(lambda: None).__code__


def _factory(constructor: Any, path: Path, trust: bool, module_chosen_by_caller: bool) -> Any:
    """Import and return the network factory named by ``constructor``, enforcing the safe-mode rules."""
    module_name, fun_name = constructor.fun_module, constructor.fun_name
    known_module = module_name.split(".")[0] in ("ltr", "pytracking") or module_name in sys.modules
    if not (trust or module_chosen_by_caller or known_module):
        raise UnsafeCheckpointError(
            f"Refusing to build the network of {path}: its constructor names module '{module_name}', which is "
            f"outside ltr/pytracking and not imported, and importing it runs its code. Import the module first, "
            f"pass constructor_module=..., or load with {TRUST_HINT}.",
            path,
            f"{module_name}.{fun_name}",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise CheckpointError(
            f"Cannot build the network of {path}: its constructor module '{module_name}' is not importable ({e}). "
            f"Pass constructor_module=... (and constructor_fun_name=...) to use another factory."
        ) from e
    fun = getattr(module, fun_name, None)
    if fun is None:
        raise CheckpointError(f"Cannot build the network of {path}: {module_name} has no function '{fun_name}'.")
    if not trust and getattr(fun, "__code__", None) is not _FACTORY_CODE:
        raise UnsafeCheckpointError(
            f"Refusing to build the network of {path}: {module_name}.{fun_name} is not a @model_constructor "
            f"network factory, so calling it with arguments from the file is not safe. If you trust the file, "
            f"load it with {TRUST_HINT}.",
            path,
            f"{module_name}.{fun_name}",
        )
    return fun


def _override_arguments(constructor: Any, fun: Any, overrides: Mapping[str, Any]) -> None:
    """Replace stored arguments of ``constructor`` by ``overrides`` that are parameters of ``fun``."""
    params = inspect.signature(fun).parameters  # follows __wrapped__ to the undecorated factory
    positional = [
        name
        for name, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    args = list(constructor.args)
    kwds = dict(constructor.kwds)
    for name, value in overrides.items():
        p = params.get(name)
        if p is None or p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            warnings.warn(
                f"Keyword argument '{name}' is not a parameter of {constructor.fun_module}.{constructor.fun_name}; "
                f"it was ignored.",
                stacklevel=3,
            )
            continue
        index = positional.index(name) if name in positional else len(args)
        if index < len(args):  # stored positionally: replace in place, else the call gets it twice
            args[index] = value
        else:
            kwds[name] = value
    constructor.args = tuple(args)
    constructor.kwds = kwds


def load_network(
    network_dir: str | os.PathLike | None = None,
    checkpoint: int | str | os.PathLike | None = None,
    constructor_fun_name: str | None = None,
    constructor_module: str | None = None,
    trust: bool = False,
    **kwargs: Any,
) -> tuple[torch.nn.Module, dict]:
    """Rebuild a network from a training checkpoint and load its weights (strictly).

    Args:
        network_dir: a checkpoint file, or a directory of ``*.pth.tar`` checkpoints.
        checkpoint: with a directory: None for the latest (last in sorted order), an int for epoch
            ``*_ep{:04d}.pth.tar``; or a path to the file (relative paths are also tried inside ``network_dir``).
        constructor_fun_name: build with this factory function instead of the stored one.
        constructor_module: import the factory from this module instead of the stored one.
        trust: load a file from a trusted source without the safety restrictions (see :func:`safe_load`).
        **kwargs: replace stored factory arguments of the same name; names that are not parameters of the
            factory are ignored with a warning.

    Returns:
        ``(net, checkpoint_dict)``; ``net.constructor`` is the (updated) constructor and ``net.info`` the stored
        ``net_info`` when present.
    """
    path = _resolve_checkpoint(network_dir, checkpoint)
    ckpt = _network_checkpoint(path, safe_load(path, trust=trust))
    constructor = ckpt["constructor"]
    if not all(hasattr(constructor, a) for a in ("fun_name", "fun_module", "args", "kwds")):
        raise CheckpointFormatError(f"{path}: 'constructor' is a {type(constructor).__name__}, not a NetConstructor.")
    if constructor_fun_name is not None:
        constructor.fun_name = constructor_fun_name
    if constructor_module is not None:
        constructor.fun_module = constructor_module
    if constructor.fun_module.startswith("dlframework."):
        constructor.fun_module = constructor.fun_module[len("dlframework.") :]

    fun = _factory(constructor, path, trust, module_chosen_by_caller=constructor_module is not None)
    _override_arguments(constructor, fun, kwargs)
    net = constructor.get()
    if isinstance(net, (tuple, list)):  # factories may return (net, extras); the first is the network
        net = net[0]
    try:
        net.load_state_dict(ckpt["net"])
    except RuntimeError as e:
        raise CheckpointError(f"The weights in {path} do not fit the network built by {constructor!r}: {e}") from e
    net.constructor = constructor
    if ckpt.get("net_info") is not None:
        net.info = ckpt["net_info"]
    return net, ckpt


def load_weights(
    net: torch.nn.Module, path: str | os.PathLike, strict: bool = True, trust: bool = False
) -> torch.nn.Module:
    """Load weights into an existing network from a checkpoint (its ``'net'``) or a bare state_dict file.

    Returns:
        ``net``.
    """
    ckpt = safe_load(path, trust=trust)
    if isinstance(ckpt, Mapping) and isinstance(ckpt.get("net"), Mapping):
        weights = ckpt["net"]
    elif _is_state_dict(ckpt):
        weights = ckpt
    else:
        keys = f"keys {sorted(map(str, ckpt))}" if isinstance(ckpt, Mapping) else f"a {type(ckpt).__name__}"
        raise CheckpointFormatError(
            f"{path} holds no network weights: expected a state_dict or a checkpoint with a 'net' entry, found {keys}."
        )
    net.load_state_dict(weights, strict=strict)
    return net


def load_pretrained(
    module: str, name: str, checkpoint: int | str | None = None, **kwargs: Any
) -> tuple[torch.nn.Module, dict]:
    """Load a network trained here: ``{workspace_dir}/checkpoints/ltr/<module>/<name>`` (see :func:`load_network`).

    Args:
        module: the train-settings module, e.g. ``'dimp'``.
        name: the train-settings name, e.g. ``'dimp50'``.
        checkpoint: None (latest), an epoch number or a file path.
        **kwargs: passed to :func:`load_network` (``trust``, factory argument overrides).
    """
    network_dir = os.path.join(environment.env_settings().workspace_dir, "checkpoints", "ltr", module, name)
    return load_network(network_dir=network_dir, checkpoint=checkpoint, **kwargs)
