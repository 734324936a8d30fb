"""Child processes: one model per process (CPU peak memory), and torchrun sharding with gloo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench_helpers import PLUGIN_DIR, read

REPO = Path(__file__).resolve().parents[2]


def test_isolated_run_reports_the_child_peak_memory(bench, tmp_path):
    code, _, stderr = bench("tiny-bench-same", "--size", "16", "--iters", "2", "--isolate", "--out", str(tmp_path))
    row = read(tmp_path)["speed"][0]
    assert code == 0 and row["status"] == "ok", stderr
    assert row["mem_scope"] == "child process" and 10 < row["peak_mem_mib"] < 4096


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_torchrun_shards_models_and_rank0_writes_the_report(tmp_path):
    env = {**os.environ, "ZOO_PLUGINS_DIR": str(PLUGIN_DIR), "ZOO_OFFLINE": "1", "ZOO_HOME": str(tmp_path / "home"),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    env.pop("ZOO_DATA", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "zoo", "bench",
           "tiny-bench-same", "tiny-bench-x2", "tiny-bench-broken", "--size", "16", "--iters", "1", "--no-isolate",
           "--out", str(tmp_path / "r")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    report = read(tmp_path / "r")
    assert report["world_size"] == 2
    assert list(dict.fromkeys(r["model"] for r in report["speed"])) == ["tiny-bench-same", "tiny-bench-x2",
                                                                         "tiny-bench-broken"]
    assert "rank 1" in proc.stderr and "rank 0" in proc.stderr


def test_a_child_does_not_load_a_loose_plugin_twice(tmp_path, monkeypatch):
    """A plugins-folder file that puts a package folder on sys.path (as docs/benchmarks.md shows for the example
    plugin): the child must not see that folder from the start, or the package's installed metadata there makes
    it an entry point too, the two copies clash, and the entry is gone (an unrelated UnknownNameError)."""
    from zoo.cli import main
    from zoo.registry.manager import ZooPluginManager, use_manager

    packages, plugins = tmp_path / "packages", tmp_path / "plugins"
    (packages / "loose_pkg").mkdir(parents=True)
    (packages / "loose_pkg-0.1.dist-info").mkdir()
    plugins.mkdir()
    (packages / "loose_pkg" / "__init__.py").write_text(
        "from pathlib import Path\nimport torch\nimport zoo\n\n\n"
        "@zoo.hookimpl\ndef zoo_register_architectures(register):\n"
        "    register(zoo.Architecture(name='loose_net', factory=lambda: torch.nn.Conv2d(3, 3, 3, padding=1),\n"
        "                              example_input=(1, 3, 16, 16)))\n\n\n"
        "@zoo.hookimpl\ndef zoo_register_catalogs(register):\n"
        "    register(Path(__file__).with_name('catalog.yaml'))\n")
    (packages / "loose_pkg" / "catalog.yaml").write_text(
        "entries:\n  - {name: loose-same, task: super-resolution, architecture: {name: loose_net}}\n")
    (packages / "loose_pkg-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: loose-pkg\nVersion: 0.1\n")
    (packages / "loose_pkg-0.1.dist-info" / "entry_points.txt").write_text("[zoo]\nloose = loose_pkg\n")
    (plugins / "loose.py").write_text(f"import sys\nsys.path.insert(0, {str(packages)!r})\nfrom loose_pkg import *\n")
    monkeypatch.setattr(sys, "path", list(sys.path))  # the plugin file's insertion is undone after the test
    monkeypatch.setenv("ZOO_PLUGINS_DIR", str(plugins))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    try:
        with use_manager(ZooPluginManager()):
            code = main(["bench", "loose-same", "--size", "16", "--iters", "1", "--rounds", "1", "--random-weights",
                         "--dtype", "fp32", "--isolate", "--out", str(tmp_path / "r")])
    finally:
        sys.modules.pop("loose_pkg", None)
        sys.modules.pop("zoo_local_plugin_loose", None)
    row = read(tmp_path / "r")["speed"][0]
    assert code == 0 and row["status"] == "ok" and row["mem_scope"] == "child process", row["status"]
