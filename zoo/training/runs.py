"""Runs on disk, for ``zoo runs ls DIR`` and ``zoo runs show RUN``: find them, summarise them, rebuild their page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.training.config import ConfigError
from zoo.training.page import build_page, summary
from zoo.training.runlog import CONFIG_FILE, RUN_JSON


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and ((path / RUN_JSON).is_file() or (path / CONFIG_FILE).is_file())


def list_runs(folder: str | Path) -> list[dict[str, Any]]:
    """Summaries of the run folders in ``folder`` (or ``folder`` itself when it is one), by name."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a folder")
    runs = [root] if is_run_folder(root) else sorted(p for p in root.iterdir() if is_run_folder(p))
    return [summary(run) for run in runs]


def show_run(run: str | Path) -> tuple[dict[str, Any], Path]:
    """A run's summary and its rebuilt page (``RUN/index.html``)."""
    path = Path(run)
    if not is_run_folder(path):
        raise ConfigError(f"{run} is not a run folder (no {RUN_JSON} or {CONFIG_FILE}; `zoo runs ls DIR` lists runs)")
    return summary(path), build_page(path)
