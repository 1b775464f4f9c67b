"""Machinery shared by the local-settings objects of both packages.

``pytracking.evaluation.environment.EnvSettings`` and ``ltr.admin.environment.EnvironmentSettings`` are plain
attribute bags with a fixed set of names. The user's values come from a generated, git-ignored ``local.py``
and from environment variables; this module provides what both need:

* rejection of unknown (misspelled) names, reporting the file and line that set it and the closest valid name;
* attributes derived from others until set explicitly (``tensorboard_dir`` follows ``workspace_dir``);
* environment-variable overrides (``<PREFIX><NAME>`` in upper case, e.g. ``PYTRACKING_OTB_PATH``);
* loading a settings file by path and writing one atomically with safely quoted values.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, TypeVar

__all__ = [
    "SettingsBase",
    "load_local_settings",
    "SettingsError",
    "UnknownSettingError",
    "atomic_write_text",
    "load_module_from_path",
    "python_literal",
]


logger = logging.getLogger(__name__)


class SettingsError(RuntimeError):
    """A local settings file could not be used (syntax error, wrong content)."""


class UnknownSettingError(AttributeError, SettingsError):
    """A settings object was given an attribute name it does not declare."""


class SettingsBase:
    """Attribute bag with a declared set of names.

    Subclasses declare ``_defaults`` (name -> default value), optionally ``_derived`` (name -> function of the
    settings computing the value while it is not set explicitly), ``_list_fields`` (names whose environment
    variable is split on ``os.pathsep`` into a list) and ``_env_prefix``.
    """

    _defaults: ClassVar[dict[str, Any]] = {}
    _derived: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    _list_fields: ClassVar[frozenset[str]] = frozenset()
    _env_prefix: ClassVar[str] = ""

    def __init__(self) -> None:
        for name, value in self._defaults.items():
            object.__setattr__(self, name, value)

    @classmethod
    def field_names(cls) -> list[str]:
        """All valid attribute names, sorted."""
        return sorted(set(cls._defaults) | set(cls._derived))

    @classmethod
    def env_var(cls, name: str) -> str:
        """Name of the environment variable that overrides attribute ``name``."""
        return f"{cls._env_prefix}{name.upper()}"

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._defaults and name not in self._derived:
            raise UnknownSettingError(self._unknown_message(name, _caller_location()))
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: derived attributes that were not set explicitly.
        derived = type(self)._derived
        if name in derived:
            return derived[name](self)
        raise AttributeError(self._unknown_message(name, None))

    def _unknown_message(self, name: str, location: str | None) -> str:
        where = f"{location}: " if location else ""
        close = difflib.get_close_matches(name, self.field_names(), n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return (
            f"{where}'{name}' is not a setting of {type(self).__name__}.{hint} "
            f"Valid names: {', '.join(self.field_names())}."
        )

    def apply_env_overrides(self, environ: os._Environ | dict[str, str] | None = None) -> list[str]:
        """Set every attribute whose environment variable is present; return the names that were set."""
        environ = os.environ if environ is None else environ
        applied = []
        for name in self.field_names():
            value = environ.get(self.env_var(name))
            if value is None:
                continue
            if name in self._list_fields and os.pathsep in value:
                value = [v for v in value.split(os.pathsep) if v]
            object.__setattr__(self, name, value)
            applied.append(name)
        return applied

    def update_from(self, other: object) -> None:
        """Copy the public attributes of ``other`` (e.g. an old hand-written settings object), validating names."""
        for name, value in vars(other).items():
            if not name.startswith("_"):
                setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """Current values of all settings, derived ones included."""
        return {name: getattr(self, name) for name in self.field_names()}

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"{type(self).__name__}({items})"


def _caller_location() -> str | None:
    """'file:line' of the first frame outside this module (the line that set the attribute)."""
    frame = sys._getframe(1)
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    if frame is None:
        return None
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def python_literal(value: Any) -> str:
    """Python source text for a settings value: ``repr`` quotes backslashes, quotes and non-ASCII safely."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    return repr(value)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_module_from_path(module_name: str, path: str | os.PathLike) -> ModuleType:
    """Execute the Python file ``path`` as module ``module_name`` and register it in ``sys.modules``.

    Registering under the package name (``pytracking.evaluation.local`` / ``ltr.admin.local``) matters: legacy
    checkpoints pickle ``ltr.admin.local.EnvironmentSettings``.
    """
    path = Path(path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SettingsError(f"Cannot load settings file {path}: not a Python file.")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except UnknownSettingError:
        _restore(module_name, previous)
        raise
    except (SyntaxError, ImportError, NameError, TypeError, ValueError) as e:
        _restore(module_name, previous)
        raise SettingsError(
            f"Settings file {path} failed to load ({type(e).__name__}: {e}). Fix it, or delete it to have a "
            f"default one generated on the next run."
        ) from e
    return module


S = TypeVar("S", bound=SettingsBase)


def load_local_settings(
    cls: type[S],
    path: Path,
    module_name: str,
    create_default: Callable[[Path], object],
    from_module: Callable[[ModuleType, Path], object],
) -> S:
    """Defaults, then the local file at ``path`` (created first if missing), then environment variables.

    Args:
        cls: the settings class.
        path: the local settings file.
        module_name: the module name the file is loaded under.
        create_default: writes a default settings file at the given path.
        from_module: builds the user's settings object from the loaded module (raising ``SettingsError`` when the
            module lacks what it needs). An object that is not a ``cls`` (an old hand-written file) has its
            attributes copied onto a ``cls``, names checked.
    """
    if not path.exists():
        try:
            create_default(path)
            logger.info("Created default settings file %s; edit it to set your paths.", path)
        except OSError as e:
            logger.warning("Could not create settings file %s (%s); using default settings.", path, e)
    settings = cls()
    if path.exists():
        loaded = from_module(_cached_module(module_name, path), path)
        if isinstance(loaded, cls):
            settings = loaded
        else:
            settings.update_from(loaded)
    settings.apply_env_overrides()
    return settings


_module_cache: dict[tuple[str, Path], tuple[bytes, ModuleType]] = {}


def _cached_module(module_name: str, path: Path) -> ModuleType:
    """Load ``path`` once and reuse the module while its content is unchanged.

    Re-executing the file would create new class objects under the same name, and objects made from the old
    ones (a training run's settings, pickled into every checkpoint) would no longer pickle.
    """
    key = (module_name, path.resolve())
    content = path.read_bytes()
    cached = _module_cache.get(key)
    if cached is not None and cached[0] == content and sys.modules.get(module_name) is cached[1]:
        return cached[1]
    module = load_module_from_path(module_name, path)
    _module_cache[key] = (content, module)
    return module


def _restore(module_name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(module_name, None)
    else:
        sys.modules[module_name] = previous


def format_assignments(target: str, values: Iterable[tuple[str, Any, str | None]], indent: str) -> list[str]:
    """Lines ``<indent><target>.<name> = <literal>  # comment`` for a generated settings file."""
    lines = []
    for name, value, comment in values:
        line = f"{indent}{target}.{name} = {python_literal(value)}"
        if comment:
            line += f"  # {comment}"
        lines.append(line)
    return lines
