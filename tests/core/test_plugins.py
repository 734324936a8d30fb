"""Plugin discovery: entry points, broken plugins, strict mode, allow/deny lists, duplicates, laziness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo.errors import PluginError
from zoo.registry.manager import ZooPluginManager, ZooPluginWarning

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "zoo-example-plugin"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """A site folder with the example plugin installed by pip and a broken plugin beside it."""
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", str(site), str(EXAMPLE)], check=True)
    dist = site / "zoo_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[zoo]\nbroken = zoo_broken\n")
    (site / "zoo_broken.py").write_text("raise ImportError('zoo_broken needs libfoo, which is not installed')\n")
    return site


@pytest.fixture
def with_site(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    return plugin_site


def run_cli(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(site), **env}
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=environment)


def test_broken_plugin_is_a_warning_and_the_rest_works(with_site):
    with pytest.warns(ZooPluginWarning, match="'broken'.*zoo-broken 0.1.*needs libfoo"):
        manager = ZooPluginManager()
    assert "broken" in manager.load_errors
    assert "example-unsharp-mask" in manager.catalog
    assert "unsharp_mask_net" in manager.components("architecture")
    infos = {i.name: i for i in manager.plugin_infos()}
    assert infos["example"].distribution == "zoo-example" and infos["example"].version == "0.1.0"
    assert "needs libfoo" in infos["broken"].error


def test_cli_lists_everything_else_and_shows_the_error(plugin_site):
    listed = run_cli(plugin_site, "list", "--names-only")
    assert listed.returncode == 0, listed.stderr
    assert "example-unsharp-mask" in listed.stdout.split()
    assert "broken" in listed.stderr  # the warning names the plugin
    plugins = run_cli(plugin_site, "plugins", "--json")
    rows = {row["name"]: row for row in json.loads(plugins.stdout)}
    assert "needs libfoo" in rows["broken"]["error"]
    assert rows["example"]["error"] is None and "zoo_register_architectures" in rows["example"]["hooks"]


def test_strict_mode_turns_the_warning_into_an_error(with_site, monkeypatch):
    monkeypatch.setenv("ZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="'broken'.*ZOO_STRICT_PLUGINS"):
        ZooPluginManager()
    assert run_cli(with_site, "list").returncode != 0


def test_allow_and_deny_lists(with_site, monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "broken")
    manager = ZooPluginManager()
    assert not manager.load_errors and manager.pm.has_plugin("example")
    monkeypatch.delenv("ZOO_DISABLE_PLUGINS")
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "example")
    manager = ZooPluginManager()
    assert manager.pm.has_plugin("example") and not manager.pm.has_plugin("translation")
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "")
    assert [i.name for i in ZooPluginManager().plugin_infos()] == ["zoo"]


def test_example_plugin_own_tests_pass(plugin_site):
    """The tests folder the example's README promises, run as its author would, against the installed plugin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")]),
           "ZOO_DISABLE_PLUGINS": "broken"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                            capture_output=True, text=True, env=env, cwd=EXAMPLE, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout


def test_two_plugins_with_the_same_name_are_both_dropped(empty_zoo_manager):
    class One:
        @zoo.hookimpl
        def zoo_register_architectures(self, register):
            register(zoo.Architecture(name="same", factory="torch.nn:Identity"))

    empty_zoo_manager.register(One(), name="first")
    empty_zoo_manager.register(One(), name="second")
    with pytest.warns(ZooPluginWarning) as caught:
        table = empty_zoo_manager.components("architecture")
    assert "same" not in table
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert "'first'" in messages[0] and "which plugin 'second' also registers; neither is used" in messages[0]
    assert {i.name: i.status for i in empty_zoo_manager.plugin_infos()} == {"zoo": "ok", "first": "failed",
                                                                          "second": "failed"}
    strict = ZooPluginManager(entry_points=False, strict=True)
    strict.register(One(), name="first")
    strict.register(One(), name="second")
    with pytest.raises(PluginError, match="architecture 'same'.*neither is used"):
        strict.components("architecture")


def test_wrong_record_type_and_bad_factory_are_named(empty_zoo_manager):
    class Wrong:
        @zoo.hookimpl
        def zoo_register_tasks(self, register):
            register(zoo.Architecture(name="x", factory="torch.nn:Identity"))

    empty_zoo_manager.register(Wrong(), name="wrong")
    with pytest.warns(ZooPluginWarning, match="'wrong'.*zoo_register_tasks registered Architecture.*expected a zoo.Task"):
        assert "x" not in empty_zoo_manager.components("task")

    class BadPath:
        @zoo.hookimpl
        def zoo_register_architectures(self, register):
            register(zoo.Architecture(name="ghost", factory="torch.nn.Identity"))

    empty_zoo_manager.register(BadPath(), name="badpath")
    with pytest.warns(ZooPluginWarning, match="'badpath'.*'ghost'.*not an import path of the form 'pkg.module:attr'"):
        assert "ghost" not in empty_zoo_manager.components("architecture")

    class MissingAttr:  # the module exists: only importing it tells that the attribute does not
        @zoo.hookimpl
        def zoo_register_architectures(self, register):
            register(zoo.Architecture(name="phantom", factory="torch.nn:NoSuchLayer"))

    empty_zoo_manager.register(MissingAttr(), name="missingattr")
    with pytest.raises(PluginError, match="cannot import .*'phantom'.*plugin 'missingattr'.*AttributeError"):
        empty_zoo_manager.components("architecture").get("phantom").load("factory")


def test_listing_does_not_import_model_modules():
    code = ("import sys, zoo; zoo.list_models(); "
            "print(sorted(m for m in sys.modules if m.startswith('zoo_') or m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)  # noqa: S307 - our own printed list
    assert "torch" not in loaded
    # only the plugins' light modules: their __init__ and the dataset and recipe records (no networks, no torch)
    assert all("." not in m or m.endswith((".datasets", ".recipes")) for m in loaded), loaded


def test_plugins_dir_loads_local_files(tmp_path, monkeypatch):
    (tmp_path / "local_arch.py").write_text(
        "import zoo\n@zoo.hookimpl\ndef zoo_register_architectures(register):\n"
        "    register(zoo.Architecture(name='local_identity', factory='torch.nn:Identity'))\n")
    monkeypatch.setenv("ZOO_PLUGINS_DIR", str(tmp_path))
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "")
    manager = ZooPluginManager()
    assert manager.components("architecture").get("local_identity").provider == "dir:local_arch"
