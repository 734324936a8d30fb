"""Issue 18 small defects: ZOO_PLUGINS_DIR takes an os.pathsep list and warns on a missing folder;
``--suffix _cg`` does not double the underscore."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from zoo.inference.runner import plan_outputs
from zoo.registry.manager import ZooPluginManager, ZooPluginWarning

CATALOG = """entries:
  - name: {name}
    task: super-resolution
    architecture: {{name: msrresnet, kwargs: {{num_feat: 4, num_block: 1, upscale: 2}}}}
    processing: {{scale: 2}}
"""
PLUGIN = '''from pathlib import Path
from zoo.registry.hookspecs import hookimpl

@hookimpl
def zoo_register_catalogs(register):
    register(Path(__file__).with_name("catalog.yaml"))
'''


def _run_like(folder: Path, name: str) -> Path:
    """A folder like a training run's: catalog.yaml + zoo_run_plugin.py (the same file name in every run)."""
    folder.mkdir(parents=True)
    (folder / "catalog.yaml").write_text(CATALOG.format(name=name))
    (folder / "zoo_run_plugin.py").write_text(PLUGIN)
    return folder


def test_plugins_dir_takes_a_list_of_folders(tmp_path: Path, monkeypatch) -> None:
    one, two = _run_like(tmp_path / "one", "tiny-one"), _run_like(tmp_path / "two", "tiny-two")
    monkeypatch.setenv("ZOO_PLUGINS_DIR", os.pathsep.join([str(one), str(two)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        manager = ZooPluginManager()
    assert {"tiny-one", "tiny-two"} <= set(manager.catalog.names())
    assert manager.pm.has_plugin("dir:zoo_run_plugin") and manager.pm.has_plugin("dir:two/zoo_run_plugin")


def test_plugins_dir_warns_about_a_missing_folder(tmp_path: Path, monkeypatch) -> None:
    one = _run_like(tmp_path / "one", "tiny-one")
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("ZOO_PLUGINS_DIR", os.pathsep.join([str(missing), str(one)]))
    with pytest.warns(ZooPluginWarning, match=f"ZOO_PLUGINS_DIR: {missing} is not a folder"):
        manager = ZooPluginManager()
    assert "tiny-one" in manager.catalog.names()


@pytest.mark.parametrize("suffix, name", [("_cg", "amber_cg.jpg"), ("cg", "amber_cg.jpg"), ("-x4", "amber-x4.jpg"),
                                          ("", "amber.jpg")])
def test_suffix_with_its_own_separator(tmp_path: Path, suffix: str, name: str) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "amber.jpg").write_bytes(b"")
    pairs = plan_outputs([str(src / "amber.jpg")], tmp_path / "out", suffix=suffix)
    assert pairs[0][1].name == name


def test_a_plugin_with_no_hooks_is_disabled_and_named(tmp_path: Path, monkeypatch, capsys) -> None:
    """A wrong entry-point target or a loose file without hooks used to list as "ok" and pass its check."""
    from zoo.cli import main

    (tmp_path / "nohooks.py").write_text("x = 1\n")
    monkeypatch.setenv("ZOO_PLUGINS_DIR", str(tmp_path))
    monkeypatch.setattr("zoo.registry.manager._manager", None)  # the CLI's manager is made here, and dropped after
    with pytest.warns(ZooPluginWarning, match=r"'dir:nohooks' is disabled: it implements no zoo hook: .*nohooks.py "
                                              r"has no @zoo.hookimpl function"):
        manager = ZooPluginManager()
    assert "dir:nohooks" in manager.load_errors
    with pytest.warns(ZooPluginWarning):
        assert main(["plugins", "check", "dir:nohooks"]) == 1
    assert "it implements no zoo hook" in capsys.readouterr().err


def test_zoo_plugins_says_when_plugins_dir_is_not_a_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    from zoo.cli import main

    monkeypatch.setenv("ZOO_PLUGINS_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr("zoo.registry.manager._manager", None)
    with pytest.warns(ZooPluginWarning, match="ZOO_PLUGINS_DIR: .*nowhere is not a folder"):
        assert main(["plugins"]) == 0
