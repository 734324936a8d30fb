"""Quality rows for the report, from :func:`zoo.evaluation.evaluate` (the entry's evaluation protocol).

Quality needs real weights: a model without them gets a row "unavailable: <what is missing>", never a
number from random weights. A zoo without ``zoo.evaluation`` says so in the row, too.
"""

from __future__ import annotations

from typing import Any, Mapping

from zoo import evaluation
from zoo.bench.compare import higher_is_better
from zoo.bench.images import grid_sample
from zoo.bench.speed import absent_local_weights, one_line
from zoo.bench.suite import QualitySpec
from zoo.errors import WeightsUnavailableError
from zoo.inference.loading import load
from zoo.registry.lookup import get_entry

QUALITY_COLUMNS = ("model", "task", "dataset", "metric", "value", "published", "delta", "published_source",
                   "recorded", "vs_recorded", "recorded_regression", "recorded_source", "flavour", "protocol",
                   "n_images", "status")


def _row(model: str, task: str | None, dataset: str | None, status: str) -> dict[str, Any]:
    return {**{k: None for k in QUALITY_COLUMNS}, "model": model, "task": task, "dataset": dataset, "status": status}


def _error_rows(evaluation, entry, spec: QualitySpec, dataset: str | None, status: str) -> list[dict[str, Any]]:
    """One row per metric of the entry's protocol, naming the dataset and metric (a bare row if that fails)."""
    try:
        proto = evaluation.protocol_for(entry, dataset=dataset, metrics=list(spec.metrics) if spec.metrics else None)
        names = list(dict.fromkeys(evaluation.metric_label(m, proto) for m in proto.metric_names()))
    except Exception:  # noqa: BLE001 - the status is what matters
        return [_row(entry.name, entry.task, dataset, status)]
    return [{**_row(entry.name, entry.task, dataset or proto.dataset, status), "metric": m,
             "protocol": proto.describe()} for m in names] or [_row(entry.name, entry.task, dataset or proto.dataset, status)]


def recorded_check(row: dict[str, Any], thresholds: Mapping[str, float]) -> None:
    """Flag a row that is worse than the catalog's recorded value (this project's own earlier measurement) by
    more than ``thresholds.recorded_rel`` of it: the recorded value is a regression baseline, not a reference."""
    old, delta = row.get("recorded"), row.get("vs_recorded")
    if old is None or delta is None:
        return
    worse = -delta if higher_is_better(str(row.get("metric"))) else delta
    row["recorded_regression"] = worse > float(thresholds.get("recorded_rel", 0.01)) * max(abs(old), 1e-12)


def evaluate_quality(model: str, spec: QualitySpec, *, dataset: str | None, data: Mapping[str, str],
                     device: str, pretrained: str = "auto", weights: str | None = None,
                     thresholds: Mapping[str, float] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, image-grid samples) for one model with its real weights; failures become rows (one per metric of
    the entry's protocol, naming dataset and metric), never an exception."""

    entry = get_entry(model)
    if pretrained == "false" and weights is None:
        return _error_rows(evaluation, entry, spec, dataset, "unavailable: random weights (--random-weights): no quality"), []
    absent = absent_local_weights(weights) if pretrained == "auto" else None
    if absent:
        return _error_rows(evaluation, entry, spec, dataset, f"unavailable: weights {absent} not here"), []
    try:
        pipeline = load(model, weights=weights, device=device, progress=False,
                        offline=True if pretrained == "auto" else None)
    except WeightsUnavailableError as exc:
        return _error_rows(evaluation, entry, spec, dataset, f"unavailable: {one_line(exc).split(': ', 1)[-1]}"), []
    except Exception as exc:  # noqa: BLE001 - one model's evaluation never aborts the suite
        return _error_rows(evaluation, entry, spec, dataset, f"error: {one_line(exc)}"), []
    try:
        result = evaluation.evaluate(pipeline, dataset=dataset, max_images=spec.max_images,
                                     metrics=list(spec.metrics) if spec.metrics else None, samples=spec.samples,
                                     data=[f"{k}={v}" for k, v in data.items()] or None, device=device)
    except Exception as exc:  # noqa: BLE001
        return _error_rows(evaluation, entry, spec, dataset, f"error: {one_line(exc)}"), []
    rows = [{**{k: None for k in QUALITY_COLUMNS}, **dict(r)} for r in result.rows]
    for row in rows:
        recorded_check(row, thresholds or {})
    samples = []
    for sample in getattr(result, "samples", ()) or ():
        name, inp, out, ref = (sample.name, sample.input, sample.output, sample.reference) \
            if hasattr(sample, "name") else tuple(sample)
        try:
            samples.append(grid_sample(model, name, inp, out, ref))
        except Exception:  # noqa: BLE001, S112 - a sample the grid cannot show is skipped
            continue
    return rows, samples
