"""Discovering plugins and collecting what they register, one plugin at a time.

Everything a plugin contributes (its hooks, the records they register, its catalog files and
their entries) is validated as one unit. A plugin whose unit fails (an import error, a hook that
raises or has a misspelt name, a bad record, a catalog that does not parse, a name clash it loses)
is dropped whole: a :class:`ZooPluginWarning` names it and the reason, ``zoo plugins`` shows it as
failed, and the rest of the zoo works without it. Environment:

``ZOO_LOAD_PLUGINS``     comma list of entry-point plugins to load (set but empty: only the core)
``ZOO_DISABLE_PLUGINS``  comma list of plugin names never to load (``dir:NAME`` for a plugins-dir file)
``ZOO_STRICT_PLUGINS=1`` a plugin that fails is an error, not a warning (plugin development, CI)
``ZOO_PREFER``           comma list of plugins whose names win clashes (earlier wins), built-ins included
``ZOO_PLUGINS_DIR``      a folder whose ``*.py`` files are registered as plugins named ``dir:<stem>``

Name clashes (same component name of one kind, or same catalog entry name, from two plugins): a
built-in plugin (the core ``zoo`` and the entry points of the ``zoo`` distribution) wins over a
third-party one, which is dropped with a message naming both; two third-party plugins that clash
are both dropped (neither is silently picked). A plugin listed in ``ZOO_PREFER`` wins its clashes
instead, and the other side only loses the clashing names.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pluggy

from zoo.errors import PluginError, UnknownNameError, ZooError
from zoo.registry import core_plugin, hookspecs
from zoo.registry.catalog import Catalog, read_catalog_file
from zoo.registry.failures import failure_location, failure_reason, module_root, unknown_hook_message
from zoo.registry.hookspecs import hookimpl
from zoo.registry.records import RECORD_KINDS, ComponentTable, validate_record

ENTRY_POINT_GROUP = "zoo"
CORE_PLUGIN_NAME = "zoo"
BUILTIN_DISTRIBUTION = "zoo"
CATALOG_HOOK = "zoo_register_catalogs"


class ZooPluginWarning(UserWarning):
    """A plugin could not be used; the zoo goes on without it."""


@dataclass
class PluginInfo:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    builtin: bool = False
    status: str = "ok"
    #: kind -> names this plugin registered (kinds of :data:`zoo.registry.records.RECORD_KINDS`)
    components: dict[str, list[str]] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)
    catalogs: list[str] = field(default_factory=list)
    #: names this plugin registered that another plugin's won (``ZOO_PREFER``), e.g. "architecture 'x' (plugin 'y')"
    shadowed: list[str] = field(default_factory=list)


@dataclass
class _Unit:
    """One plugin's whole contribution, collected before anything of it is used."""

    name: str
    records: dict[str, list[Any]]
    catalog_files: list[Path]
    entries: list[Any]


def _env_list(var: str) -> list[str] | None:
    value = os.environ.get(var)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _env_flag(var: str) -> bool:
    return os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}


class _PluggyManager(pluggy.PluginManager):
    """Pluggy, plus pytest's leniency: a routine named ``zoo_register_*`` is a hook implementation even
    without ``@zoo.hookimpl``, so a forgotten decorator or a misspelt hook name is never silently ignored."""

    def parse_hookimpl_opts(self, plugin: Any, name: str):  # type: ignore[override]
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("zoo_register"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


class ZooPluginManager:
    """A pluggy manager plus the component tables and catalog derived from its plugins."""

    def __init__(self, *, entry_points: bool = True, core: bool = True, strict: bool | None = None,
                 prefer: list[str] | None = None) -> None:
        self.pm = _PluggyManager("zoo")
        self.pm.add_hookspecs(hookspecs)
        self.strict = _env_flag("ZOO_STRICT_PLUGINS") if strict is None else strict
        self.prefer = list(prefer if prefer is not None else (_env_list("ZOO_PREFER") or []))
        #: plugins that failed (import, hooks, records, catalog, clashes), by name
        self.load_errors: dict[str, PluginInfo] = {}
        self._meta: dict[str, PluginInfo] = {}
        self._tables: dict[str, ComponentTable] | None = None
        self._catalog: Any = None
        self._units: dict[str, _Unit] = {}
        if core:

            self.register(core_plugin, name=CORE_PLUGIN_NAME, distribution=BUILTIN_DISTRIBUTION, builtin=True)
        if entry_points:
            self.load_entry_points()
            self.load_plugins_dir()

    # -- loading ---------------------------------------------------------------------------
    def _wanted(self, name: str, entry_point: bool = True, check_taken: bool = True) -> bool:
        allow = _env_list("ZOO_LOAD_PLUGINS") if entry_point else None  # a plugins dir is chosen explicitly
        deny = set(_env_list("ZOO_DISABLE_PLUGINS") or [])
        if name in deny or (allow is not None and name not in allow):
            return False
        return not check_taken or not (self.pm.has_plugin(name) or self.pm.is_blocked(name) or name in self.load_errors)

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import and register every wanted entry point of ``group``; failures are recorded, not raised."""
        def builtin_first(ep: importlib.metadata.EntryPoint) -> tuple[str, bool]:
            dist = getattr(ep, "dist", None)
            return ep.name, (dist.metadata["Name"] if dist is not None else "").lower() != BUILTIN_DISTRIBUTION

        # An entry point named like a built-in one is then refused (name taken), never the built-in.
        for ep in sorted(importlib.metadata.entry_points(group=group), key=builtin_first):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else None
            holder = self._meta.get(ep.name) if self.pm.has_plugin(ep.name) else None
            if holder is not None and holder.distribution != dist_name and self._wanted(ep.name, check_taken=False):
                self._fail(PluginInfo(f"{ep.name} ({dist_name})", dist_name, getattr(dist, "version", None)),
                           f"its entry point name {ep.name!r} is taken by plugin {ep.name!r} of distribution "
                           f"{holder.distribution!r}; rename the entry point in its pyproject.toml", None)
                continue
            if not self._wanted(ep.name):
                continue
            info = PluginInfo(ep.name, dist_name, getattr(dist, "version", None),
                              builtin=(dist_name or "").lower() == BUILTIN_DISTRIBUTION)
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name, distribution=info.distribution, version=info.version,
                              builtin=info.builtin)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the zoo down
                self._fail(info, failure_reason(exc, module_root(ep.module)), exc)

    def load_plugins_dir(self, directory: str | os.PathLike[str] | None = None) -> None:
        """Register each ``*.py`` file of ``directory`` (default ``$ZOO_PLUGINS_DIR``, which may list several
        folders separated by ``os.pathsep``) as plugin ``dir:<stem>`` (``dir:<folder>/<stem>`` when an earlier
        folder has a file of that name). A folder that does not exist is skipped with a warning."""
        value = os.fspath(directory) if directory is not None else os.environ.get("ZOO_PLUGINS_DIR")
        if not value:
            return
        for folder in [f for f in value.split(os.pathsep) if f.strip()]:
            if not Path(folder).is_dir():
                warnings.warn(f"ZOO_PLUGINS_DIR: {folder} is not a folder; no plugins are loaded from it",
                              ZooPluginWarning, stacklevel=3)
                continue
            for path in sorted(Path(folder).glob("*.py")):
                self._load_plugin_file(path)

    def _load_plugin_file(self, path: Path) -> None:
        name = f"dir:{path.stem}"
        if self.pm.has_plugin(name) or name in self.load_errors:
            name = f"dir:{path.resolve().parent.name}/{path.stem}"
        if not self._wanted(name, entry_point=False):
            return
        info = PluginInfo(name, distribution=str(path))
        module_name = f"zoo_local_plugin_{path.stem}"
        if module_name in sys.modules:  # the same file name in another folder
            module_name += "_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # so import paths "zoo_local_plugin_<stem>:attr" resolve
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(spec.name, None)
                raise
            self.register(module, name=name, distribution=str(path))
        except Exception as exc:  # noqa: BLE001
            self._fail(info, failure_reason(exc, os.path.abspath(path)), exc)

    def register_catalog(self, path: str | os.PathLike[str]) -> str:
        """Register one catalog file as a plugin of its own (``catalog:<path>``), once; returns the plugin name.

        Used for training runs (``zoo.training.register_run``, ``zoo.load(RUN)``): their folder holds a
        ``catalog.yaml`` that no installed plugin knows about."""
        path = Path(path).resolve()
        name = f"catalog:{path}"
        if not self.pm.has_plugin(name):
            self.register(_CatalogFile(path), name=name, distribution=str(path))
        return name

    # -- registration ----------------------------------------------------------------------
    def register(self, plugin: object, name: str | None = None, *, distribution: str | None = None,
                 version: str | None = None, builtin: bool = False) -> str:
        """Register a plugin object (module or instance with ``@zoo.hookimpl`` functions).

        Raises PluginError, leaving nothing of the plugin registered, when its hooks do not match
        the zoo's hook specifications (unknown hook name, unknown argument).
        """
        label = name or getattr(plugin, "__name__", None) or repr(plugin)
        already = self.pm.is_registered(plugin)  # then pluggy refuses it, and the registered one must stay
        try:
            registered = self.pm.register(plugin, name=name)
        except Exception as exc:
            if not already:
                self._forget(plugin)
            raise PluginError(f"plugin {label!r} cannot be registered: {exc}") from exc
        if registered is None:
            raise PluginError(f"plugin {label!r} is blocked")
        unknown = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []) if not h.has_spec())
        if unknown:
            self._forget(plugin)
            raise PluginError(unknown_hook_message(registered, unknown))
        if not self.pm.get_hookcallers(plugin):  # a wrong entry-point target would otherwise list as "ok"
            self._forget(plugin)
            where = getattr(plugin, "__file__", None) or getattr(plugin, "__name__", None) or type(plugin).__name__
            raise PluginError(f"plugin {label!r} implements no zoo hook: {where} has no @zoo.hookimpl function "
                              "(point the entry point, or the file, at the module that has them)")
        self._meta[registered] = PluginInfo(registered, distribution, version, builtin=builtin)
        self._invalidate()
        return registered

    def _forget(self, plugin: object) -> None:
        with contextlib.suppress(Exception):
            if self.pm.is_registered(plugin):
                self.pm.unregister(plugin)

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._meta.pop(name, None)
        self._invalidate()

    def _invalidate(self) -> None:
        self._tables = None
        self._catalog = None
        self._units = {}

    def is_builtin(self, name: str) -> bool:
        info = self._meta.get(name) or self.load_errors.get(name)
        return bool(info and info.builtin)

    # -- failures --------------------------------------------------------------------------
    def _fail(self, info: PluginInfo, reason: str, exc: BaseException | None = None) -> None:
        """Record a plugin as failed; warn (or raise in strict mode) naming it, the reason and the way out."""
        if reason.startswith(f"plugin {info.name!r} "):  # the label below names it already
            reason = "it " + reason.removeprefix(f"plugin {info.name!r} ")
        info.error, info.status = reason, "failed"
        label = f"zoo plugin {info.name!r}" + (f" ({info.distribution} {info.version})" if info.version else "")
        if self.strict:
            raise PluginError(f"{label} failed: {reason} [ZOO_STRICT_PLUGINS=1; set "
                              f"ZOO_DISABLE_PLUGINS={info.name} to run without it]") from exc
        self.load_errors[info.name] = info
        warnings.warn(f"{label} is disabled: {reason}. The rest of the zoo works without it; set "
                      f"ZOO_DISABLE_PLUGINS={info.name} to silence this, ZOO_STRICT_PLUGINS=1 to make it an error",
                      ZooPluginWarning, stacklevel=4)

    def _drop(self, name: str, reason: str, exc: BaseException | None = None) -> None:
        """Unregister a registered plugin whose contribution failed, and record why."""
        plugin = self.pm.get_plugin(name)
        info = self._meta.pop(name, None) or PluginInfo(name)
        info.hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or [])) if plugin is not None else []
        if plugin is not None:
            self.pm.unregister(name=name)
        self._fail(info, reason, exc)

    # -- contributions ---------------------------------------------------------------------
    def _contribution(self, name: str, plugin: object) -> _Unit:
        """Call every hook of one plugin and validate what it hands over; raises PluginError."""
        impls = {h.name: [i for i in h.get_hookimpls() if i.plugin is plugin]
                 for h in (self.pm.get_hookcallers(plugin) or [])}
        records: dict[str, list[Any]] = {}
        for kind, (_, hook_name, key_attr) in RECORD_KINDS.items():
            got: list[Any] = []
            for impl in impls.get(hook_name, []):
                self._call(name, impl, hook_name, got.append)
            seen: set[str] = set()
            for record in got:
                key = validate_record(kind, record)
                if key in seen:
                    raise PluginError(f"registers {kind} {key!r} twice")
                seen.add(key)
            records[kind] = got
        files: list[Path] = []
        for impl in impls.get(CATALOG_HOOK, []):
            self._call(name, impl, CATALOG_HOOK, lambda path: files.append(path))
        entries: list[Any] = []
        names: set[str] = set()
        for path in files:
            if not isinstance(path, (str, os.PathLike)):
                raise PluginError(f"registered {path!r} as a catalog file; expected a path")
            try:
                parsed = read_catalog_file(Path(path), name)
            except ZooError as exc:
                raise PluginError(f"catalog {exc}") from exc
            for entry in parsed:
                if entry.name in names:
                    raise PluginError(f"catalog entry {entry.name!r} is defined twice by this plugin ({path})")
                names.add(entry.name)
            entries.extend(parsed)
        return _Unit(name, records, [Path(p) for p in files], entries)

    @staticmethod
    def _call(name: str, impl: Any, hook_name: str, add) -> None:
        try:
            impl.function(**{arg: add for arg in impl.argnames})
        except Exception as exc:  # noqa: BLE001
            plugin = impl.plugin
            module = plugin.__name__ if inspect.ismodule(plugin) else type(plugin).__module__
            raise PluginError(f"its hook {hook_name} raised {type(exc).__name__}: {exc}"
                              f"{failure_location(exc, module_root(module))}") from exc

    def _build(self) -> None:
        """Collect every plugin's unit, drop the failing ones, settle clashes, fill the tables and catalog."""
        units: dict[str, _Unit] = {}
        for name, plugin in list(self.pm.list_name_plugin()):
            try:
                units[name] = self._contribution(name, plugin)
            except PluginError as exc:
                self._drop(name, str(exc), exc)
        providers: dict[tuple[str, str], list[str]] = {}
        for unit in units.values():
            for kind, records in unit.records.items():
                for record in records:
                    providers.setdefault((kind, getattr(record, RECORD_KINDS[kind][2])), []).append(unit.name)
            for entry in unit.entries:
                providers.setdefault(("catalog entry", entry.name), []).append(unit.name)
        winners, rejected = self._settle(providers)
        for name, reasons in rejected.items():
            extra = f" (and {len(reasons) - 1} more clash{'es' if len(reasons) > 2 else ''})" if len(reasons) > 1 else ""
            self._drop(name, reasons[0] + extra)
            units.pop(name, None)
        tables = {kind: ComponentTable(kind) for kind in RECORD_KINDS}
        entries = []
        for unit in units.values():
            info = self._meta.setdefault(unit.name, PluginInfo(unit.name))
            info.shadowed = []
            for kind, records in unit.records.items():
                for record in records:
                    key = getattr(record, RECORD_KINDS[kind][2])
                    if winners.get((kind, key), unit.name) == unit.name:
                        tables[kind].add(record, unit.name)
                    else:
                        info.shadowed.append(f"{kind} {key!r} (plugin {winners[(kind, key)]!r} wins: ZOO_PREFER)")
            for entry in unit.entries:
                if winners.get(("catalog entry", entry.name), unit.name) == unit.name:
                    entries.append(entry)
                else:
                    info.shadowed.append(f"catalog entry {entry.name!r} (plugin {winners[('catalog entry', entry.name)]!r} "
                                         "wins: ZOO_PREFER)")
        self._units = units
        self._tables = tables
        self._catalog = Catalog(entries)

    def _settle(self, providers: dict[tuple[str, str], list[str]]) -> tuple[dict, dict[str, list[str]]]:
        """For each name given by several plugins: the winner, and the plugins rejected (with reasons)."""
        winners: dict[tuple[str, str], str] = {}
        rejected: dict[str, list[str]] = {}
        for (kind, key), names in providers.items():
            if len(names) < 2:
                continue
            what = f"{kind} {key!r}"
            preferred = [p for p in self.prefer if p in names]
            if preferred:
                winners[(kind, key)] = preferred[0]
                continue
            builtins = [n for n in names if self.is_builtin(n)]
            others = [n for n in names if n not in builtins]
            if len(builtins) == 1:
                winners[(kind, key)] = builtins[0]
                for name in others:
                    rejected.setdefault(name, []).append(
                        f"it registers {what}, which the built-in plugin {builtins[0]!r} already provides "
                        f"(built-ins win); rename it, or set ZOO_PREFER={name} to use this plugin's {kind} instead")
                continue
            for name in names:
                rivals = ", ".join(repr(n) for n in names if n != name)
                rejected.setdefault(name, []).append(
                    f"it registers {what}, which plugin {rivals} also registers; neither is used. Set "
                    f"ZOO_PREFER={name} (or the other's name) to choose, or ZOO_DISABLE_PLUGINS to drop one")
        return winners, rejected

    # -- derived views ---------------------------------------------------------------------
    def _ensure_built(self) -> None:
        if self._tables is None:
            self._build()

    def components(self, kind: str) -> ComponentTable:
        """The table of one kind (a key of :data:`zoo.registry.records.RECORD_KINDS`, e.g. 'architecture', 'loss')."""
        if kind not in RECORD_KINDS:

            raise UnknownNameError(f"no component kind {kind!r}; kinds: {', '.join(RECORD_KINDS)}")
        self._ensure_built()
        assert self._tables is not None
        return self._tables[kind]

    def catalog_files(self) -> list[tuple[Path, str]]:
        self._ensure_built()
        return [(path, unit.name) for unit in self._units.values() for path in unit.catalog_files]

    @property
    def catalog(self):
        self._ensure_built()
        return self._catalog

    def plugin_infos(self) -> list[PluginInfo]:
        """Every registered plugin (status ``ok``) and every failed one (status ``failed``), once each."""
        self._ensure_built()
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            info = self._meta.setdefault(name, PluginInfo(name))
            info.hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))
            unit = self._units.get(name)
            if unit is not None:
                info.components = {kind: sorted(getattr(r, RECORD_KINDS[kind][2]) for r in records)
                                   for kind, records in unit.records.items() if records}
                info.entries = sorted(e.name for e in unit.entries)
                info.catalogs = [str(p) for p in unit.catalog_files]
            infos.append(info)
        infos.extend(info for name, info in self.load_errors.items() if not self.pm.has_plugin(name))
        return sorted(infos, key=lambda i: i.name)


class _CatalogFile:
    """A plugin object whose only hook registers one catalog file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def zoo_register_catalogs(self, register: Callable) -> None:
        register(self.path)


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
