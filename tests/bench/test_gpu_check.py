"""The CPU dry run of benchmarks/gpu_check.sh: every step runs; GPU goals are not applicable there, so the
script's exit status tells a broken step (1) from a clean dry run (0)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
GOALS = REPO / "benchmarks" / "gpu_goals.py"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils timeout")


def dry_run(tmp_path: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = {**os.environ, "GPU_CHECK_DEVICE": "cpu", "GPU_CHECK_QUICK": "1", "GPU_CHECK_LIMIT_SCALE": "6",
           "GPU_CHECK_OUT": str(tmp_path / "out"), "PYTHON": python, "ZOO_HOME": str(tmp_path / "home"),
           "ZOO_OFFLINE": "1"}
    env.pop("ZOO_DATA", None)
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=540)


def test_the_cpu_dry_run_passes_with_goals_not_applicable(tmp_path):
    proc = dry_run(tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    for step in ("suite", "autotile", "fid", "micro", "report", "goals"):
        assert f"== {step}: exit 0" in log, log[-3000:]
    goals = (tmp_path / "out" / "goals.md").read_text()
    assert "NOT APPLICABLE" in goals and "FAIL" not in goals and "PASS" not in goals


def test_a_broken_step_still_fails_the_dry_run(tmp_path):
    """The auto-tiling step breaks; the other heavy steps are stubbed to succeed (to keep this test short): exit 1."""
    wrapper = tmp_path / "python"
    wrapper.write_text("#!/usr/bin/env bash\ncase \"$*\" in\n  *gpu_autotile.py*) echo broken >&2; exit 7;;\n"
                       "  *'zoo bench --suite'*|*metrics_fid_throughput.py*|*'pytest benchmarks/micro'*) exit 0;;\nesac\n"
                       f"exec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    proc = dry_run(tmp_path, str(wrapper))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "== autotile: exit 7" in log, log[-3000:]
    assert all(f"== {step}: exit 0" in log for step in ("suite", "fid", "micro")), log[-3000:]


def goals_of(tmp_path: Path, machine: dict, speed: list) -> tuple[int, str]:
    (tmp_path / "report.json").write_text(json.dumps({"machine": machine, "speed": speed}))
    proc = subprocess.run([sys.executable, str(GOALS), str(tmp_path)], capture_output=True, text=True, timeout=60)
    return proc.returncode, (tmp_path / "goals.md").read_text()


def test_on_a_gpu_an_unmet_goal_fails(tmp_path):
    row = {"model": "cyclegan-horse2zebra", "task": "translation", "dtype": "bf16", "status": "ok", "pct_of_peak": 12.0,
           "tflops": 100.0, "peak_tflops": 989.4, "gflops_per_image": 56.0, "setting": "bf16", "batch": 16}
    (tmp_path / "fid_throughput.txt").write_text("path a b c\nfolder 1 2 3.5 0\ntensor 1 2 3.2 0\n")
    code, text = goals_of(tmp_path, {"gpu": "NVIDIA H100", "device": "cuda"}, [row])
    assert code == 1 and "12.0% of dense bf16 peak" in text and "FAIL (goal >= 40%)" in text
    code, text = goals_of(tmp_path, {"gpu": None, "device": "cpu"}, [])
    assert code == 0 and "NOT APPLICABLE" in text
