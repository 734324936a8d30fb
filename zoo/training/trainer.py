"""The training loop every task shares; a task's trainer subclasses :class:`Trainer` and fills in the hooks.

Hooks: ``build_dataset``, ``build_models`` (name -> module), ``build_optimizers`` (name -> optimiser),
``train_step(batch) -> {name: loss}`` (backward and optimiser steps inside, through :meth:`backward` and
:meth:`step_optimizer` so AMP and DDP work), and optionally ``build_val_data`` + ``validate`` (metrics named in
``val_metric_names``), ``sample_rows`` + ``sample_captions``, ``describe_run``, ``extra_state``/``load_extra_state``,
``export_entry``. The loop brings: the data order (:class:`~zoo.training.data.ResumableSampler`), per-step LR
schedules, AMP, channels_last, DDP under torchrun, ``train.log``/``run.json``/CSV/TensorBoard logs, captioned
sample grids and the run page, validation with the metrics whose weights are here, atomic checkpoints (last, best,
kept, on SIGINT/SIGTERM), exact resume, and the non-finite loss stop.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset, default_collate

from zoo.training import state as st
from zoo.training.checkpoints import (LAST_FILE, BestTracker, StopSignals, TrainingInterrupted, ignore_sigint,
                                      keep_snapshot)
from zoo.training.config import Option, TrainingError
from zoo.training.conventions import EntryConventions
from zoo.training.data import ResumableSampler, stack_images
from zoo.training.logs import CSVLog, TensorBoardLog, save_grid
from zoo.training.options import BASE_OPTIONS, RESUME_SAFE, check_common_options, lr_factor
from zoo.training.page import build_page
from zoo.training.run import export_weights, write_catalog
from zoo.training.runlog import RunLog, start_run
from zoo.training.validation import ValidationMetrics, output_diversity, resolve_val_data

#: devices whose torch.distributed backend runs SyncBatchNorm (gloo on CPU does not)
SYNC_BN_DEVICES = ("cuda", "xpu")


class Trainer(EntryConventions):
    """Base class of task trainers; see the module docstring for the hooks, and
    :class:`~zoo.training.conventions.EntryConventions` for value ranges, losses and ``--data`` names."""

    task: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = BASE_OPTIONS
    #: the model exported to the run's catalog entry
    export_model: ClassVar[str] = "generator"
    #: GAN trainers log the diversity of their outputs (mode-collapse indicator)
    adversarial: ClassVar[bool] = False
    #: the metrics :meth:`validate` reports (weight-based ones only where their weights are here)
    val_metric_names: ClassVar[tuple[str, ...]] = ()
    #: ``best_metric=auto`` picks the first of these that can run here
    best_metrics: ClassVar[tuple[str, ...]] = ()
    #: options that may change on ``--resume`` without breaking exact resumption (others need --allow-changes)
    RESUME_SAFE: ClassVar[frozenset[str]] = RESUME_SAFE

    def __init__(self, config: Mapping[str, Any], *, data: str | Path, out: str | Path, entry: Any = None,
                 task: str | None = None, pretrained: bool = False, checkpoint: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config)
        self.data = Path(data)
        self.out = Path(out)
        self.entry = entry
        self.task_name = task or (entry.task if entry is not None else self.task)
        #: what was asked for (the entry or task name), recorded in run.json
        self.target = entry.name if entry is not None else self.task_name
        self.pretrained = pretrained
        #: a file / URL replacing the entry's own weights as the fine-tuning start (``--weights``)
        self.pretrained_weights: str | Path | None = None
        self.rank, self.world, self.local_rank = st.dist_env()
        st.die_with_launcher()
        self.device = self._device()
        self.step = 0
        self.models: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        self._checkpoint = checkpoint
        self._is_setup = False
        #: the step of the last checkpoint written or resumed from (None: none yet)
        self.saved_step: int | None = int(checkpoint["step"]) if checkpoint is not None else None
        self.check_options()
        self.check_entry()
        self.data = self.resolve_data(data)

    # -- hooks ------------------------------------------------------------------------------------
    def build_dataset(self) -> Dataset:
        raise NotImplementedError

    def build_models(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def build_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        raise NotImplementedError

    def build_val_data(self, folder: Path) -> Any:
        """Read (and check) the validation data in ``folder`` once, before any network is built."""
        return None

    def val_data_folder(self, value: str) -> Path:
        """``val_data`` -> a folder (an SR trainer picks a registered dataset's scale folder)."""
        return resolve_val_data(value)

    def validate(self) -> dict[str, float]:
        """Metrics of the current models on ``self.val_items`` (only those in ``self.metrics.available``)."""
        return {}

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        """Rows of the sample grid (inputs, outputs, targets) as (N, C, H, W) tensors in [0, 1]."""
        return []

    def sample_captions(self) -> list[str]:
        """A caption per row of :meth:`sample_rows`, written beside the rows of each grid."""
        return ["input", "output", "target"]

    def generate(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(inputs, outputs) of the generator on a batch, for the diversity indicator of GAN tasks."""
        return None

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        pass

    def export_entry(self) -> dict[str, Any]:
        """``{"architecture": name, "kwargs": {...}, "processing": {...}}`` of the exported model."""
        raise NotImplementedError

    def after_step(self) -> None:
        """Called after every optimisation step (EMA updates)."""
    def check_options(self) -> None:
        """Refuse option values that would only fail mid-run (called before anything is built or written);
        subclasses extend it (``super().check_options()`` first)."""
        check_common_options(self.config, self.val_metric_names)

    # -- helpers for trainers -----------------------------------------------------------------------
    def net(self, name: str) -> nn.Module:
        """The module to call in a step (DDP-wrapped under torchrun)."""
        return self._wrapped.get(name, self.models[name])

    def adam(self, *models: nn.Module, lr: float | None = None, betas: Any = None) -> torch.optim.Optimizer:
        """The optimiser of ``models``: Adam (``betas``), or SGD with ``momentum`` when ``optimizer=sgd``."""
        params = [p for m in models for p in m.parameters() if p.requires_grad]
        lr = self.config["lr"] if lr is None else lr
        if self.config.get("optimizer", "adam") == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=self.config["momentum"],
                                   weight_decay=self.config["weight_decay"])
        b = tuple(betas if betas is not None else self.config["betas"])
        return torch.optim.Adam(params, lr=lr, betas=b, weight_decay=self.config["weight_decay"])

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward() if self.scaler.is_enabled() else loss.backward()

    def step_optimizer(self, name: str) -> None:
        optimizer = self.optimizers[name]
        if self.config["grad_clip"] > 0:
            if self.scaler.is_enabled():
                self.scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.config["grad_clip"])
        self.scaler.step(optimizer) if self.scaler.is_enabled() else optimizer.step()

    def set_requires_grad(self, name: str, flag: bool) -> None:
        """Freeze a model during another's step (junyanz); under DDP gradients flow and are zeroed instead."""
        if not st.is_distributed():
            for p in self.models[name].parameters():
                p.requires_grad_(flag)

    def to_device(self, batch: Any) -> Any:
        if isinstance(batch, torch.Tensor):
            batch = batch.to(self.device, non_blocking=True)
            if self.config["channels_last"] and batch.dim() == 4:
                batch = batch.contiguous(memory_format=torch.channels_last)
            return batch
        if isinstance(batch, Mapping):
            return {k: self.to_device(v) for k, v in batch.items()}
        return batch

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- setup --------------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        name = self.config["device"]
        if name == "auto":
            name = f"cuda:{self.local_rank}" if torch.cuda.is_available() else "cpu"
        try:
            device = torch.device(name)
        except RuntimeError:
            raise TrainingError(f"option 'device': {name!r} is not a device (cpu, cuda, cuda:N, auto)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise TrainingError("option 'device': CUDA is not available here; use device=cpu")
        return device

    def total_steps(self, per_epoch: int) -> int:
        if self.config["steps"] > 0:
            return self.config["steps"]
        return per_epoch * (self.config["epochs"] + self.config["epochs_decay"])

    def lr_factor(self, step: int) -> float:
        return lr_factor(self.config, step, self.total, self.per_epoch)

    def setup(self) -> None:
        if self.config["threads"] > 0:
            torch.set_num_threads(self.config["threads"])
        st.init_distributed(self.device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        amp = self.config["amp"]
        self.amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp == "fp16")
        st.seed_everything(self.config["seed"])  # the same initial weights on every rank
        self.dataset = self.build_dataset()
        self.val_items = None
        if self.config.get("val_data"):
            self.val_items = self.build_val_data(self.val_data_folder(self.config["val_data"]))
        self.models = self.build_models()
        for model in self.models.values():
            model.to(self.device)
            if self.config["channels_last"]:
                model.to(memory_format=torch.channels_last)
        self._wrapped: dict[str, nn.Module] = {}
        self._warned_bn = False
        if st.is_distributed():
            for name, model in self.models.items():
                if any(p.requires_grad for p in model.parameters()):
                    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
                    if has_bn and self.device.type in SYNC_BN_DEVICES:
                        model = self.models[name] = nn.SyncBatchNorm.convert_sync_batchnorm(model)
                    elif has_bn and self.is_main and not self._warned_bn:
                        self._warned_bn = True
                        print(f"zoo train: batch norm statistics stay per process on {self.device.type} "
                              f"(SyncBatchNorm runs on {', '.join(SYNC_BN_DEVICES)} only)", file=sys.stderr)
                    ids = [self.device.index] if self.device.type == "cuda" else None
                    self._wrapped[name] = DDP(model, device_ids=ids)
        self.optimizers = self.build_optimizers()
        self.sampler = ResumableSampler(self.dataset, num_replicas=self.world, rank=self.rank, seed=self.config["seed"])
        self.per_epoch = len(self.sampler) // self.config["batch_size"]
        if self.per_epoch < 1:
            raise TrainingError(f"option 'batch_size': {self.config['batch_size']} is larger than the "
                                f"{len(self.sampler)} training items per process under {self.data}")
        self.total = self.total_steps(self.per_epoch)
        self.schedulers = {n: torch.optim.lr_scheduler.LambdaLR(o, self.lr_factor) for n, o in self.optimizers.items()}
        self.setup_metrics()
        st.seed_everything(self.config["seed"] * 1000 + self.rank + 1)  # per-rank stream for dropout, pools, ...
        self._is_setup = True

    def setup_metrics(self) -> None:
        """The validation metric networks (rank 0) and the metric ``best.pt`` follows; an explicit
        ``best_metric`` whose weights are absent is an error here, before the run folder is written."""
        names = list(self.val_metric_names) if self.val_items is not None else []
        self.metrics = ValidationMetrics(names if self.is_main else [], device=self.device,
                                         weights=self.config.get("metric_weights"))
        wanted = self.config.get("best_metric", "")
        if wanted == "auto":
            wanted = next((m for m in self.best_metrics if m in self.metrics.available), "")
        elif wanted and wanted in self.metrics.unavailable:
            raise TrainingError(f"option 'best_metric': {wanted!r} cannot be computed here: "
                                f"{self.metrics.unavailable[wanted]}")
        self.best = BestTracker(wanted or None, self.config.get("best_mode", "auto"))

    # -- checkpoints --------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoints" / LAST_FILE

    def weights_metadata(self) -> dict[str, str]:
        return {"zoo_step": str(self.step), "zoo_task": self.task_name}

    def save(self) -> None:
        rngs = st.all_gather_objects(st.rng_state())
        extras = self.extra_state()
        if self.is_main:
            payload = {
                "step": self.step, "task": self.task_name, "config": self.config, "data": str(self.data.resolve()),
                "export_model": self.export_model, "best": self.best.state(),
                "models": {n: m.state_dict() for n, m in self.models.items()},
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "scaler": self.scaler.state_dict(), "rng": rngs, "extra": extras,
            }
            st.save_checkpoint(self.checkpoint_path, payload)
            export_weights(self)
            if self.config.get("keep_every") and self.step % self.config["keep_every"] == 0:
                keep_snapshot(self)
        st.barrier()
        self.saved_step = self.step

    def restore(self, ckpt: Mapping[str, Any]) -> None:
        parts = (("models", self.models), ("optimizers", self.optimizers), ("schedulers", self.schedulers))
        for kind, objects in parts:
            missing = sorted(set(objects) - set(ckpt.get(kind, {})))
            if missing:
                raise TrainingError(f"the checkpoint has no {kind} {', '.join(missing)}: it was written with other "
                                    "options (stage, ema, gan_weight?)")
            for name, obj in objects.items():
                try:
                    obj.load_state_dict(ckpt[kind][name])
                except (RuntimeError, ValueError, KeyError) as exc:
                    first = str(exc).strip().splitlines()[0]
                    raise TrainingError(f"the checkpoint's {kind[:-1]} {name!r} does not fit the one built from this "
                                        f"run's options ({first})") from None
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        rngs = ckpt["rng"]
        if len(rngs) != self.world:
            raise TrainingError(f"the checkpoint was written by {len(rngs)} processes, this run has {self.world}; "
                                "resume with the same --nproc_per_node")
        st.set_rng_state(rngs[self.rank])
        self.load_extra_state(ckpt.get("extra") or {})
        self.best.load_state(ckpt.get("best"))
        self.step = int(ckpt["step"])

    # -- the loop ---------------------------------------------------------------------------------------
    def batches(self) -> Iterator[Any]:
        """Batches from the current step on, epoch after epoch, in the seed's order."""
        bs = self.config["batch_size"]
        while True:
            epoch, offset = divmod(self.step, self.per_epoch)
            self.sampler.set_epoch(epoch)
            self.sampler.start = offset * bs
            workers = self.config["num_workers"]
            loader = DataLoader(self.dataset, batch_size=bs, sampler=self.sampler, drop_last=True,
                                num_workers=workers, pin_memory=self.device.type == "cuda",
                                persistent_workers=False, worker_init_fn=ignore_sigint if workers else None)
            for i, batch in enumerate(loader):
                if offset + i >= self.per_epoch:
                    break
                yield batch

    def sample_batch(self) -> Mapping[str, Any]:
        """A fixed batch of the first items (their own deterministic augmentation), for grids and diversity."""

        n = max(1, min(self.config["num_samples"], len(self.dataset)))
        return self.to_device(default_collate([self.dataset[i] for i in range(n)]))

    def describe_run(self) -> list[str]:
        """Lines about what this run trains (e.g. the direction of a translation), printed at its start."""
        return []

    def fit(self) -> dict[str, Any]:
        if not self._is_setup:
            self.setup()
        self.resumed_from: int | None = None
        if self._checkpoint is not None:
            self.restore(self._checkpoint)
            self.resumed_from = self.step
        log = start_run(self, getattr(self, "resume_changes", None))
        try:
            return self._fit(log)
        except TrainingInterrupted:
            raise
        except BaseException as exc:  # the run folder says it failed, and why, instead of "running" forever
            log.failed(self.step, exc)
            raise
        finally:
            log.close()

    def _fit(self, log: RunLog) -> dict[str, Any]:
        keep = self.step if self._checkpoint is not None else -1
        train_log = CSVLog(self.out / "train_log.csv", keep) if self.is_main else None
        val_log = CSVLog(self.out / "val_log.csv", keep) if self.is_main else None
        board = TensorBoardLog(self.out / "tensorboard") if self.is_main else None
        if board is not None and board.writer is None:
            log.line("TensorBoard logging is off: the tensorboard package is not installed (pip install tensorboard "
                     f"to get event files in {self.out / 'tensorboard'})", console=True)
        fixed = self.sample_batch()
        bar = None
        if self.is_main and self.config["progress"] and sys.stderr.isatty():
            from tqdm.auto import tqdm  # heavy

            bar = tqdm(total=self.total, initial=self.step, desc=f"zoo train {self.task_name}", mininterval=2.0,
                       dynamic_ncols=True)
        sums: dict[str, float] = {}
        start = time.perf_counter()
        log.mark(self.step)
        val: dict[str, float] = {}
        try:
            with StopSignals() as stop:
                batches = self.batches()
                while self.step < self.total:
                    val = self._one_step(next(batches), sums, fixed, log, train_log, val_log, board, bar, start) or val
                    signum = stop.agreed()
                    if signum is not None:
                        self.save()
                        if self.is_main:
                            write_catalog(self, val)
                        log.event("interrupt", self.step, signal=signum)
                        if self.is_main:
                            build_page(self.out)
                        log.line(f"zoo train: stopped by {signal.Signals(signum).name} at step {self.step}; "
                                 f"checkpoint written ({self.checkpoint_path})", console=False)  # zoo train says it
                        raise TrainingInterrupted(signum, self.step, self.checkpoint_path)
            log.event("finish", self.step, best=self.best.state() if self.best.metric else None)
            if self.is_main:
                build_page(self.out)
        finally:
            if bar is not None:
                bar.close()
            if board is not None:
                board.close()
        return {"step": self.step, "val": val}

    def _one_step(self, batch: Any, sums: dict[str, float], fixed: Mapping[str, Any], log: RunLog,
                  train_log: CSVLog | None, val_log: CSVLog | None, board: TensorBoardLog | None, bar: Any,
                  start: float) -> dict[str, float] | None:
        """One optimisation step and whatever falls on it: log row, validation, samples, checkpoints."""
        for model in self.models.values():
            model.train()
        losses = self.train_step(self.to_device(batch))
        values = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in losses.items()}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            key, value = next(iter(bad.items()))
            last = self.checkpoint_path if self.checkpoint_path.is_file() else None
            raise TrainingError(
                f"step {self.step + 1}: loss {key!r} is {value} (not finite); training stopped. "
                + (f"The last good checkpoint is {last} (resume with --resume after changing lr, amp or "
                   "grad_clip)." if last else "No checkpoint was written yet.")
                + " Try a lower lr, amp=none or grad_clip=1.0")
        if self.scaler.is_enabled():
            self.scaler.update()
        for sched in self.schedulers.values():
            sched.step()
        self.step += 1
        self.after_step()
        if self.config["time_limit"] > 0 and st.time_up(start, 60.0 * self.config["time_limit"]):
            self.total = self.step  # time-boxed: this step is the last one
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v
        sums["__count__"] = sums.get("__count__", 0.0) + 1
        last_step = self.step == self.total
        if self.step % self.config["log_every"] == 0 or last_step:
            count = sums.pop("__count__")
            means = {k: v / count for k, v in sums.items()}
            lr = next(iter(self.optimizers.values())).param_groups[0]["lr"]
            row = {"step": self.step, "epoch": (self.step - 1) // self.per_epoch, **means, "lr": lr,
                   "seconds": round(time.perf_counter() - start, 3)}
            if self.adversarial:
                row.update(self.diversity(fixed))
            if self.is_main:
                train_log.write(row)  # type: ignore[union-attr]
                board.scalars(self.step, row, "train")  # type: ignore[union-attr]
                log.progress(self.step, self.total, row["epoch"], means, lr, self.config["batch_size"] * self.world)
                if bar is not None:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
            sums.clear()
        if bar is not None:
            bar.update(1)
        keep = self.config.get("keep_every") or 0
        ckpt_now = self.step % self.config["checkpoint_every"] == 0 or last_step or (keep and self.step % keep == 0)
        val_every = self.config["val_every"]
        val = None
        if self.val_items is not None and ((self.step % val_every == 0 if val_every > 0 else ckpt_now) or last_step):
            val = self._validate()
            if self.is_main and val:
                val_log.write({"step": self.step, **val})  # type: ignore[union-attr]
                board.scalars(self.step, val, "val")  # type: ignore[union-attr]
                best = self.best.update(self, val)
                log.line(f"validation step {self.step}: " + " ".join(f"{k} {v:.4g}" for k, v in val.items())
                         + (f" (best {self.best.metric} so far: checkpoints/best.pt)" if best else ""))
        if self.is_main and ((self.config["sample_every"] and self.step % self.config["sample_every"] == 0)
                             or last_step):
            self._save_samples(fixed, board)  # type: ignore[arg-type]
        if ckpt_now:
            self.save()
        return val

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        for model in self.models.values():
            model.eval()
        with self.autocast():
            return self.validate() if self.is_main else {}

    @torch.no_grad()
    def diversity(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """Mean pairwise L1 distance between the generator's outputs for different inputs, and its ratio to
        the inputs' own: a ratio falling towards 0 means the outputs collapse onto one image."""
        for model in self.models.values():
            model.eval()
        pair = self.generate(batch)
        if pair is None or pair[1].shape[0] < 2:
            return {}
        return output_diversity(*pair)

    @torch.no_grad()
    def _save_samples(self, batch: Mapping[str, Any], board: TensorBoardLog) -> None:
        for model in self.models.values():
            model.eval()
        with self.autocast():
            rows = self.sample_rows(batch)
        if rows:
            grid = stack_images(rows)
            save_grid(grid, self.out / "samples" / f"step_{self.step:07d}.png", self.sample_captions()[:len(rows)],
                      step=self.step)
            board.image(self.step, grid)
        build_page(self.out)
