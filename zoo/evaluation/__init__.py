"""Evaluation: the quality of a loaded model on its evaluation set, by its entry's protocol.

Owns protocols (task defaults < entry < call; :mod:`~zoo.evaluation.protocol`), the per-kind runners
(restoration, paired, unpaired, style; :mod:`~zoo.evaluation.runners`) and result rows with published
values beside them (:mod:`~zoo.evaluation.rows`). May import ``zoo.inference``, ``zoo.metrics``,
``zoo.datasets`` and everything below them; ``zoo.bench`` and ``zoo.training`` build on it.
Names are loaded on first use: the runners import numpy, torch and the metrics' networks.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "evaluate": "evaluator",
    "DEFAULT_METRICS": "protocol", "KINDS": "protocol", "METRIC_NAMES": "protocol", "EvaluationError": "protocol",
    "Protocol": "protocol", "metric_label": "protocol", "protocol_for": "protocol", "published_value": "protocol",
    "EvaluationResult": "rows", "center_crop": "rows", "error_status": "rows", "guarded": "rows",
    "make_row": "rows", "unavailable_status": "rows",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"zoo.evaluation.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'zoo.evaluation' has no attribute {name!r}")
