"""A training run folder as a model to load: its catalog entry and the weights of one of its checkpoints.

``zoo train`` writes ``RUN/catalog.yaml`` (one entry), ``RUN/model.safetensors`` (the last step),
``RUN/best.safetensors`` (the best validation step, when a ``best_metric`` is watched) and, with
``keep_every=N``, ``RUN/checkpoints/step_NNNNNNN.safetensors``. ``zoo.load(RUN, checkpoint="best" | "last" |
STEP)`` picks one of them; this module knows those names, so :mod:`zoo.training` imports them from here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from zoo.errors import OptionError
from zoo.registry.manager import get_manager

CATALOG_FILE = "catalog.yaml"
PLUGIN_FILE = "zoo_run_plugin.py"
WEIGHTS_FILE = "model.safetensors"
BEST_WEIGHTS_FILE = "best.safetensors"
CHECKPOINTS = "checkpoints"


def snapshot_stem(step: int) -> str:
    """``step_0000020``: the name of a kept checkpoint (``.pt``) and of its weights (``.safetensors``)."""
    return f"step_{int(step):07d}"


def is_run(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a training run folder with a catalog entry (written at its first checkpoint)."""
    folder = Path(path)
    return folder.is_dir() and (folder / CATALOG_FILE).is_file() and (folder / PLUGIN_FILE).is_file()


def kept_steps(run: str | os.PathLike[str]) -> list[int]:
    """Steps whose weights the run kept (``keep_every``), ascending."""
    found = (re.fullmatch(r"step_(\d+)", p.stem) for p in (Path(run) / CHECKPOINTS).glob("step_*.safetensors"))
    return sorted(int(m.group(1)) for m in found if m)


def run_weights(run: str | os.PathLike[str], checkpoint: str | int) -> Path:
    """The weights file of ``checkpoint`` ("best", "last" or a kept step) of a run; a one-line error if absent."""
    folder = Path(run)
    if checkpoint == "last":
        path = folder / WEIGHTS_FILE
    elif checkpoint == "best":
        path = folder / BEST_WEIGHTS_FILE
        if not path.is_file():
            raise OptionError(f"checkpoint='best': run {folder} has no best checkpoint (it is written when the run "
                              "validates with val_data= and a best_metric); use checkpoint='last'")
    else:
        text = str(checkpoint)
        if not text.isdigit():
            raise OptionError(f"checkpoint={checkpoint!r}: expected 'best', 'last' or a step number")
        path = folder / CHECKPOINTS / f"{snapshot_stem(int(text))}.safetensors"
        if not path.is_file():
            kept = kept_steps(folder)
            raise OptionError(f"checkpoint={checkpoint!r}: run {folder} kept no weights of step {int(text)} "
                              f"(kept steps: {', '.join(map(str, kept)) or 'none; train with keep_every=N'}; "
                              "or 'best', 'last')")
    if not path.is_file():
        raise OptionError(f"run {folder}: {path.name} is missing (the run has not written a checkpoint yet?)")
    return path


def register_run_catalog(run: str | os.PathLike[str]) -> list[str]:
    """Add a run folder's (or catalog file's) entries to this process's zoo; returns their names."""
    path = Path(run)
    path = path / CATALOG_FILE if path.is_dir() else path
    if not path.is_file():
        raise OptionError(f"{run} has no {CATALOG_FILE} (a run writes it when it checkpoints or finishes)")
    get_manager().register_catalog(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [e["name"] for e in data.get("entries", []) if isinstance(e, dict) and "name" in e]
