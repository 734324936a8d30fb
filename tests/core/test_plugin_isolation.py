"""A faulty plugin never breaks the zoo: each common mistake, installed through an entry point (a dist-info on
sys.path) and as a loose ZOO_PLUGINS_DIR file. The rest of the zoo lists and loads, the culprit alone is named
(once), ``zoo plugins`` shows it as failed, and ZOO_STRICT_PLUGINS=1 makes it fatal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest

import zoo
from zoo.errors import PluginError
from zoo.registry.manager import ZooPluginManager, ZooPluginWarning, use_manager
from zoo.testing import write_dist_info

HEADER = "import zoo\nfrom pathlib import Path\n"

GOOD_CATALOG = """
entries:
  - name: {name}-model
    task: unpaired-translation
    architecture: {{name: resnet_generator, kwargs: {{input_nc: 3, output_nc: 3, ngf: 4, n_blocks: 1}}}}
    processing: {{value_range: [-1, 1], size_multiple: 4}}
"""

#: mistake -> (plugin source, files beside it, what the failure message says)
MISTAKES = {
    "catalog-missing-field": (
        "@zoo.hookimpl\ndef zoo_register_catalogs(register):\n"
        "    register(Path(__file__).with_name('{module}_catalog.yaml'))\n",
        {"{module}_catalog.yaml": "entries:\n  - name: {name}-model\n    architecture: rrdbnet\n"},
        "missing required field 'task'"),
    "catalog-misspelt-field": (
        "@zoo.hookimpl\ndef zoo_register_catalogs(register):\n"
        "    register(Path(__file__).with_name('{module}_catalog.yaml'))\n",
        {"{module}_catalog.yaml": "entries:\n  - name: {name}-model\n    task: super-resolution\n"
                                  "    architecture: rrdbnet\n    procesing: {{scale: 4}}\n"},
        "'procesing': unknown field (did you mean 'processing'?)"),
    "catalog-file-left-out": (
        "@zoo.hookimpl\ndef zoo_register_catalogs(register):\n"
        "    register(Path(__file__).with_name('not_shipped.yaml'))\n", {}, "cannot read catalog file"),
    "builtin-name-clash": (
        "@zoo.hookimpl\ndef zoo_register_architectures(register):\n"
        "    register(zoo.Architecture(name='rrdbnet', factory='torch.nn:Identity'))\n", {},
        "architecture 'rrdbnet', which the built-in plugin 'sr' already provides"),
    "hook-name-typo": (
        "@zoo.hookimpl\ndef zoo_register_loss(register):\n"
        "    register(zoo.Loss(name='l1', factory='torch.nn:L1Loss'))\n", {},
        "unknown hook 'zoo_register_loss' (did you mean 'zoo_register_losses'?)"),
    "hook-raises": (
        "@zoo.hookimpl\ndef zoo_register_tasks(register):\n    raise RuntimeError('task table not ready')\n", {},
        "zoo_register_tasks raised RuntimeError: task table not ready"),
    "bad-import-path": (
        "@zoo.hookimpl\ndef zoo_register_architectures(register):\n"
        "    register(zoo.Architecture(name='{name}_net', factory='{module}_networks:Net'))\n", {},
        "module '{module}_networks' cannot be found"),
    "import-error": ("raise ImportError('needs libfoo, which is not installed')\n", {}, "needs libfoo"),
}


class Installed:
    """One plugin put where the zoo finds it: ``how`` is 'entry-point' or 'plugins-dir'."""

    def __init__(self, how: str, root: Path, name: str, source: str, files: dict[str, str]) -> None:
        self.how = how
        self.module = f"zoo_t{uuid.uuid4().hex[:10]}"  # fresh module name: nothing cached in sys.modules
        self.folder = root / ("site" if how == "entry-point" else "plugins")
        self.folder.mkdir(parents=True, exist_ok=True)
        fmt = {"name": name, "module": self.module}
        file_stem = self.module if how == "entry-point" else name.replace("-", "_")
        (self.folder / f"{file_stem}.py").write_text(HEADER + source.format(**fmt))
        for file_name, text in files.items():
            (self.folder / file_name.format(**fmt)).write_text(text.format(**fmt))
        if how == "entry-point":
            write_dist_info(self.folder, f"zoo-{name}", {name: self.module})
            self.name = name
        else:
            self.name = f"dir:{file_stem}"

    def env(self) -> dict[str, str]:
        if self.how == "entry-point":
            return {"PYTHONPATH": os.pathsep.join([str(self.folder), os.environ.get("PYTHONPATH", "")])}
        return {"ZOO_PLUGINS_DIR": str(self.folder)}

    def activate(self, monkeypatch) -> None:
        if self.how == "entry-point":
            monkeypatch.syspath_prepend(str(self.folder))
        else:
            monkeypatch.setenv("ZOO_PLUGINS_DIR", str(self.folder))


def install(how: str, tmp_path: Path, monkeypatch, name: str, source: str, files: dict[str, str] | None = None):
    plugin = Installed(how, tmp_path, name, source, files or {})
    plugin.activate(monkeypatch)
    return plugin


def load_with_warnings() -> tuple[ZooPluginManager, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = ZooPluginManager()
        manager.catalog  # noqa: B018 - building the tables is what validates the plugins
    return manager, [str(w.message) for w in caught if issubclass(w.category, ZooPluginWarning)]


def run_zoo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.mark.parametrize("how", ["entry-point", "plugins-dir"])
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_faulty_plugin_is_dropped_whole_and_named_once(mistake, how, tmp_path, monkeypatch):
    source, files, says = MISTAKES[mistake]
    culprit = install(how, tmp_path, monkeypatch, "culprit", source, files)
    says = says.format(name="culprit", module=culprit.module)
    manager, messages = load_with_warnings()

    assert len(messages) == 1, messages
    assert f"zoo plugin {culprit.name!r}" in messages[0] and says in messages[0]
    assert f"ZOO_DISABLE_PLUGINS={culprit.name}" in messages[0]
    infos = manager.plugin_infos()
    assert [i.name for i in infos].count(culprit.name) == 1
    by_name = {i.name: i for i in infos}
    assert by_name[culprit.name].status == "failed" and says in by_name[culprit.name].error
    assert all(i.status == "ok" for i in infos if i.name != culprit.name)
    assert not manager.pm.has_plugin(culprit.name)  # dropped whole: none of its hooks is ever called

    # the rest of the zoo lists and loads
    assert "cyclegan-horse2zebra" in manager.catalog and "esrgan-x4" in manager.catalog
    assert manager.components("architecture").get("rrdbnet").provider == "sr"
    with use_manager(manager):
        net = zoo.build_model("realesr-animevideov3")
    assert type(net).__name__ == "SRVGGNetCompact"

    with pytest.raises(PluginError, match=f"(?s)'{culprit.name}'.*ZOO_STRICT_PLUGINS=1.*ZOO_DISABLE_PLUGINS={culprit.name}"):
        ZooPluginManager(strict=True).catalog  # noqa: B018
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", culprit.name)
    assert load_with_warnings()[1] == []


@pytest.mark.parametrize("how", ["entry-point", "plugins-dir"])
@pytest.mark.parametrize("mistake, line", [("hook-raises", 5), ("import-error", 3), ("syntax-error", 3),
                                           ("hook-calls-a-helper", 4)])
def test_a_plugin_failure_names_the_file_and_line(mistake, line, how, tmp_path, monkeypatch, capsys):
    """Issue 17.8: the warning, `zoo plugins -v` and strict mode say where in the plugin's code it failed."""
    from zoo.cli import main

    source = {"syntax-error": "def broken(:\n    pass\n",
              "hook-calls-a-helper": "def helper():\n    return dict()['scale']\n\n\n@zoo.hookimpl\n"
                                     "def zoo_register_tasks(register):\n    register(helper())\n"}.get(mistake)
    culprit = install(how, tmp_path, monkeypatch, "culprit", source or MISTAKES[mistake][0], {})
    file = culprit.folder / (f"{culprit.module}.py" if how == "entry-point" else "culprit.py")
    where = f"(at {file}:{line})"
    manager, messages = load_with_warnings()
    assert len(messages) == 1 and where in messages[0], messages
    with use_manager(manager), warnings.catch_warnings():
        warnings.simplefilter("ignore", ZooPluginWarning)
        assert main(["plugins", "-v"]) == 0
    assert where in " ".join(capsys.readouterr().out.split())  # -v wraps the error over lines
    with pytest.raises(PluginError, match=re.escape(where)):
        ZooPluginManager(strict=True).catalog  # noqa: B018


@pytest.mark.parametrize("how", ["entry-point", "plugins-dir"])
def test_cli_with_a_broken_catalog(how, tmp_path):
    """The issue's story, from the command line: the zoo lists, shows, and reports the culprit as failed."""
    source, files, _ = MISTAKES["catalog-missing-field"]
    culprit = Installed(how, tmp_path, "espcn", source, files)
    listed = run_zoo("list", "--names-only", env=culprit.env())
    assert listed.returncode == 0, listed.stderr
    assert "cyclegan-horse2zebra" in listed.stdout.split()
    assert listed.stderr.count(f"zoo plugin '{culprit.name}'") == 1  # named once, as a one-line CLI warning
    assert "missing required field 'task'" in listed.stderr
    info = run_zoo("info", "esrgan-x4", env=culprit.env())
    assert info.returncode == 0 and "rrdbnet" in info.stdout
    plugins = run_zoo("plugins", env=culprit.env())
    row = [line for line in plugins.stdout.splitlines() if line.startswith(culprit.name + " ")]
    assert len(row) == 1 and row[0].rstrip().endswith("failed"), plugins.stdout
    verbose = run_zoo("plugins", "-v", env=culprit.env())
    assert "missing required field 'task'" in verbose.stdout
    strict = run_zoo("list", env={**culprit.env(), "ZOO_STRICT_PLUGINS": "1"})
    assert strict.returncode == 2
    assert strict.stderr.startswith("zoo list: error: zoo plugin") and "Traceback" not in strict.stderr
    assert f"ZOO_DISABLE_PLUGINS={culprit.name}" in strict.stderr


def test_a_hook_typo_is_the_culprits_error_only(tmp_path, monkeypatch):
    """Plugins loaded after the culprit are neither blamed nor listed twice (pluggy's check_pending would)."""
    typo, _, _ = MISTAKES["hook-name-typo"]
    install("entry-point", tmp_path / "a", monkeypatch, "aaa-typo", typo)
    install("entry-point", tmp_path / "b", monkeypatch, "bbb-good", *_good("bbb-good"))
    manager, messages = load_with_warnings()
    assert len(messages) == 1 and "'aaa-typo'" in messages[0] and "bbb-good" not in messages[0]
    names = [i.name for i in manager.plugin_infos()]
    assert sorted(names) == sorted(set(names))
    assert "bbb-good-model" in manager.catalog


GOOD_SOURCE = ("@zoo.hookimpl\ndef zoo_register_catalogs(register):\n"
               "    register(Path(__file__).with_name('{module}_catalog.yaml'))\n")


def _good(name: str, architecture: str = "") -> tuple[str, dict[str, str]]:
    source = GOOD_SOURCE
    if architecture:
        source += ("@zoo.hookimpl\ndef zoo_register_architectures(register):\n"
                   f"    register(zoo.Architecture(name={architecture!r}, factory='torch.nn:Identity'))\n")
    return source, {"{module}_catalog.yaml": GOOD_CATALOG}


@pytest.mark.parametrize("how", ["entry-point", "plugins-dir"])
def test_zoo_prefer_lets_a_third_party_plugin_replace_a_builtin_name(how, tmp_path, monkeypatch):
    source, files = _good("mine", architecture="rrdbnet")
    mine = install(how, tmp_path, monkeypatch, "mine", source, files)
    monkeypatch.setenv("ZOO_PREFER", mine.name)
    manager, messages = load_with_warnings()
    assert messages == []
    assert manager.components("architecture").get("rrdbnet").provider == mine.name
    assert "srvgg_net_compact" in manager.components("architecture")  # the built-in keeps everything else
    sr = {i.name: i for i in manager.plugin_infos()}["sr"]
    assert sr.status == "ok" and any("rrdbnet" in s and mine.name in s for s in sr.shadowed)


def test_two_third_party_plugins_clashing_are_both_dropped_unless_one_is_preferred(tmp_path, monkeypatch):
    for name in ("one", "two"):
        source, files = _good(name, architecture="carn_m")
        install("entry-point", tmp_path / name, monkeypatch, name, source, files)
    manager, messages = load_with_warnings()
    assert len(messages) == 2 and all("architecture 'carn_m'" in m and "neither is used" in m for m in messages)
    assert "carn_m" not in manager.components("architecture")
    assert "one-model" not in manager.catalog and "cyclegan-horse2zebra" in manager.catalog
    monkeypatch.setenv("ZOO_PREFER", "two")
    manager, messages = load_with_warnings()
    assert messages == [] and manager.components("architecture").get("carn_m").provider == "two"
    assert {"one-model", "two-model"} <= set(manager.catalog.names())


def test_a_catalog_entry_named_like_a_builtin_one_is_rejected(tmp_path, monkeypatch):
    source = GOOD_SOURCE
    files = {"{module}_catalog.yaml": GOOD_CATALOG.replace("{name}-model", "cyclegan-horse2zebra")}
    install("plugins-dir", tmp_path, monkeypatch, "copycat", source, files)
    manager, messages = load_with_warnings()
    assert len(messages) == 1 and "catalog entry 'cyclegan-horse2zebra'" in messages[0] and "'zoo'" in messages[0]
    assert manager.catalog.get("cyclegan-horse2zebra").provider == "zoo"


def test_register_refuses_unknown_hooks_and_leaves_nothing_behind(empty_zoo_manager):
    class Typo:
        @zoo.hookimpl
        def zoo_register_archs(self, register):
            pass

    with pytest.raises(PluginError, match="unknown hook 'zoo_register_archs' \\(did you mean 'zoo_register_architectures'"):
        empty_zoo_manager.register(Typo(), name="typo")
    assert not empty_zoo_manager.pm.has_plugin("typo")
    empty_zoo_manager.pm.check_pending()  # nothing pending is left for the next plugin to be blamed for

    class Undecorated:  # like pytest, a zoo_register_* function counts even without @zoo.hookimpl
        def zoo_register_tasks(self, register):
            register(zoo.Task(name="undecorated-task"))

    empty_zoo_manager.register(Undecorated(), name="undecorated")
    assert "undecorated-task" in empty_zoo_manager.components("task")


def test_a_second_entry_point_to_the_same_module_leaves_the_first_registered(tmp_path, monkeypatch):
    source, files = _good("twice")
    first = install("entry-point", tmp_path, monkeypatch, "twice", source, files)
    write_dist_info(first.folder, "zoo-twice-again", {"twice-again": first.module})
    manager, messages = load_with_warnings()
    assert len(messages) == 1 and "'twice-again'" in messages[0] and "already registered" in messages[0]
    assert manager.pm.has_plugin("twice") and "twice-model" in manager.catalog


def test_an_entry_point_named_like_a_builtin_never_replaces_it(tmp_path, monkeypatch):
    """A third-party distribution whose entry point is called 'sr' is refused; the built-in 'sr' stays."""
    (tmp_path / "impostor_sr.py").write_text("import zoo\n@zoo.hookimpl\ndef zoo_register_architectures(register):\n"
                                             "    register(zoo.Architecture(name='imp', factory='torch.nn:Identity'))\n")
    write_dist_info(tmp_path, "zoo-impostor", {"sr": "impostor_sr"})
    monkeypatch.syspath_prepend(str(tmp_path))
    manager, messages = load_with_warnings()
    assert manager.is_builtin("sr") and "rrdbnet" in manager.components("architecture")
    assert len(messages) == 1 and "zoo-impostor" in messages[0] and "is taken by plugin 'sr'" in messages[0]
    assert "imp" not in manager.components("architecture")


def test_new_plugin_refuses_the_name_of_a_builtin(tmp_path):
    from zoo.testing.scaffold import scaffold

    with pytest.raises(zoo.ZooError, match="plugin name 'sr' is taken"):
        scaffold("sr", tmp_path)
