"""Training: ``zoo.training.train(entry_or_task, data=...)``, the :class:`Trainer` base of task trainers,
option declarations (:class:`Option`) and recipes, training datasets, validation metrics, checkpoints (last, best,
kept, on a stop signal), run folders (:func:`register_run`), their logs and page (``zoo runs``).

May import ``zoo.evaluation``, ``zoo.inference``, ``zoo.losses``, ``zoo.datasets`` and everything below them;
``zoo.cli`` and ``zoo.bench`` build on it. Names load their module (and torch) on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "train": "run", "prepare": "run", "finish": "run", "register_run": "run", "resolve_target": "run", "load_pretrained": "run",
    "Trainer": "trainer", "BASE_OPTIONS": "options", "TrainingInterrupted": "checkpoints",
    "ValidationMetrics": "validation", "mean_psnr_ssim": "validation", "resolve_val_data": "validation",
    "Option": "config", "ConfigError": "config", "TrainingError": "config",
    "ResumableSampler": "data", "AlignedDataset": "data", "UnalignedDataset": "data", "ImageFolderDataset": "data",
    "PREPROCESS": "data", "item_rng": "data", "list_images": "data", "image_size": "data", "load_rgb": "data",
    "to_tensor": "data",
    "stack_images": "data", "save_png": "logs", "save_grid": "logs", "plot_curve": "logs",
    "build_page": "page", "list_runs": "runs", "show_run": "runs",
    "build_loss": "conventions", "convert_range": "conventions", "EntryConventions": "conventions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
