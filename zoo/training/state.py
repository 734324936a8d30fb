"""Checkpoint state: RNG states of every library, atomic save/load, and the torch.distributed helpers.

A checkpoint is one torch file (``weights_only``-loadable: tensors and plain containers only) holding the
step, every model, optimiser, scheduler and grad scaler, the trainer's extra state (e.g. image pools), and
the RNG states of python, numpy, torch and CUDA of *every* rank, so a resumed run draws the same numbers.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.distributed as dist

from zoo.files import atomic_path
from zoo.training.config import TrainingError

CHECKPOINT_VERSION = 1


# -- distributed ------------------------------------------------------------------------------------
def dist_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment (0, 1, 0 without it)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def die_with_launcher() -> None:
    """Under torchrun, end this worker (SIGTERM: it checkpoints and stops) when the launcher process dies, even by
    ``kill -9`` that leaves the launcher no chance to stop its workers (Linux ``PR_SET_PDEATHSIG``)."""
    if "TORCHELASTIC_RUN_ID" not in os.environ or not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the launcher died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def init_distributed(device: torch.device) -> None:
    """Join the torchrun process group (gloo on CPU, nccl on CUDA) when WORLD_SIZE > 1."""
    _, world, _ = dist_env()
    if world > 1 and not is_distributed():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def all_gather_objects(obj: Any) -> list[Any]:
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def time_up(start: float, seconds: float) -> bool:
    """Whether ``seconds`` have passed since ``start`` (rank 0 decides for all ranks, so they stop together)."""
    up = torch.tensor([float(time.perf_counter() - start > seconds)])
    if is_distributed():
        dist.broadcast(up, 0)
    return bool(up.item())


def barrier() -> None:
    if is_distributed():
        dist.barrier()


# -- RNG states -------------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """This process's RNG states as tensors / plain containers."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]), int(np_state[3]),
                  float(np_state[4])),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# -- checkpoint files -------------------------------------------------------------------------------
def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` atomically: a kill during the write leaves the previous checkpoint intact."""
    with atomic_path(path) as tmp:
        torch.save({"zoo_checkpoint": CHECKPOINT_VERSION, **payload}, tmp)
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TrainingError(f"no checkpoint to resume from: {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file
        raise TrainingError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict) or data.get("zoo_checkpoint") != CHECKPOINT_VERSION:
        raise TrainingError(f"{path} is not a zoo training checkpoint (version {CHECKPOINT_VERSION})")
    return data
