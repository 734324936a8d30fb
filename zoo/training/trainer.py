"""The training loop every task shares; a task's trainer subclasses :class:`Trainer` and fills in the hooks.

Hooks: ``build_dataset``, ``build_models`` (name -> module), ``build_optimizers`` (name -> optimiser),
``train_step(batch) -> {name: loss}`` (backward and optimiser steps inside, through :meth:`backward` and
:meth:`step_optimizer` so AMP and DDP work), and optionally ``validate``, ``sample_rows``,
``extra_state``/``load_extra_state``, ``export_entry``. The loop brings: the data order
(:class:`~zoo.training.data.ResumableSampler`), per-step LR schedules, AMP, channels_last, DDP under
torchrun, logs, sample grids, validation, atomic checkpoints, exact resume, and the non-finite loss stop.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset, default_collate

from zoo.training import state as st
from zoo.training.config import Option, TrainingError
from zoo.training.conventions import EntryConventions
from zoo.training.data import ResumableSampler, stack_images
from zoo.training.logs import CSVLog, TensorBoardLog, save_png
from zoo.training.run import export_weights

LR_POLICIES = ("constant", "linear", "cosine", "step")
#: devices whose torch.distributed backend runs SyncBatchNorm (gloo on CPU does not)
SYNC_BN_DEVICES = ("cuda", "xpu")

BASE_OPTIONS: dict[str, Option] = {
    "seed": Option(0, "seed of weights init, data order and augmentation"),
    "steps": Option(0, "optimisation steps in all (0: from epochs)"),
    "epochs": Option(1, "epochs at the initial learning rate (used when steps is 0)"),
    "epochs_decay": Option(0, "further epochs with the learning rate decaying linearly to 0 (junyanz)"),
    "batch_size": Option(1, "images per step and process"),
    "num_workers": Option(0, "data loader worker processes"),
    "lr": Option(1e-4, "learning rate"),
    "betas": Option([0.9, 0.999], "Adam betas"),
    "weight_decay": Option(0.0, "Adam weight decay"),
    "lr_policy": Option("constant", "learning-rate schedule over steps", LR_POLICIES),
    "decay_start": Option(0.5, "linear: fraction of the steps after which the LR decays linearly to 0"),
    "lr_milestones": Option([], "step: steps (or fractions of all steps, if < 1) where the LR is multiplied by lr_gamma"),
    "lr_gamma": Option(0.5, "step: LR factor at each milestone"),
    "grad_clip": Option(0.0, "clip the gradient norm of each optimiser's parameters (0: off)"),
    "device": Option("auto", "cpu, cuda, cuda:N or auto"),
    "amp": Option("none", "mixed precision", ("none", "bf16", "fp16")),
    "channels_last": Option(False, "channels_last memory format for models and inputs"),
    "threads": Option(0, "torch CPU threads (0: torch's default)"),
    "log_every": Option(10, "steps between log rows (CSV, TensorBoard, progress bar)"),
    "checkpoint_every": Option(500, "steps between checkpoints (the last step always gets one)"),
    "sample_every": Option(500, "steps between sample grids (0: only at the end)"),
    "val_every": Option(0, "steps between validations (0: at each checkpoint)"),
    "num_samples": Option(4, "images in the sample grid and in the diversity (mode-collapse) indicator"),
    "progress": Option(True, "tqdm progress bar"),
    "time_limit": Option(0.0, "stop (checkpoint, samples, catalog) after this many minutes of training (0: off)"),
    "name": Option(None, "catalog name of the trained model (default: the run folder's name)", kind=str),
}


class Trainer(EntryConventions):
    """Base class of task trainers; see the module docstring for the hooks, and
    :class:`~zoo.training.conventions.EntryConventions` for value ranges, losses and ``--data`` names."""

    task: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = BASE_OPTIONS
    #: the model exported to the run's catalog entry
    export_model: ClassVar[str] = "generator"
    #: GAN trainers log the diversity of their outputs (mode-collapse indicator)
    adversarial: ClassVar[bool] = False

    def __init__(self, config: Mapping[str, Any], *, data: str | Path, out: str | Path, entry: Any = None,
                 task: str | None = None, pretrained: bool = False, checkpoint: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config)
        self.data = Path(data)
        self.out = Path(out)
        self.entry = entry
        self.task_name = task or (entry.task if entry is not None else self.task)
        self.pretrained = pretrained
        #: a file / URL replacing the entry's own weights as the fine-tuning start (``--weights``)
        self.pretrained_weights: str | Path | None = None
        self.rank, self.world, self.local_rank = st.dist_env()
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

    def validate(self) -> dict[str, float]:
        return {}

    def sample_rows(self, batch: Mapping[str, Any]) -> list[torch.Tensor]:
        """Rows of the sample grid (inputs, outputs, targets) as (N, C, H, W) tensors in [0, 1]."""
        return []

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
    #: options that must be > 0, and >= 0, when the trainer declares them
    POSITIVE: ClassVar[tuple[str, ...]] = ("lr", "batch_size", "log_every", "checkpoint_every", "crop_size",
                                           "load_size", "patch_size", "scale_factor", "repeat")
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("steps", "epochs", "epochs_decay", "num_workers", "threads",
                                               "weight_decay", "grad_clip", "time_limit", "sample_every", "val_every",
                                               "num_samples", "d_lr", "ema", "pool_size", "scale", "lr_gamma")

    def check_options(self) -> None:
        """Refuse option values that would only fail mid-run (called before anything is built or written);
        subclasses extend it (``super().check_options()`` first)."""
        for key in self.POSITIVE + self.NON_NEGATIVE:
            value = self.config.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if not math.isfinite(value) or value < 0 or (value == 0 and key in self.POSITIVE):
                    bound = "positive" if key in self.POSITIVE else "zero or more"
                    raise TrainingError(f"option {key!r}: {value!r} is not valid; it must be {bound}")
        if self.config.get("steps") == 0 and self.config.get("epochs", 1) + self.config.get("epochs_decay", 0) <= 0:
            raise TrainingError("options 'steps', 'epochs', 'epochs_decay': all are 0, so there is nothing to train")
        betas = self.config.get("betas")
        if betas is not None and (len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise TrainingError(f"option 'betas': expected two numbers in [0, 1), got {betas!r}")
        if "ema" in self.config and self.config["ema"] >= 1:
            raise TrainingError(f"option 'ema': {self.config['ema']!r} must be below 1 (0: off)")

    # -- helpers for trainers -----------------------------------------------------------------------
    def net(self, name: str) -> nn.Module:
        """The module to call in a step (DDP-wrapped under torchrun)."""
        return self._wrapped.get(name, self.models[name])

    def adam(self, *models: nn.Module, lr: float | None = None, betas: Any = None) -> torch.optim.Adam:
        params = [p for m in models for p in m.parameters() if p.requires_grad]
        b = tuple(betas if betas is not None else self.config["betas"])
        return torch.optim.Adam(params, lr=self.config["lr"] if lr is None else lr, betas=b,
                                weight_decay=self.config["weight_decay"])

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
        policy, total = self.config["lr_policy"], max(1, self.total)
        if policy == "linear":
            if self.config["steps"] <= 0 and self.config["epochs_decay"] > 0:  # junyanz: per epoch
                epoch = step // max(1, self.per_epoch)
                return 1.0 - max(0, epoch + 1 - self.config["epochs"]) / (self.config["epochs_decay"] + 1)
            start = self.config["decay_start"] * total
            return 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1.0, total - start))
        if policy == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
        if policy == "step":
            marks = [m * total if m < 1 else m for m in self.config["lr_milestones"]]
            return self.config["lr_gamma"] ** sum(step >= m for m in marks)
        return 1.0

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
        st.seed_everything(self.config["seed"] * 1000 + self.rank + 1)  # per-rank stream for dropout, pools, ...
        self._is_setup = True

    # -- checkpoints --------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoints" / "last.pt"

    def save(self) -> None:
        rngs = st.all_gather_objects(st.rng_state())
        extras = self.extra_state()
        if self.is_main:
            payload = {
                "step": self.step, "task": self.task_name, "config": self.config,
                "models": {n: m.state_dict() for n, m in self.models.items()},
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "scaler": self.scaler.state_dict(), "rng": rngs, "extra": extras,
            }
            st.save_checkpoint(self.checkpoint_path, payload)

            export_weights(self)
        st.barrier()
        self.saved_step = self.step

    def restore(self, ckpt: Mapping[str, Any]) -> None:
        for name, model in self.models.items():
            model.load_state_dict(ckpt["models"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][name])
        for name, sched in self.schedulers.items():
            sched.load_state_dict(ckpt["schedulers"][name])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        rngs = ckpt["rng"]
        if len(rngs) != self.world:
            raise TrainingError(f"the checkpoint was written by {len(rngs)} processes, this run has {self.world}; "
                                "resume with the same --nproc_per_node")
        st.set_rng_state(rngs[self.rank])
        self.load_extra_state(ckpt.get("extra") or {})
        self.step = int(ckpt["step"])

    # -- the loop ---------------------------------------------------------------------------------------
    def batches(self) -> Iterator[Any]:
        """Batches from the current step on, epoch after epoch, in the seed's order."""
        bs = self.config["batch_size"]
        while True:
            epoch, offset = divmod(self.step, self.per_epoch)
            self.sampler.set_epoch(epoch)
            self.sampler.start = offset * bs
            loader = DataLoader(self.dataset, batch_size=bs, sampler=self.sampler, drop_last=True,
                                num_workers=self.config["num_workers"], pin_memory=self.device.type == "cuda",
                                persistent_workers=False)
            for i, batch in enumerate(loader):
                if offset + i >= self.per_epoch:
                    break
                yield batch

    def sample_batch(self) -> Mapping[str, Any]:
        """A fixed batch of the first items (their own deterministic augmentation), for grids and diversity."""

        n = max(1, min(self.config["num_samples"], len(self.dataset)))
        return self.to_device(default_collate([self.dataset[i] for i in range(n)]))

    def fit(self) -> dict[str, Any]:
        if not self._is_setup:
            self.setup()
        if self._checkpoint is not None:
            self.restore(self._checkpoint)
            if self.step >= self.total and self.is_main:
                how = (f"steps={self.config['steps']}" if self.config["steps"] > 0 else
                       f"epochs={self.config['epochs']} + epochs_decay={self.config['epochs_decay']}")
                print(f"zoo train: warning: the checkpoint is already at step {self.step}, at or past this run's "
                      f"{self.total} steps ({how}); nothing to train. Pass steps=N with N above {self.step} to "
                      "train further", file=sys.stderr)
        (self.out / "checkpoints").mkdir(parents=True, exist_ok=True)
        keep = self.step if self._checkpoint is not None else -1
        train_log = CSVLog(self.out / "train_log.csv", keep) if self.is_main else None
        val_log = CSVLog(self.out / "val_log.csv", keep) if self.is_main else None
        board = TensorBoardLog(self.out / "tensorboard") if self.is_main else None
        fixed = self.sample_batch()
        bar = None
        if self.is_main and self.config["progress"]:
            from tqdm.auto import tqdm  # heavy

            bar = tqdm(total=self.total, initial=self.step, desc=f"zoo train {self.task_name}", mininterval=2.0,
                       dynamic_ncols=True)
        sums: dict[str, float] = {}
        count, start = 0, time.perf_counter()
        val: dict[str, float] = {}
        try:
            batches = self.batches()
            while self.step < self.total:
                for model in self.models.values():
                    model.train()
                losses = self.train_step(self.to_device(next(batches)))
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
                if self.config["time_limit"] > 0 and self._time_up(start):
                    self.total = self.step  # time-boxed: this step is the last one
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                last_step = self.step == self.total
                if self.step % self.config["log_every"] == 0 or last_step:
                    row = {"step": self.step, "epoch": (self.step - 1) // self.per_epoch,
                           **{k: v / count for k, v in sums.items()},
                           "lr": next(iter(self.optimizers.values())).param_groups[0]["lr"],
                           "seconds": round(time.perf_counter() - start, 3)}
                    if self.adversarial:
                        row.update(self.diversity(fixed))
                    if self.is_main:
                        train_log.write(row)
                        board.scalars(self.step, row, "train")
                        if bar is not None:
                            bar.set_postfix({k: f"{v / count:.4g}" for k, v in list(sums.items())[:4]})
                    sums, count = {}, 0
                if bar is not None:
                    bar.update(1)
                ckpt_now = self.step % self.config["checkpoint_every"] == 0 or last_step
                val_every = self.config["val_every"]
                if (self.step % val_every == 0 if val_every > 0 else ckpt_now) or last_step:
                    val = self._validate()
                    if self.is_main and val:
                        val_log.write({"step": self.step, **val})
                        board.scalars(self.step, val, "val")
                if self.is_main and ((self.config["sample_every"] and self.step % self.config["sample_every"] == 0)
                                     or last_step):
                    self._save_samples(fixed, board)
                if ckpt_now:
                    self.save()
        finally:
            if bar is not None:
                bar.close()
            if board is not None:
                board.close()
        return {"step": self.step, "val": val}

    def _time_up(self, start: float) -> bool:
        """Whether the time limit has passed (rank 0 decides for all ranks, so they stop together)."""
        up = torch.tensor([float(time.perf_counter() - start > 60.0 * self.config["time_limit"])])
        if st.is_distributed():
            dist.broadcast(up, 0)
        return bool(up.item())

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
        x, y = (t.float().flatten(1) for t in pair)
        dy = torch.cdist(y, y, p=1) / y.shape[1]
        dx = torch.cdist(x, x, p=1) / x.shape[1]
        n = y.shape[0]
        out_div = float(dy.sum() / (n * (n - 1)))
        in_div = float(dx.sum() / (n * (n - 1)))
        return {"diversity": out_div, "diversity_ratio": out_div / in_div if in_div > 0 else float("nan")}

    @torch.no_grad()
    def _save_samples(self, batch: Mapping[str, Any], board: TensorBoardLog) -> None:
        for model in self.models.values():
            model.eval()
        with self.autocast():
            rows = self.sample_rows(batch)
        if rows:
            grid = stack_images(rows)
            save_png(grid, self.out / "samples" / f"step_{self.step:07d}.png")
            board.image(self.step, grid)
