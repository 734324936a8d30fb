"""Discovering plugins and collecting what they register.

Entry points of the group ``zoo`` are loaded one at a time: a plugin that fails to import
becomes a warning naming it (or an error with ``ZOO_STRICT_PLUGINS=1``) and the rest of the
zoo keeps working. Environment:

``ZOO_LOAD_PLUGINS``     comma list of entry-point names to load (set but empty: none)
``ZOO_DISABLE_PLUGINS``  comma list of entry-point names never to load
``ZOO_STRICT_PLUGINS=1`` a plugin that fails to load is an error, not a warning
``ZOO_PLUGINS_DIR``      a folder whose ``*.py`` files are registered as plugins
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pluggy

from . import hookspecs
from .components import RECORD_KINDS, ComponentTable
from .errors import PluginError

ENTRY_POINT_GROUP = "zoo"
CORE_PLUGIN_NAME = "zoo"


class ZooPluginWarning(UserWarning):
    """A plugin could not be loaded; the zoo goes on without it."""


@dataclass
class PluginInfo:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


def _env_list(var: str) -> list[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _env_flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}


class ZooPluginManager:
    """A pluggy manager plus the component tables and catalog derived from its plugins."""

    def __init__(self, *, entry_points: bool = True, core: bool = True, strict: bool | None = None) -> None:
        self.pm = pluggy.PluginManager("zoo")
        self.pm.add_hookspecs(hookspecs)
        self.strict = _env_flag("ZOO_STRICT_PLUGINS") if strict is None else strict
        self.load_errors: dict[str, PluginInfo] = {}
        self._tables: dict[str, ComponentTable] | None = None
        self._catalog: Any = None
        if core:
            from . import core_plugin

            self.pm.register(core_plugin, name=CORE_PLUGIN_NAME)
        if entry_points:
            self.load_entry_points()
            self.load_plugins_dir()

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        allow = _env_list("ZOO_LOAD_PLUGINS")
        deny = set(_env_list("ZOO_DISABLE_PLUGINS") or [])
        for ep in sorted(importlib.metadata.entry_points(group=group), key=lambda e: e.name):
            if ep.name in deny or (allow is not None and ep.name not in allow):
                continue
            if self.pm.has_plugin(ep.name) or self.pm.is_blocked(ep.name):
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, getattr(dist, "name", None), getattr(dist, "version", None))
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the zoo down
                self._record_failure(info, exc)
                continue
            if dist is not None:
                self.pm._plugin_distinfo.append((plugin, dist))  # what pluggy's own loader records

    def load_plugins_dir(self, directory: str | os.PathLike[str] | None = None) -> None:
        folder = directory or os.environ.get("ZOO_PLUGINS_DIR")
        if not folder:
            return
        for path in sorted(Path(folder).glob("*.py")):
            name = f"dir:{path.stem}"
            info = PluginInfo(name, distribution=str(path))
            try:
                spec = importlib.util.spec_from_file_location(f"zoo_local_plugin_{path.stem}", path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self.register(module, name=name)
            except Exception as exc:  # noqa: BLE001
                self._record_failure(info, exc)

    def _record_failure(self, info: PluginInfo, exc: BaseException) -> None:
        info.error = f"{type(exc).__name__}: {exc}"
        message = f"zoo plugin {info.name!r}" + (f" ({info.distribution} {info.version})" if info.version else "")
        message += f" failed to load and is skipped: {info.error}"
        if self.strict:
            raise PluginError(message + " [ZOO_STRICT_PLUGINS=1]") from exc
        self.load_errors[info.name] = info
        warnings.warn(message + " (set ZOO_DISABLE_PLUGINS to silence, ZOO_STRICT_PLUGINS=1 to fail)",
                      ZooPluginWarning, stacklevel=3)

    # -- registration ----------------------------------------------------------------------
    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object (module or instance with ``@zoo.hookimpl`` functions)."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:
            raise PluginError(f"plugin {name!r} is blocked or already registered")
        self.pm.check_pending()
        self._invalidate()
        return registered

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._invalidate()

    def _invalidate(self) -> None:
        self._tables = None
        self._catalog = None

    # -- derived views ---------------------------------------------------------------------
    def _collect(self, hook_name: str, add) -> None:
        """Call one registration hook plugin by plugin, so each record knows its provider."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            provider = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            try:
                impl.function(**{arg: (lambda rec, _p=provider: add(rec, _p)) for arg in impl.argnames})
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise PluginError(f"plugin {provider!r} failed in {hook_name}: {type(exc).__name__}: {exc}") from exc

    def components(self, kind: str) -> ComponentTable:
        """The table of one kind: 'architecture', 'loss', 'task', 'weight_format' or 'weight_source'."""
        if self._tables is None:
            tables = {}
            for k, (_, hook_name, _) in RECORD_KINDS.items():
                table = ComponentTable(k)
                self._collect(hook_name, table.add)
                tables[k] = table
            self._tables = tables
        return self._tables[kind]

    def catalog_files(self) -> list[tuple[Path, str]]:
        files: list[tuple[Path, str]] = []
        self._collect("zoo_register_catalogs", lambda path, provider: files.append((Path(path), provider)))
        return files

    @property
    def catalog(self):
        if self._catalog is None:
            from .catalog import Catalog

            self._catalog = Catalog.from_files(self.catalog_files())
        return self._catalog

    def plugin_infos(self) -> list[PluginInfo]:
        dists = {id(plugin): dist for plugin, dist in self.pm.list_plugin_distinfo()}
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            dist = dists.get(id(plugin))
            hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))
            infos.append(PluginInfo(name, getattr(dist, "project_name", None) or (dist.metadata["name"] if dist else None),
                                    getattr(dist, "version", None), hooks))
        infos.extend(self.load_errors.values())
        return sorted(infos, key=lambda i: i.name)


_manager: ZooPluginManager | None = None


def get_manager() -> ZooPluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    if _manager is None:
        _manager = ZooPluginManager()
    return _manager


@contextlib.contextmanager
def use_manager(manager: ZooPluginManager) -> Iterator[ZooPluginManager]:
    """Make ``manager`` the process-wide one for the duration of the block (tests, isolation)."""
    global _manager
    previous, _manager = _manager, manager
    try:
        yield manager
    finally:
        _manager = previous


def components(kind: str) -> ComponentTable:
    return get_manager().components(kind)
