"""Exact resume: N steps straight == N/2 steps, SIGKILL right after the checkpoint, then --resume (CPU)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tiny_data
from zoo.training import train

REPO = Path(__file__).resolve().parents[2]

#: a child that trains and kills itself with SIGKILL as soon as the checkpoint of step ``kill_at`` is on disk
KILLED_CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from zoo.training import train
    from zoo.training.trainer import Trainer
    target, data, out, kill_at, options = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
    save = Trainer.save
    def save_then_die(self):
        save(self)
        if self.step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    Trainer.save = save_then_die
    train(target, data, overrides=options, out=out)
""")

CASES = {
    "sr": ("super-resolution-luma", "sr", {"kwargs": {"num_feat": 8, "num_feat2": 4}, "patch_size": 24,
                                           "batch_size": 2, "repeat": 2, "val_data": None}),
    # CycleGAN: two optimisers, image pools (contents + their RNG), per-epoch data order
    "cyclegan": ("unpaired-translation", "unpaired", {"load_size": 36, "crop_size": 32, "pool_size": 2,
                                                      "generator_kwargs": {"ngf": 4, "n_blocks": 1},
                                                      "discriminator_kwargs": {"ndf": 4}}),
}


def _env() -> dict[str, str]:
    paths = [str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _losses(run: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader((run / "train_log.csv").open()))
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.shared
@pytest.mark.parametrize("case", list(CASES))
def test_kill9_and_resume_is_bit_exact(case: str, shared_dir: Path, tmp_path: Path) -> None:
    import json

    task, layout, extra = CASES[case]
    data = {"sr": tiny_data.sr_folder, "unpaired": tiny_data.unpaired_folder}[layout](shared_dir, tmp_path)
    steps = 6
    options = {"steps": steps, "checkpoint_every": steps // 2, "log_every": 1, "progress": False, "threads": 1,
               "seed": 3, "sample_every": 0, **extra}
    threads = torch.get_num_threads()
    try:
        train(task, data, overrides=options, out=tmp_path / "straight")
    finally:
        torch.set_num_threads(threads)

    child = subprocess.run([sys.executable, "-c", KILLED_CHILD, task, str(data), str(tmp_path / "killed"),
                            str(steps // 2), json.dumps(options)], env=_env(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert not (tmp_path / "killed" / "catalog.yaml").exists()  # it died before finishing

    resumed = subprocess.run([sys.executable, "-m", "zoo", "train", task, "--data", str(data),
                              "--out", str(tmp_path / "killed"), "--resume"], env=_env(), cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    straight = load_file(str(tmp_path / "straight" / "model.safetensors"))
    again = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert straight.keys() == again.keys()
    for key in straight:
        assert torch.equal(straight[key], again[key]), key
    full = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    other = torch.load(tmp_path / "killed" / "checkpoints" / "last.pt", weights_only=True)
    for name, state in full["models"].items():
        for key, value in state.items():
            assert torch.equal(value, other["models"][name][key]), f"{name}.{key}"
    assert _losses(tmp_path / "straight") == _losses(tmp_path / "killed")
    assert [int(r["step"]) for r in _losses(tmp_path / "killed")] == list(range(1, steps + 1))
