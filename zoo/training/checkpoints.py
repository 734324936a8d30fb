"""Checkpoints to choose from: the best validation step, snapshots every N steps, and one on Ctrl-C / SIGTERM.

* ``checkpoints/last.pt`` (every ``checkpoint_every`` steps, the last step, and on a stop signal) is what
  ``--resume`` continues from, bit-exactly;
* ``checkpoints/best.pt`` + ``best.safetensors``: the models at the step whose ``best_metric`` was best so far
  (``best_mode`` max or min); the run's catalog entry points at ``best.safetensors`` when there is one;
* ``checkpoints/step_NNNNNNN.pt`` + ``.safetensors`` every ``keep_every`` steps;
* SIGINT / SIGTERM: the step in progress finishes, ``last.pt`` is written at that step, then
  :class:`TrainingInterrupted` is raised (a second Ctrl-C stops at once).
"""

from __future__ import annotations

import math
import shutil
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from zoo.files import atomic_path
from zoo.inference.runs import BEST_WEIGHTS_FILE, CHECKPOINTS, snapshot_stem
from zoo.training import state as st
from zoo.training.config import TrainingError
from zoo.training.run import export_state
from zoo.training.validation import higher_is_better

BEST_FILE = "best.pt"
LAST_FILE = "last.pt"


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT / SIGTERM after writing a checkpoint at the current step."""

    def __init__(self, signum: int, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}")
        self.signum, self.step, self.checkpoint = signum, step, checkpoint

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopSignals:
    """While active, SIGINT and SIGTERM only set :attr:`requested` (the loop checks it after each step);
    a second SIGINT raises ``KeyboardInterrupt`` at once. Does nothing outside the main thread."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def agreed(self) -> int | None:
        """The signal, once any rank got one (all ranks stop at the same step under torchrun)."""
        if not st.is_distributed():
            return self.requested
        import torch.distributed as dist  # heavy

        flag = torch.tensor([float(self.requested or 0)])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None


def ignore_sigint(_worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C to the main process, which stops cleanly at the end of the step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def keep_snapshot(trainer: Any) -> Path:
    """Copy ``last.pt`` (just written) to ``step_N.pt`` and export the model's weights beside it."""
    folder = trainer.out / CHECKPOINTS
    stem = snapshot_stem(trainer.step)
    with atomic_path(folder / f"{stem}.pt") as tmp:
        shutil.copyfile(trainer.checkpoint_path, tmp)
    export_state(trainer.models[trainer.export_model], folder / f"{stem}.safetensors", trainer.weights_metadata())
    return folder / f"{stem}.pt"


class BestTracker:
    """The best value of one validation metric so far, and writing ``best.pt`` when it improves."""

    def __init__(self, metric: str | None, mode: str = "auto") -> None:
        self.metric = metric
        self.mode = ("max" if metric and higher_is_better(metric) else "min") if mode == "auto" else mode
        self.value: float | None = None
        self.step: int | None = None
        #: every validation metric at the best step (the run's catalog entry reports them)
        self.values: dict[str, float] = {}

    def improved(self, values: Mapping[str, float]) -> bool:
        if self.metric is None or self.metric not in values or not math.isfinite(values[self.metric]):
            return False
        value = float(values[self.metric])
        better = self.value is None or (value > self.value if self.mode == "max" else value < self.value)
        return better

    def update(self, trainer: Any, values: Mapping[str, float]) -> bool:
        """Write ``best.pt`` + ``best.safetensors`` when ``values`` beats the best so far (rank 0)."""
        if not self.improved(values):
            return False
        self.value, self.step = float(values[self.metric]), trainer.step  # type: ignore[index]
        self.values = {k: float(v) for k, v in values.items()}
        folder = trainer.out / CHECKPOINTS
        payload = {"step": trainer.step, "task": trainer.task_name, "config": trainer.config,
                   "export_model": trainer.export_model, "best": self.state(),
                   "models": {n: m.state_dict() for n, m in trainer.models.items()}}
        st.save_checkpoint(folder / BEST_FILE, payload)
        export_state(trainer.models[trainer.export_model], trainer.out / BEST_WEIGHTS_FILE, trainer.weights_metadata())
        return True

    def state(self) -> dict[str, Any]:
        return {"metric": self.metric, "mode": self.mode, "value": self.value, "step": self.step, "values": self.values}

    def load_state(self, state: Mapping[str, Any] | None) -> None:
        if state and state.get("metric") == self.metric and state.get("mode") == self.mode:
            self.value, self.step = state.get("value"), state.get("step")
            self.values = dict(state.get("values") or {})


def check_best_metric(metric: str, names: list[str], has_val_data: bool) -> None:
    """``best_metric`` must be one the task validates with, and needs ``val_data``."""
    if metric in ("auto", ""):
        return
    if not has_val_data:
        raise TrainingError(f"option 'best_metric': {metric!r} is a validation metric, but no val_data= is given")
    if metric not in names:
        raise TrainingError(f"option 'best_metric': {metric!r} is not a validation metric of this task "
                            f"(its metrics: {', '.join(names) or 'none'})")
