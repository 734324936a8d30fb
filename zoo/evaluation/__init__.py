"""Evaluation: the quality of a loaded model on its evaluation set, by its entry's protocol.

Owns protocols (task defaults < entry < call), the per-kind runners (restoration, paired, unpaired,
style) and result rows with published values beside them. May import ``zoo.inference``, ``zoo.metrics``,
``zoo.datasets`` and everything below them; ``zoo.bench`` and ``zoo.training`` build on it.
"""

from __future__ import annotations

from zoo.evaluation.evaluate import evaluate
from zoo.evaluation.protocol import (
                                     DEFAULT_METRICS,
                                     KINDS,
                                     METRIC_NAMES,
                                     EvaluationError,
                                     Protocol,
                                     metric_label,
                                     protocol_for,
                                     published_value,
)
from zoo.evaluation.rows import (
                                     EvaluationResult,
                                     center_crop,
                                     error_status,
                                     guarded,
                                     make_row,
                                     unavailable_status,
)

__all__ = ["evaluate", "EvaluationResult", "EvaluationError", "Protocol", "protocol_for", "published_value",
           "metric_label", "make_row", "guarded", "error_status", "unavailable_status", "center_crop", "KINDS",
           "METRIC_NAMES", "DEFAULT_METRICS"]
