"""Formatting one table cell: shared by the tables, the console lines and the report's summary."""

from __future__ import annotations

import math
from typing import Any


def fmt(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e4:
            return f"{value:.0f}" if abs(value) < 1e9 else f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)
