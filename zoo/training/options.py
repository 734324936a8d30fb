"""The options every trainer shares (:data:`BASE_OPTIONS`) and the checks of their values.

Checks run when a trainer is made, before any network is built or anything is written: a bad value is one
line naming the option, what it must be and what it got.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zoo.training.checkpoints import check_best_metric
from zoo.training.config import Option, TrainingError

LR_POLICIES = ("constant", "linear", "cosine", "step")

BASE_OPTIONS: dict[str, Option] = {
    "seed": Option(0, "seed of weights init, data order and augmentation"),
    "steps": Option(0, "optimisation steps in all (0: from epochs)"),
    "epochs": Option(1, "epochs at the initial learning rate (used when steps is 0)"),
    "epochs_decay": Option(0, "further epochs with the learning rate decaying linearly to 0 (junyanz)"),
    "batch_size": Option(1, "images per step and process"),
    "num_workers": Option(0, "data loader worker processes"),
    "lr": Option(1e-4, "learning rate"),
    "betas": Option([0.9, 0.999], "Adam betas"),
    "weight_decay": Option(0.0, "optimiser weight decay"),
    "optimizer": Option("adam", "optimiser of every model", ("adam", "sgd")),
    "momentum": Option(0.9, "SGD momentum (optimizer=sgd)"),
    "lr_policy": Option("constant", "learning-rate schedule over steps", LR_POLICIES),
    "decay_start": Option(0.5, "linear: fraction of the steps after which the LR decays linearly to 0"),
    "lr_milestones": Option([], "step: steps (or fractions of all steps, if < 1) where the LR is multiplied by "
                                "lr_gamma"),
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
    "val_data": Option(None, "validation data: a folder in the task's layout, or a registered dataset name", kind=str),
    "val_max_images": Option(16, "validate on at most this many images (0: all)"),
    "metric_weights": Option({}, "local weight files of validation metrics: {lpips: PATH, fid: PATH, vgg16: PATH}"),
    "best_metric": Option("auto", "validation metric that picks checkpoints/best.pt (auto: the task's first "
                                  "available one; '' : none)", kind=str),
    "best_mode": Option("auto", "whether a higher or a lower best_metric is better (auto: higher for psnr/ssim)",
                        ("auto", "max", "min")),
    "keep_every": Option(0, "also keep the checkpoint of every N-th step (checkpoints/step_N.pt; 0: only last)"),
    "num_samples": Option(4, "images in the sample grid and in the diversity (mode-collapse) indicator"),
    "progress": Option(True, "tqdm progress bar"),
    "time_limit": Option(0.0, "stop (checkpoint, samples, catalog) after this many minutes of training (0: off)"),
    "name": Option(None, "catalog name of the trained model (default: the run folder's name)", kind=str),
}

#: options that may change on ``--resume`` without breaking exact resumption (others need --allow-changes)
RESUME_SAFE = frozenset({
    "steps", "epochs", "epochs_decay", "num_workers", "threads", "log_every", "checkpoint_every", "sample_every",
    "val_every", "val_data", "val_max_images", "metric_weights", "best_metric", "best_mode", "keep_every",
    "num_samples", "progress", "time_limit", "name"})
#: options that must be > 0, and >= 0, when the trainer declares them
POSITIVE = ("lr", "batch_size", "log_every", "checkpoint_every", "crop_size", "load_size", "patch_size",
            "scale_factor", "repeat")
NON_NEGATIVE = ("steps", "epochs", "epochs_decay", "num_workers", "threads", "weight_decay", "grad_clip",
                "time_limit", "sample_every", "val_every", "num_samples", "d_lr", "ema", "pool_size", "scale",
                "lr_gamma", "keep_every", "val_max_images", "momentum")
METRIC_WEIGHT_KEYS = ("lpips", "fid", "vgg16")


def check_common_options(config: Mapping[str, Any], val_metrics: Sequence[str]) -> None:
    """The checks of the options in :data:`BASE_OPTIONS` and of the usual trainer options (sizes, ``ema``)."""
    for key in POSITIVE + NON_NEGATIVE:
        value = config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value) or value < 0 or (value == 0 and key in POSITIVE):
                bound = "positive" if key in POSITIVE else "zero or more"
                raise TrainingError(f"option {key!r}: {value!r} is not valid; it must be {bound}")
    if config.get("steps") == 0 and config.get("epochs", 1) + config.get("epochs_decay", 0) <= 0:
        raise TrainingError("options 'steps', 'epochs', 'epochs_decay': all are 0, so there is nothing to train")
    betas = config.get("betas")
    if betas is not None and (len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
        raise TrainingError(f"option 'betas': expected two numbers in [0, 1), got {betas!r}")
    if "ema" in config and config["ema"] >= 1:
        raise TrainingError(f"option 'ema': {config['ema']!r} must be below 1 (0: off)")
    for key, path in (config.get("metric_weights") or {}).items():
        if key not in METRIC_WEIGHT_KEYS:
            raise TrainingError(f"option 'metric_weights': unknown key {key!r} ({', '.join(METRIC_WEIGHT_KEYS)})")
        if path is not None and not Path(str(path)).is_file():
            raise TrainingError(f"option 'metric_weights': {key}: {path} is not a file")
    if "best_metric" in config:
        check_best_metric(config["best_metric"], list(val_metrics), bool(config.get("val_data")))


def lr_factor(config: Mapping[str, Any], step: int, total: int, per_epoch: int) -> float:
    """The learning-rate multiplier of ``lr_policy`` at ``step`` of ``total`` (``per_epoch`` steps an epoch)."""
    policy, total = config["lr_policy"], max(1, total)
    if policy == "linear":
        if config["steps"] <= 0 and config["epochs_decay"] > 0:  # junyanz: per epoch
            epoch = step // max(1, per_epoch)
            return 1.0 - max(0, epoch + 1 - config["epochs"]) / (config["epochs_decay"] + 1)
        start = config["decay_start"] * total
        return 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1.0, total - start))
    if policy == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
    if policy == "step":
        marks = [m * total if m < 1 else m for m in config["lr_milestones"]]
        return config["lr_gamma"] ** sum(step >= m for m in marks)
    return 1.0
