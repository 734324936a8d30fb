"""`zoo new-plugin NAME` scaffolds a package that installs in a fresh venv and passes its own tests without touching
$ZOO_HOME; `zoo train` and `zoo bench --quality` work on its entry at once (slow: one test)."""

from __future__ import annotations

import json
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
    home = tmp_path / "users-zoo-home"  # the user's cache: the scaffold's tests must leave it alone
    tests = subprocess.run([python, "-m", "pytest", "-v", "-p", "no:cacheprovider"], cwd=root, capture_output=True,
                           text=True, env={**env, "ZOO_HOME": str(home)}, timeout=300)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    # one item per component and entry (and the plugin's loading), each named
    items = ["loading:espcn", "architecture:espcn_net", "loss:espcn_charbonnier", "weight_format:espcn-checkpoint",
             "weight_source:espcn-nearest", "dataset:espcn-own-images", "entry:espcn-x2"]
    assert all(f"test_conformance[espcn:{item}] PASSED" in tests.stdout for item in items), tests.stdout[-3000:]
    assert "10 passed" in tests.stdout
    assert not home.exists(), sorted(str(p) for p in home.rglob("*"))
    assert (root / ".gitignore").is_file() and (root / ".github" / "workflows" / "ci.yml").is_file()

    run_env = {**env, "ZOO_HOME": str(tmp_path / "zoo-home")}
    photos = _images(tmp_path / "photos", (48, 48))
    trained = subprocess.run([python, "-m", "zoo", "train", "espcn-x2", "--data", str(photos), "--out",
                              str(tmp_path / "run"), "steps=2", "batch_size=2", "patch_size=16", "progress=false",
                              "pixel_loss=espcn_charbonnier"], capture_output=True, text=True, env=run_env, timeout=300)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert (tmp_path / "run" / "model.safetensors").is_file()
    set5 = _set5_like(tmp_path / "Set5")
    bench = subprocess.run([python, "-m", "zoo", "bench", "espcn-x2", "--quality", "--data", f"set5={set5}", "--out",
                            str(tmp_path / "bench"), "--iters", "1", "--warmup", "0", "--batch-sizes", "1"],
                           capture_output=True, text=True, env=run_env, timeout=300)
    assert bench.returncode == 0, bench.stdout[-2000:] + bench.stderr[-2000:]
    quality = json.loads((tmp_path / "bench" / "report.json").read_text())["quality"]
    rows = [r for r in quality if r.get("model") == "espcn-x2" and r.get("metric") in ("psnr", "psnr-y")]
    assert rows and all(isinstance(r.get("value"), float) for r in rows), quality


def _images(folder: Path, size: tuple[int, int], n: int = 3) -> Path:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        Image.fromarray(small).resize(size, Image.BICUBIC).save(folder / f"{i}.png")
    return folder


def _set5_like(root: Path) -> Path:
    """Two HR/LR pairs at x2 in the SelfExSR layout of Set5 (image_SRF_2/img_00N_SRF_2_{HR,LR}.png)."""
    from PIL import Image

    hr_dir = _images(root / "hr", (32, 32), n=2)
    folder = root / "image_SRF_2"
    folder.mkdir()
    for i, path in enumerate(sorted(hr_dir.glob("*.png")), 1):
        with Image.open(path) as hr:
            hr.save(folder / f"img_00{i}_SRF_2_HR.png")
            hr.resize((16, 16), Image.BICUBIC).save(folder / f"img_00{i}_SRF_2_LR.png")
    return root
