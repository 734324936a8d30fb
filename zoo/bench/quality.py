"""Quality rows for the report, from :func:`zoo.evaluation.evaluate` (the entry's evaluation protocol).

Quality needs real weights: a model without them gets a row "unavailable: <what is missing>", never a
number from random weights. A zoo without ``zoo.evaluation`` says so in the row, too.
"""

from __future__ import annotations

from typing import Any, Mapping

from zoo import evaluation
from zoo.bench.images import grid_sample
from zoo.bench.speed import one_line
from zoo.bench.suite import QualitySpec
from zoo.errors import WeightsUnavailableError
from zoo.inference.loading import load
from zoo.registry.lookup import get_entry

QUALITY_COLUMNS = ("model", "task", "dataset", "metric", "value", "published", "delta", "flavour", "protocol",
                   "n_images", "status")


def _row(model: str, task: str | None, dataset: str | None, status: str) -> dict[str, Any]:
    return {"model": model, "task": task, "dataset": dataset, "metric": None, "value": None, "published": None,
            "delta": None, "flavour": None, "protocol": None, "n_images": None, "status": status}


def _error_rows(evaluation, entry, spec: QualitySpec, dataset: str | None, status: str) -> list[dict[str, Any]]:
    """One row per metric of the entry's protocol, naming the dataset and metric (a bare row if that fails)."""
    try:
        proto = evaluation.protocol_for(entry, dataset=dataset, metrics=list(spec.metrics) if spec.metrics else None)
        names = list(dict.fromkeys(evaluation.metric_label(m, proto) for m in proto.metric_names()))
    except Exception:  # noqa: BLE001 - the status is what matters
        return [_row(entry.name, entry.task, dataset, status)]
    return [{**_row(entry.name, entry.task, dataset or proto.dataset, status), "metric": m,
             "protocol": proto.describe()} for m in names] or [_row(entry.name, entry.task, dataset or proto.dataset, status)]


def evaluate_quality(model: str, spec: QualitySpec, *, dataset: str | None, data: Mapping[str, str],
                     device: str, pretrained: str = "auto", weights: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, image-grid samples) for one model with its real weights; failures become a row, never an exception."""

    entry = get_entry(model)
    task = entry.task
    if pretrained == "false" and weights is None:
        return [_row(model, task, dataset, "unavailable: random weights (--random-weights): no quality")], []
    try:
        pipeline = load(model, weights=weights, device=device, progress=False,
                        offline=True if pretrained == "auto" else None)
    except WeightsUnavailableError as exc:
        return [_row(model, task, dataset, f"unavailable: {one_line(exc).split(': ', 1)[-1]}")], []
    except Exception as exc:  # noqa: BLE001 - one model's evaluation never aborts the suite
        return [_row(model, task, dataset, f"error: {one_line(exc)}")], []
    try:
        result = evaluation.evaluate(pipeline, dataset=dataset, max_images=spec.max_images,
                                     metrics=list(spec.metrics) if spec.metrics else None, samples=spec.samples,
                                     data=[f"{k}={v}" for k, v in data.items()] or None, device=device)
    except Exception as exc:  # noqa: BLE001
        return _error_rows(evaluation, entry, spec, dataset, f"error: {one_line(exc)}"), []
    rows = [{**{k: None for k in QUALITY_COLUMNS}, **dict(r)} for r in result.rows]
    samples = []
    for sample in getattr(result, "samples", ()) or ():
        name, inp, out, ref = (sample.name, sample.input, sample.output, sample.reference) \
            if hasattr(sample, "name") else tuple(sample)
        try:
            samples.append(grid_sample(model, name, inp, out, ref))
        except Exception:  # noqa: BLE001, S112 - a sample the grid cannot show is skipped
            continue
    return rows, samples
