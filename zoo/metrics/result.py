"""The record every metric returns: a value plus everything needed to compare it (flavour, n, weights)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.name, "value": self.value, **self.details}

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        shown = {k: v for k, v in self.details.items() if v is not None and not isinstance(v, (list, dict))}
        extras = ", ".join(f"{k}={_short(v)}" for k, v in shown.items())
        return f"{self.name} = {_short(self.value)}" + (f"  ({extras})" if extras else "")


def _short(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a sha256
    return str(value)
