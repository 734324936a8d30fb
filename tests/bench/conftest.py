"""Fixtures of the ``zoo bench`` tests: tiny entries from a plugin folder, visible to child processes."""

from __future__ import annotations

import pytest

from bench_helpers import PLUGIN_DIR


@pytest.fixture
def tiny_zoo(monkeypatch):
    """A fresh plugin manager that also loads ``plugin_dir`` (``ZOO_PLUGINS_DIR``), offline, no ../shared data."""
    from zoo.registry.manager import ZooPluginManager, use_manager

    monkeypatch.setenv("ZOO_PLUGINS_DIR", str(PLUGIN_DIR))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.delenv("ZOO_DATA", raising=False)
    with use_manager(ZooPluginManager()) as manager:
        yield manager


@pytest.fixture
def bench(tiny_zoo, capsys):
    """``bench(*argv) -> (exit code, stdout, stderr)`` running ``zoo bench`` in this process."""
    from zoo.cli import main

    def run(*argv: str):
        code = main(["bench", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
