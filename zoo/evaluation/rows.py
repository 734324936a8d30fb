"""Result rows of an evaluation, the context runners share, and the helpers that turn failures into row statuses."""

from __future__ import annotations

import contextvars
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.evaluation.protocol import Protocol, metric_label, published_value

if TYPE_CHECKING:
    from PIL import Image

    from zoo.datasets import LocalDataset
    from zoo.registry.catalog import Entry

@dataclass
class EvaluationResult:
    """One row per metric (see :func:`evaluate`) and sample triplets for image grids."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[str, "Image.Image", "Image.Image", "Image.Image | None"]] = field(default_factory=list)

    def value(self, metric: str) -> float | None:
        for row in self.rows:
            if row["metric"] == metric:
                return row["value"]
        raise KeyError(metric)


def all_rows(entry: "Entry", proto: Protocol, *, status: str) -> EvaluationResult:
    result = EvaluationResult()
    for metric in proto.metric_names():
        result.rows.append(make_row(entry, proto, metric_label(metric, proto), None, flavour="", n=0, status=status))
    return result


@dataclass
class EvaluationContext:
    model: Any
    entry: "Entry"
    protocol: Protocol
    local: "LocalDataset"
    max_images: int | None
    samples: int
    metric_weights: dict[str, Any]
    device: str
    offline: bool | None
    data: Any = None


def make_row(entry: "Entry", proto: Protocol, metric: str, value: float | None, *, flavour: str, n: int,
             status: str = "ok", dataset_label: str | None = None) -> dict[str, Any]:
    published, source = published_value(entry, metric, proto)
    recorded, recorded_source = published_value(entry, metric, proto, kind="recorded")
    finite = value is not None and math.isfinite(value)
    return {"model": entry.name, "task": entry.task, "dataset": dataset_label or proto.dataset, "metric": metric,
            "value": value, "flavour": flavour, "protocol": proto.describe(), "n_images": n, "status": status,
            "published": published, "delta": value - published if finite and published is not None else None,
            "published_source": source, "recorded": recorded,
            "vs_recorded": value - recorded if finite and recorded is not None else None,
            "recorded_source": recorded_source}


def unavailable_status(exc: BaseException) -> str:
    """``unavailable: <file> from <URL>`` out of a hub error (the first line otherwise)."""
    text = str(exc)
    url = re.search(r"source URL: (\S+)", text) or re.search(r"(https?://\S+)", text)
    name = re.search(r"file '([^']+)'", text) or re.search(r"\(([\w.\-]+\.(?:pth|safetensors|pt|bin))\)", text)
    if url:
        file_name = name.group(1) if name else url.group(1).rstrip(").,;").rsplit("/", 1)[-1]
        return f"unavailable: {file_name} from {url.group(1).rstrip(').,;')}"
    return "unavailable: " + text.splitlines()[0]


def error_status(exc: BaseException) -> str:
    if isinstance(exc, WeightsUnavailableError):
        return unavailable_status(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"error: {type(exc).__name__}: {first}"


def guarded(fn, *args, **kwargs) -> tuple[Any, str]:
    """``(value, "ok")``, or ``(None, status)`` for missing weights and errors inside one metric."""
    try:
        return fn(*args, **kwargs), "ok"
    except (WeightsUnavailableError, WeightsError, ImportError) as exc:
        return None, error_status(exc)
    except (RuntimeError, ValueError) as exc:
        return None, error_status(exc)


def as_rgb_array(path: Path) -> np.ndarray:
    from PIL import Image  # heavy

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).copy()


def center_crop(img: np.ndarray, size: int | None, multiple: int = 1) -> np.ndarray:
    """Centre crop to at most ``size`` (if given), then to a multiple of ``multiple`` on both sides."""
    h, w = img.shape[:2]
    th, tw = (min(h, size), min(w, size)) if size else (h, w)
    th, tw = th - th % multiple, tw - tw % multiple
    top, left = (h - th) // 2, (w - tw) // 2
    return img[top:top + th, left:left + tw]


FULL_SIZES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("zoo_eval_full_sizes", default=None)


def limit(items: list, n: int | None) -> list:
    """The first ``n`` items; the full count is noted so rows on a subset get no delta to published values."""
    sizes = FULL_SIZES.get()
    if sizes is not None:
        sizes.append(len(items))
    return items if n is None else items[:n]


def drop_subset_deltas(rows: list[dict[str, Any]], full: int) -> None:
    """A row over fewer images than the full set (``max_images``) is not comparable with the published value."""
    for row in rows:
        n = row.get("n_images")
        if isinstance(n, int) and 0 < n < full:
            row["delta"] = row["vs_recorded"] = None
            row["subset_of"] = full
