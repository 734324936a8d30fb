"""`zoo new-plugin NAME` scaffolds a package that installs in a fresh venv and passes its own tests (slow: one test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_new_plugin_installs_and_passes_its_own_tests(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}
    env.pop("ZOO_PLUGINS_DIR", None)
    made = subprocess.run([sys.executable, "-m", "zoo", "new-plugin", "espcn", "--dir", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    root = tmp_path / "zoo-espcn"
    assert (root / "zoo_espcn" / "weights" / "espcn_x2.safetensors").is_file()
    again = subprocess.run([sys.executable, "-m", "zoo", "new-plugin", "espcn", "--dir", str(tmp_path)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 2 and "already exists" in again.stderr

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--no-input", "-e", str(root)], capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]

    listed = subprocess.run([python, "-m", "zoo", "plugins"], capture_output=True, text=True, env=env, timeout=120)
    row = [line for line in listed.stdout.splitlines() if line.startswith("espcn ")]
    assert len(row) == 1 and "zoo-espcn" in row[0] and row[0].rstrip().endswith("ok"), listed.stdout + listed.stderr
    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, capture_output=True,
                           text=True, env=env, timeout=300)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "2 passed" in tests.stdout
