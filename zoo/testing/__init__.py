"""Testing a plugin: pytest fixtures, the conformance check, and the ``zoo new-plugin`` template.

Owns what plugin authors test with (this module is a pytest plugin), the conformance check
(:mod:`~zoo.testing.conformance`) and the scaffold (:mod:`~zoo.testing.scaffold`, ``plugin_template/``).
May import ``zoo.inference`` and everything below it; imports pytest.

Enable with ``pytest_plugins = ["zoo.testing"]`` in a ``conftest.py``. Fixtures:

``zoo_manager``      a fresh plugin manager (core + installed plugins) made process-wide for one test
``empty_zoo_manager`` the same with no entry points loaded: only what the test registers
``register_plugin``  ``register_plugin(obj, name=None)`` registers a plugin for the duration of a test

:func:`check_plugin` is the conformance check (:mod:`zoo.testing.conformance`): every component a plugin registers
imports, builds and runs on a tiny input (losses: a finite scalar that gradients flow through), and every
catalog entry it brings builds, loads its weights strictly where they are reachable offline, and turns a
small image into an output of the size ``processing.scale`` promises. Failures are AssertionErrors naming
the plugin, the component and what was expected vs got.

:func:`write_dist_info` installs a plugin through an entry point without pip (a ``*.dist-info`` folder), to
test how the zoo loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest

from zoo.registry.manager import ENTRY_POINT_GROUP, ZooPluginManager, use_manager
from zoo.testing.conformance import DEFAULT_IMAGE_SIZE, ConformanceReport, run_conformance


@pytest.fixture
def zoo_manager() -> Iterator[ZooPluginManager]:
    manager = ZooPluginManager()
    with use_manager(manager):
        yield manager


@pytest.fixture
def empty_zoo_manager() -> Iterator[ZooPluginManager]:
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
