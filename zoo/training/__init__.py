"""Training: ``zoo.training.train(entry_or_task, data=...)``, the :class:`Trainer` base of task trainers,
option declarations (:class:`Option`), training datasets, checkpoints and run folders (:func:`register_run`).

May import ``zoo.evaluation``, ``zoo.inference``, ``zoo.losses``, ``zoo.datasets`` and everything below them;
``zoo.cli`` and ``zoo.bench`` build on it. Names load their module (and torch) on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "train": "run", "prepare": "run", "finish": "run", "register_run": "run", "resolve_target": "run", "load_pretrained": "run",
    "Trainer": "trainer", "BASE_OPTIONS": "trainer",
    "Option": "config", "ConfigError": "config", "TrainingError": "config",
    "ResumableSampler": "data", "AlignedDataset": "data", "UnalignedDataset": "data", "ImageFolderDataset": "data",
    "PREPROCESS": "data", "item_rng": "data", "list_images": "data", "load_rgb": "data", "to_tensor": "data",
    "stack_images": "data", "save_png": "logs", "plot_curve": "logs",
    "build_loss": "conventions", "convert_range": "conventions", "EntryConventions": "conventions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
