"""Testing a plugin: pytest fixtures, the conformance check, synthetic checkpoints, and the ``zoo new-plugin`` template.

Owns what plugin authors test with (this module is a pytest plugin), the conformance check
(:mod:`~zoo.testing.conformance`), synthetic checkpoints (:mod:`~zoo.testing.checkpoints`) and the scaffold
(:mod:`~zoo.testing.scaffold`, ``plugin_template/``). May import ``zoo.inference`` and everything below it;
imports pytest.

Enable with ``pytest_plugins = ["zoo.testing"]`` in a ``conftest.py``. Fixtures (every one keeps the user's
``$ZOO_HOME`` out: the weights cache, datasets and converted files go to an empty folder per test):

``zoo_home``          that folder (``$ZOO_HOME`` for the test)
``zoo_manager``       a fresh plugin manager (core + installed plugins) made process-wide for one test
``empty_zoo_manager`` the same with no entry points loaded: only what the test registers
``register_plugin``   ``register_plugin(obj, name=None)`` registers a plugin for the duration of a test
``zoo_cli``           ``zoo_cli("plugins", "check", "espcn")`` runs the ``zoo`` command as a user would (a child
                      process, the test's ``$ZOO_HOME``): a :class:`CliResult` (``code``, ``out``, ``err``)
``zoo_conformance_case`` one parametrised item per component and catalog entry of the plugins named by
                      ``pytest --zoo-plugin NAME`` or the test module's ``ZOO_PLUGINS = ["NAME"]``; call its
                      ``check()`` (:class:`~zoo.testing.conformance.ConformanceCase`)

:func:`check_plugin` is the whole conformance check in one call (:mod:`zoo.testing.conformance`): every component a
plugin registers imports, builds and runs on a tiny input (losses: a finite scalar that gradients flow through), and
every catalog entry it brings builds, adapts a synthetic checkpoint of its format's layout, loads its weights
strictly where they are reachable offline, and turns a small image into an output of the size ``processing.scale``
promises. Failures are AssertionErrors naming the plugin, the component and what was expected vs got.

:func:`write_checkpoint` writes a synthetic checkpoint in a weight format's upstream layout (``WeightFormat.layout``);
:func:`write_dist_info` installs a plugin through an entry point without pip (a ``*.dist-info`` folder), to test how
the zoo loads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest

from zoo.registry.manager import ENTRY_POINT_GROUP, ZooPluginManager, ZooPluginWarning, use_manager
from zoo.testing.checkpoints import synthetic_checkpoint, write_checkpoint
from zoo.testing.conformance import (DEFAULT_IMAGE_SIZE, ConformanceCase, ConformanceReport, conformance_cases,
                                     run_conformance)

__all__ = ["CliResult", "ConformanceCase", "ConformanceReport", "check_plugin", "conformance_cases",
           "synthetic_checkpoint", "write_checkpoint", "write_dist_info"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--zoo-plugin", action="append", default=[], metavar="NAME",
                     help="zoo: run the conformance check of plugin NAME as one test per component and catalog entry "
                          "(tests taking the zoo_conformance_case argument)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``zoo_conformance_case`` with the items of ``--zoo-plugin`` (else the module's ``ZOO_PLUGINS``)."""
    if "zoo_conformance_case" not in metafunc.fixturenames:
        return
    names = metafunc.config.getoption("zoo_plugin") or list(getattr(metafunc.module, "ZOO_PLUGINS", []))
    if not names:
        raise pytest.UsageError(f"{metafunc.function.__name__} takes zoo_conformance_case: name the plugin with "
                                "pytest --zoo-plugin NAME or ZOO_PLUGINS = ['NAME'] in its module")
    with warnings.catch_warnings():  # a disabled plugin's reason is its 'loading' item's failure
        warnings.simplefilter("ignore", ZooPluginWarning)
        manager = ZooPluginManager()
        cases = [case for name in names for case in conformance_cases(manager, name)]
    metafunc.parametrize("zoo_conformance_case", cases, ids=[case.id for case in cases])


@pytest.fixture
def zoo_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$ZOO_HOME`` for one test: resolvers, downloads and conversions never touch the user's cache."""
    home = tmp_path_factory.mktemp("zoo_home")
    monkeypatch.setenv("ZOO_HOME", str(home))
    return home


@pytest.fixture
def zoo_manager(zoo_home: Path) -> Iterator[ZooPluginManager]:
    manager = ZooPluginManager()
    with use_manager(manager):
        yield manager


@pytest.fixture
def empty_zoo_manager(zoo_home: Path) -> Iterator[ZooPluginManager]:
    manager = ZooPluginManager(entry_points=False)
    with use_manager(manager):
        yield manager


@pytest.fixture
def register_plugin(zoo_manager: ZooPluginManager) -> Iterator[Callable[..., str]]:
    names: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        registered = zoo_manager.register(plugin, name=name)
        names.append(registered)
        return registered

    yield register
    for name in reversed(names):
        if zoo_manager.pm.has_plugin(name):
            zoo_manager.unregister(name)


@dataclass
class CliResult:
    """What one ``zoo`` command printed, and its exit status (0 ok, 1 failed check or run, 2 usage error)."""

    code: int
    out: str
    err: str


@pytest.fixture
def zoo_cli(zoo_home: Path) -> Callable[..., CliResult]:
    """``zoo_cli("run", "espcn-x2", "in.png", "-o", "out")``: the ``zoo`` command as a user runs it (a child process
    of this interpreter, so installed plugins load through their entry points) with the test's ``$ZOO_HOME``;
    ``env={...}`` adds variables (``ZOO_PLUGINS_DIR``, ``ZOO_DATA``...), ``cwd=`` sets the folder."""

    def run(*args: str | Path, env: dict[str, str] | None = None, cwd: str | Path | None = None,
            timeout: float = 600) -> CliResult:
        environ = {**os.environ, "ZOO_HOME": str(zoo_home), **(env or {})}
        done = subprocess.run([sys.executable, "-m", "zoo", *map(str, args)], capture_output=True, text=True,
                              env=environ, cwd=cwd, timeout=timeout)
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run


def check_plugin(manager: ZooPluginManager, plugin_name: str, *, entries: Iterable[str] | None = None,
                 pretrained: bool | Iterable[str] = True,
                 image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE) -> ConformanceReport:
    """Build and run everything ``plugin_name`` registered; return the names checked per kind (``report.notes``
    says what was skipped, e.g. weights not reachable offline).

    ``entries`` limits the catalog entries checked; ``pretrained`` is True, False or the entry names whose
    weights are loaded; ``image_size`` is the (height, width) of the image run through each entry's pipeline.
    Raises AssertionError naming the plugin, the component and expected vs got.
    """

    return run_conformance(manager, plugin_name, entries=entries, pretrained=pretrained, image_size=image_size)


def write_dist_info(site: str | Path, distribution: str, entry_points: dict[str, str], version: str = "0.1",
                    group: str = ENTRY_POINT_GROUP) -> Path:
    """Make ``site`` (a folder on ``sys.path``/``PYTHONPATH``) hold an installed distribution whose entry points
    of ``group`` are ``{name: "module[:attr]"}``: what pip leaves behind, without pip. Returns the dist-info."""
    folder = Path(site) / f"{distribution.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    lines = [f"[{group}]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (folder / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return folder
