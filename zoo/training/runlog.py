"""What a run folder says about itself: ``config.yaml``, ``run.json`` and the plain-text ``train.log``.

``run.json`` records the command line, the resolved options, library versions (python, torch, CUDA, zoo),
the git commit of the zoo checkout, the device and the run's history (start, each resume with what changed,
interruptions, the end), the validation set-up and the best checkpoint. ``train.log`` is one line per
``log_every`` steps (step, epoch, losses, lr, images/s, ETA) plus events; the same lines go to stdout when
there is no progress bar (``progress=false``, or stderr is not a terminal). Only rank 0 writes.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from zoo.files import atomic_path, write_text_atomic
from zoo.training.config import plain
from zoo.version import VERSION

RUN_JSON = "run.json"
TRAIN_LOG = "train.log"
CONFIG_FILE = "config.yaml"
RUN_FORMAT = 1


def now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def git_commit(folder: Path) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout holding ``folder`` (the zoo's source), or None."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def versions() -> dict[str, Any]:
    import torch  # heavy

    cuda = torch.version.cuda if torch.cuda.is_available() else None
    return {"zoo": VERSION, "torch": torch.__version__, "cuda": cuda, "python": platform.python_version(),
            "platform": platform.platform()}


def device_name(device: Any) -> str:
    import torch  # heavy

    if getattr(device, "type", None) == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def read_run_json(run: Path) -> dict[str, Any]:
    path = run / RUN_JSON
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def write_config(out: Path, *, target: str, task: str, data: str, options: Mapping[str, Any], name_given: bool) -> Path:
    """``config.yaml``: what ``--config RUN/config.yaml`` (and ``--resume``) read back."""
    data = os.path.abspath(data) if os.path.exists(data) else data  # reruns from any working folder
    record = {"target": target, "task": task, "data": data, "options": plain(options)}
    if not name_given:
        record["name_from_folder"] = True  # a rerun from this file is named after its own folder
    return write_text_atomic(out / CONFIG_FILE, yaml.safe_dump(record, sort_keys=True))


class RunLog:
    """``train.log`` + console lines + ``run.json`` of one process of a run (a no-op on ranks other than 0)."""

    def __init__(self, out: Path, *, enabled: bool, echo: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.echo = echo
        self.record: dict[str, Any] = read_run_json(out) if enabled else {}
        self._file = open(out / TRAIN_LOG, "a", encoding="utf-8") if enabled else None  # noqa: SIM115
        self._last_time = time.perf_counter()
        self._last_step = 0

    # -- lines ------------------------------------------------------------------------------------
    def line(self, text: str, *, console: bool | None = None, stream: Any = None) -> None:
        """One line in train.log (timestamped) and, when echoing (or ``console=True``), on stdout."""
        if not self.enabled:
            return
        assert self._file is not None
        self._file.write(f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
        self._file.flush()
        if console if console is not None else self.echo:
            print(text, file=stream or sys.stdout, flush=True)

    def progress(self, step: int, total: int, epoch: int, losses: Mapping[str, float], lr: float,
                 images: int) -> None:
        """The ``log_every`` line: step, epoch, losses, lr, images/s and the time left."""
        t = time.perf_counter()
        steps, seconds = max(1, step - self._last_step), max(1e-9, t - self._last_time)
        self._last_time, self._last_step = t, step
        eta = _dt.timedelta(seconds=round((total - step) * seconds / steps))
        parts = " ".join(f"{k} {v:.4g}" for k, v in losses.items())
        self.line(f"step {step}/{total} epoch {epoch} | {parts} | lr {lr:.3g} | {images * steps / seconds:.1f} img/s"
                  f" | ETA {eta}")

    def mark(self, step: int) -> None:
        """Where the images/s clock starts (the first step of this process)."""
        self._last_time, self._last_step = time.perf_counter(), step

    # -- run.json ---------------------------------------------------------------------------------
    def start(self, trainer: Any, *, resumed_from: int | None, changes: Mapping[str, Any] | None) -> None:
        """Record this process's start (or resume) in run.json."""
        if not self.enabled:
            return
        event: dict[str, Any] = {"event": "resume" if resumed_from is not None else "start",
                                 "step": trainer.step, "time": now(), "command": list(sys.argv)}
        if changes:
            event["changes"] = {k: {"from": a, "to": b} for k, (a, b) in changes.items()}
        history = list(self.record.get("history", []))
        self.record.update({
            "zoo_run": RUN_FORMAT, "target": trainer.target, "task": trainer.task_name, "data": str(trainer.data),
            "command": list(sys.argv), "options": plain(trainer.config), "versions": versions(),
            "git": git_commit(Path(__file__).resolve().parents[1]), "device": device_name(trainer.device),
            "world_size": trainer.world, "history": history + [event], "status": "running",
        })
        self.save()

    def event(self, name: str, step: int, **details: Any) -> None:
        if not self.enabled:
            return
        self.record.setdefault("history", []).append({"event": name, "step": step, "time": now(), **details})
        self.record["status"] = {"finish": "finished", "interrupt": "interrupted", "stop": "stopped",
                                 "fail": "failed"}.get(name, name)
        self.save()

    def failed(self, step: int, exc: BaseException) -> None:
        """train.log and run.json say the run failed at ``step`` and why (status ``failed``)."""
        why = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        self.line(f"zoo train: failed at step {step}: {why}", console=False)
        self.event("fail", step, error=why)

    def set(self, key: str, value: Any) -> None:
        if self.enabled:
            self.record[key] = plain(value)
            self.save()

    def save(self) -> None:
        if self.enabled:
            with atomic_path(self.out / RUN_JSON) as tmp:
                tmp.write_text(json.dumps(self.record, indent=2, default=str) + "\n", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def start_run(trainer: Any, changes: Mapping[str, Any] | None = None) -> RunLog:
    """Create the run folder (rank 0): config.yaml, run.json, train.log; say what this run is."""
    resumed = trainer.resumed_from is not None
    if trainer.is_main:
        (trainer.out / "checkpoints").mkdir(parents=True, exist_ok=True)
        write_config(trainer.out, target=trainer.target, task=trainer.task_name, data=str(trainer.data),
                     options=trainer.config, name_given=getattr(trainer, "name_given", True))
    bar = trainer.config["progress"] and sys.stderr.isatty()  # tqdm writes to stderr
    echo = not bar or not sys.stdout.isatty()  # a log file gets the lines even when a terminal shows the bar
    log = RunLog(trainer.out, enabled=trainer.is_main, echo=echo)
    log.start(trainer, resumed_from=trainer.step if resumed else None, changes=changes)
    if resumed:
        log.line(f"zoo train: resumed from step {trainer.step} ({trainer.checkpoint_path})", console=True)
        if trainer.step >= trainer.total:
            c = trainer.config
            how = (f"steps={c['steps']}" if c["steps"] > 0 else
                   f"epochs={c['epochs']} + epochs_decay={c['epochs_decay']}")
            log.line(f"zoo train: warning: the checkpoint is already at step {trainer.step}, at or past this run's "
                     f"{trainer.total} steps ({how}); nothing to train. Pass steps=N with N above {trainer.step} to "
                     "train further", console=True, stream=sys.stderr)
    else:
        log.line(f"zoo train: {trainer.target} ({trainer.task_name}) on {trainer.data}, {trainer.total} steps, "
                 f"run folder {trainer.out}", console=echo)
    for line in trainer.describe_run():
        log.line(line, console=True)
    if trainer.val_items is not None:
        m = trainer.metrics
        log.line(f"validation on {trainer.config['val_data']}: {', '.join(m.available) or 'no metric can run'}"
                 + (f"; best.pt follows {trainer.best.metric} ({trainer.best.mode})" if trainer.best.metric else ""),
                 console=True)
        for name, why in m.unavailable.items():
            log.line(f"validation metric {name} unavailable: {why}", console=True)
        log.set("validation", {"data": trainer.config["val_data"], "metrics": m.available,
                               "unavailable": m.unavailable, "best_metric": trainer.best.metric,
                               "best_mode": trainer.best.mode})
    return log
