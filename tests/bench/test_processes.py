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
    assert [r["model"] for r in report["speed"]] == ["tiny-bench-same", "tiny-bench-x2", "tiny-bench-broken"]
    assert "rank 1" in proc.stderr and "rank 0" in proc.stderr
