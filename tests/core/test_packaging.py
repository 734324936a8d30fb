"""A plain (non-editable) wheel carries the core, the built-in plugins and the catalog, and works."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build_dir = tmp_path_factory.mktemp("src")
    # build from a copy so no build/ folder is left in the checkout
    src = build_dir / "zoo"
    subprocess.run([sys.executable, "-c", (
        "import shutil,sys; shutil.copytree(sys.argv[1], sys.argv[2], symlinks=True, "
        "ignore=shutil.ignore_patterns('.git','__pycache__','*.egg-info','build','dist','benchmarks','tests','docs'))"),
        str(REPO), str(src)], check=True)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
                   check=True, capture_output=True)
    (found,) = out.glob("zoo-*.whl")
    return found


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"zoo", "zoo_translation", "zoo_sr", "zoo_style"} <= tops
    assert "plugins" not in tops  # no generic top-level module that could collide
    assert zipfile.ZipFile(wheel).read("zoo/registry.yaml") == (REPO / "registry.yaml").read_bytes()
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for line in ("translation = zoo_translation", "sr = zoo_sr", "style = zoo_style", "zoo = zoo.cli:main"):
        assert line in entry_points


def test_installed_wheel_lists_the_catalog(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target",
                    str(target), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import zoo, json; print(zoo.__file__); print(len(zoo.list_models()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         check=True).stdout.split()
    assert out[0].startswith(str(target))
    expected = subprocess.run([sys.executable, "-c", "import zoo; print(len(zoo.list_models()))"],
                              capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    assert out[1] == expected
