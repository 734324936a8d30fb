"""`zoo new-plugin NAME` scaffolds a package that installs in a fresh venv and passes its own tests (slow: one test)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _venv_seeing_this_environment(folder: Path) -> str:
    """A fresh venv whose packages are this interpreter's (torch, setuptools, pip ... as the test run has them).

    Neither ``--system-site-packages`` (that is the *base* interpreter's site, which may carry an old setuptools
    and no ``wheel``) nor the venv's own seeded pip/setuptools: a ``.pth`` file adds this environment's site
    folders, with their own ``.pth`` files, after the venv's (still empty) site-packages.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    site_dir = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    ours = [p for p in dict.fromkeys([*site.getsitepackages(), site.getusersitepackages()]) if os.path.isdir(p)]
    Path(site_dir).mkdir(parents=True, exist_ok=True)
    (Path(site_dir) / "outer_environment.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
    return str(python)


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

    python = _venv_seeing_this_environment(tmp_path / "venv")
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
