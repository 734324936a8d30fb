"""Pytest fixtures and checks for plugin authors.

Enable with ``pytest_plugins = ["zoo.testing"]`` in a ``conftest.py``. Fixtures:

``zoo_manager``      a fresh plugin manager (core + installed plugins) made process-wide for one test
``empty_zoo_manager`` the same with no entry points loaded: only what the test registers
``register_plugin``  ``register_plugin(obj, name=None)`` registers a plugin for the duration of a test

:func:`check_plugin` is the conformance check: every component a plugin registers builds and
runs on a tiny input, and every catalog entry it brings validates against the registered components.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .plugins import ZooPluginManager, use_manager


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


def check_plugin(manager: ZooPluginManager, plugin_name: str) -> dict[str, list[str]]:
    """Build and run everything ``plugin_name`` registered; return the names checked per kind.

    Raises AssertionError naming the component that failed.
    """
    from .conformance import run_conformance

    return run_conformance(manager, plugin_name)
