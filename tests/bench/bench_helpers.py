"""Plain helpers of the ``zoo bench`` tests (a module of its own: ``conftest`` is a name every test folder has)."""

from __future__ import annotations

import json
from pathlib import Path

PLUGIN_DIR = Path(__file__).parent / "plugin_dir"


def read(folder: Path) -> dict:
    """A report folder's ``report.json``."""
    return json.loads((folder / "report.json").read_text())
