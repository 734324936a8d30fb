"""torchrun --nproc_per_node=2 on CPU (gloo): DistributedDataParallel training, rank-0 checkpoint and catalog,
resume under torchrun, and the result loads in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tiny_data
import zoo
from zoo.training import register_run

REPO = Path(__file__).resolve().parents[2]


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    paths = [str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "zoo", "train", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.shared
def test_torchrun_two_processes_gloo(shared_dir: Path, tmp_path: Path, zoo_manager) -> None:
    data = tiny_data.sr_folder(shared_dir, tmp_path)
    out = tmp_path / "ddp"
    common = ["--data", str(data), "--out", str(out)]
    options = ["kwargs={num_feat: 8, num_feat2: 4}", "patch_size=24", "batch_size=2", "steps=2",
               "checkpoint_every=2", "log_every=1", "progress=false", "device=cpu", "threads=1", "name=ddp-espcn",
               "val_data=" + str(shared_dir / "data" / "sr_bench" / "Set5" / "image_SRF_3")]
    first = _torchrun(["super-resolution-luma", *common, *options], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["step"] == 2 and len(ckpt["rng"]) == 2  # both ranks' RNG states, written once by rank 0
    assert first.stdout.count("trained 'ddp-espcn'") == 1  # only rank 0 reports

    more = _torchrun(["super-resolution-luma", *common, "--resume", "steps=4"], tmp_path)
    assert more.returncode == 0, more.stderr[-3000:]
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["step"] == 4
    rows = (out / "train_log.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]

    register_run(out)
    pipe = zoo.load("ddp-espcn", device="cpu")
    assert pipe(np.zeros((10, 12, 3), np.uint8)).shape == (30, 36, 3)


SLOW_WORKER = """
import sys, time
from zoo.cli import main
from zoo.training.trainer import Trainer
after = Trainer.after_step
def slow(self):
    after(self)
    time.sleep(0.2)
Trainer.after_step = slow
sys.exit(main(["train", *sys.argv[1:]]))
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.shared
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc (Linux)")
def test_workers_die_with_a_killed_launcher(shared_dir: Path, tmp_path: Path) -> None:
    """kill -9 of torchrun leaves its workers no parent to stop them: they must stop on their own."""
    import signal
    import time

    data = tiny_data.sr_folder(shared_dir, tmp_path)
    script = tmp_path / "slow_worker.py"
    script.write_text(SLOW_WORKER)
    paths = [str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "ddp"
    workers: list[int] = []
    launcher = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
         "super-resolution-luma", "--data", str(data), "--out", str(out), "kwargs={num_feat: 8, num_feat2: 4}",
         "patch_size=24", "batch_size=2", "steps=1000", "checkpoint_every=1000", "log_every=1", "progress=false",
         "device=cpu", "threads=1"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not ((out / "train.log").is_file()
                                              and "step 2/" in (out / "train.log").read_text()):
            time.sleep(0.1)
        workers = _children(launcher.pid)
        assert len(workers) == 2, workers
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(timeout=30)
        deadline = time.time() + 60
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), "torchrun workers outlived their killed launcher"
    finally:  # leave nothing running when the test fails
        for pid in [launcher.pid, *_children(launcher.pid), *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
