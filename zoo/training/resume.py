"""What ``--resume`` may change: options are compared with the checkpoint's before anything is built.

Changing how many steps to train, how often to log, validate or checkpoint, or the validation data keeps the
resumed run exact. Anything else (the training data, ``batch_size``, the architecture, losses, learning rate,
augmentation, precision...) would make it a different run from the one the checkpoint belongs to: it is
refused with one line naming each change, unless ``--allow-changes`` is given, and then the changes are
recorded in the run's history (``run.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from zoo.training.config import TrainingError, absolute_paths, plain
from zoo.training.runlog import CONFIG_FILE


def changed_options(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{key: (old, new)}`` for every option whose value differs (numbers compared as numbers)."""
    changes = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            same = float(a) == float(b)
        else:
            same = plain(a) == plain(b)
        if not same:
            changes[key] = (a, b)
    return changes


def check_resume(checkpoint: Mapping[str, Any], options: Mapping[str, Any], data: Path, *, safe: frozenset[str],
                 allow_changes: bool, where: Path,
                 declared: Mapping[str, Any] | None = None) -> dict[str, tuple[Any, Any]]:
    """The changes of this resume (options and ``data``); refused when one breaks exactness and
    ``allow_changes`` is not set."""
    changes = changed_options(absolute_paths(checkpoint.get("config", {}), declared), options)
    old_data = checkpoint.get("data")
    if old_data is not None and Path(old_data) != data.resolve():
        changes = {"data": (old_data, str(data.resolve())), **changes}
    breaking = {k: v for k, v in changes.items() if k not in safe}
    if breaking and not allow_changes:
        listed = "; ".join(f"{k} {_short(a)} -> {_short(b)}" for k, (a, b) in breaking.items())
        raise TrainingError(f"--resume {where}: {listed}: resuming with changed {_names(breaking)} would not continue "
                            "the checkpoint's run exactly; pass --allow-changes to resume anyway (recorded in "
                            "run.json), or train into a new --out")
    return changes


def _names(changes: Mapping[str, Any]) -> str:
    keys = list(changes)
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def _short(value: Any) -> str:
    """A value for the one-line message; long paths keep their end (where they differ)."""
    text = repr(value)
    if len(text) <= 60:
        return text
    return "'..." + str(value)[-50:] + "'" if isinstance(value, str) else text[:57] + "..."


def data_of_run(out: Path, checkpoint: Mapping[str, Any] | None = None) -> str | None:
    """The training data of the run in ``out`` (``--resume`` without ``--data``): as config.yaml gives it, or the
    absolute path the checkpoint recorded when that one is not found from here (another working folder)."""
    given = None
    path = out / CONFIG_FILE
    if path.is_file():
        try:
            record = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            record = None
        if isinstance(record, dict) and record.get("data"):
            given = str(record["data"])
    recorded = str(checkpoint["data"]) if checkpoint is not None and checkpoint.get("data") else None
    if given is not None and (Path(given).exists() or recorded is None):
        return given
    return recorded
