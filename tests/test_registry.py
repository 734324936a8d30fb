"""Registry-driven checks over the real catalog and the built-in plugins (timm-style)."""

from __future__ import annotations

import pytest

from zoo.cli import main
from zoo.testing.conformance import check_entries
from zoo.registry.manager import ZooPluginManager
from zoo.testing import check_plugin

BUILTIN_PLUGINS = ["translation", "sr", "style"]


@pytest.fixture(scope="module")
def manager() -> ZooPluginManager:
    return ZooPluginManager(strict=True)


def test_every_entry_validates_and_builds(manager):
    names = check_entries(manager)
    assert len(names) == len(manager.catalog) > 0


@pytest.mark.parametrize("plugin", BUILTIN_PLUGINS)
def test_builtin_plugin_conformance(manager, plugin):
    # components and every entry run, with random weights on small images; loading the reachable pretrained
    # weights (and the slow ncnn conversions) is tests/core/test_plugin_conformance.py's job
    report = check_plugin(manager, plugin, pretrained=False, image_size=(12, 14))
    assert report.get("architecture"), f"plugin {plugin!r} registers no architecture"
    assert report.get("entry"), f"plugin {plugin!r} has no catalog entries"


@pytest.mark.parametrize("pattern,count", [("cyclegan-*", 18), ("pix2pix-*", 5)])
def test_zoo_list_counts(pattern, count, capsys, zoo_manager):
    assert main(["list", pattern, "--names-only"]) == 0
    assert len(capsys.readouterr().out.split()) == count


def test_weights_sources_are_complete(manager):
    for entry in manager.catalog:
        assert entry.weights, f"{entry.name} lists no weights"
        for spec in entry.weights:
            assert spec.license, f"{entry.name}: weights {spec.uri} have no license"
            if spec.scheme in ("http", "https"):
                assert "127.0.0.1" not in spec.uri and "localhost" not in spec.uri, entry.name
