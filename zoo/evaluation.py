"""Quality of a loaded model on its evaluation set, by the protocol its catalog entry and task name.

``evaluate(model)`` reads the protocol (task defaults from ``Task.evaluation``, overridden by the entry's
``evaluation:`` mapping, overridden by the call), resolves the dataset (:mod:`zoo.datasets`), runs the
model image by image and returns one row per metric. Protocol kinds (``kind``):

* ``restoration`` (super-resolution): model(LR) vs HR; PSNR/SSIM (Y channel of MATLAB rgb2ycbcr when
  ``y_channel``, ``crop_border`` pixels cropped, uint8 outputs) and LPIPS-alex v0.1. An ``images`` dataset
  gets its LR made by the task's ``degrade`` function (for SR: MATLAB-compatible bicubic, from the plugin);
* ``paired``: model(A) vs B (or B->A by ``direction``): LPIPS/PSNR/SSIM per pair plus FID/KID/FD-DINOv2;
* ``unpaired``: model(test A) vs the target domain's test split: FID/KID/FD-DINOv2;
* ``style``: VGG16 content distance and Gram style distance, LPIPS to the content image.

A metric whose weights are not on this machine gives a row with ``status = "unavailable: <file> from <URL>"``
and no value: never a number from random weights. Published values of the entry for the same metric and
dataset are put in the row with the difference.
"""

from __future__ import annotations

import contextvars
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .errors import UnknownNameError, WeightsError, WeightsUnavailableError, ZooError

if TYPE_CHECKING:
    from PIL import Image

    from .catalog import Entry
    from .datasets import LocalDataset

KINDS = ("restoration", "paired", "unpaired", "style")


class EvaluationError(ZooError, ValueError):
    """A bad evaluation argument or protocol: the message names it and what is allowed."""


DEFAULT_METRICS = {
    "restoration": ("psnr", "ssim", "lpips"),
    "paired": ("lpips", "psnr", "ssim", "fid", "kid", "fd-dinov2"),
    "unpaired": ("fid", "kid", "fd-dinov2"),
    "style": ("content-distance", "style-distance", "lpips-content"),
}
#: every metric name a protocol may list (``psnr``/``ssim`` become ``psnr-y``/``ssim-y`` with ``y_channel``)
METRIC_NAMES = ("psnr", "ssim", "lpips", "fid", "kid", "fd-dinov2", "content-distance", "style-distance",
                "lpips-content")


@dataclass(frozen=True)
class Protocol:
    """How an entry is evaluated. See the module docstring for ``kind``; the rest as in the catalog schema."""

    kind: str = "restoration"
    dataset: str = "embedded"
    scale: int = 1
    crop_border: int = 0
    y_channel: bool = False
    direction: str = "AtoB"
    split: str = "test"
    metrics: tuple[str, ...] = ()
    fid_flavour: str = "clean"
    degrade: str | None = None  # "pkg.mod:fn", fn(hr uint8 HxWx3, scale) -> lr uint8
    style_dataset: str | None = None
    style_image: str | None = None
    max_side: int | None = None  # inputs larger than this are downscaled (style transfer on big photos)
    center_crop: int | None = None  # images-layout datasets: centre crop to this size first

    def metric_names(self) -> tuple[str, ...]:
        return self.metrics or DEFAULT_METRICS[self.kind]

    def describe(self) -> str:
        parts = [f"{self.dataset}"]
        if self.kind == "restoration":
            parts.append(f"x{self.scale}; {'Y' if self.y_channel else 'RGB'}, crop {self.crop_border}")
        elif self.kind in ("paired", "unpaired"):
            parts.append(f"{self.split} {self.direction}")
        return " ".join(parts)


PROTOCOL_KEYS = {f.name for f in fields(Protocol)}


def protocol_for(entry: "Entry", *, dataset: str | None = None, metrics: Sequence[str] | None = None,
                 overrides: Mapping[str, Any] | None = None) -> Protocol:
    """Task defaults < the entry's ``evaluation`` < ``overrides`` < the call's ``dataset``/``metrics``."""
    from .plugins import components

    task = components("task").get(entry.task).record
    scale = entry.processing.scale
    merged: dict[str, Any] = {"scale": scale, "crop_border": scale if scale > 1 else 0}
    if entry.processing.options.get("direction") in ("AtoB", "BtoA"):
        merged["direction"] = entry.processing.options["direction"]
    merged.update(dict(getattr(task, "evaluation", None) or {}))
    merged.update(dict(getattr(entry, "evaluation", None) or {}))
    if overrides:
        merged.update(overrides)
        if "scale" in overrides and "crop_border" not in overrides and merged.get("kind") == "restoration":
            merged["crop_border"] = overrides["scale"]
    if dataset is not None:
        merged["dataset"] = dataset
    if metrics is not None:
        merged["metrics"] = tuple(metrics)
    if "kind" not in merged:
        raise EvaluationError(f"entry {entry.name!r}: task {entry.task!r} declares no evaluation kind "
                       f"(Task.evaluation['kind'] or the entry's evaluation.kind; one of {', '.join(KINDS)})")
    unknown = sorted(set(merged) - PROTOCOL_KEYS)
    if unknown:
        raise EvaluationError(f"entry {entry.name!r}: unknown evaluation field {unknown[0]!r}; allowed: {', '.join(sorted(PROTOCOL_KEYS))}")
    merged["metrics"] = tuple(merged.get("metrics") or ())
    proto = Protocol(**merged)
    if proto.kind not in KINDS:
        raise EvaluationError(f"entry {entry.name!r}: evaluation kind {proto.kind!r} is not one of {', '.join(KINDS)}")
    bad = [m for m in proto.metrics if _base_metric(m) not in METRIC_NAMES]
    if bad:
        raise UnknownNameError(f"unknown metric {bad[0]!r} for {entry.name!r}; known: {', '.join(METRIC_NAMES)}")
    return proto


def _base_metric(name: str) -> str:
    name = name.lower()
    return name[:-2] if name in ("psnr-y", "ssim-y") else name


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


# -- published values ----------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


def published_value(entry: "Entry", metric: str, protocol: Protocol) -> tuple[float | None, str | None]:
    """The entry's catalog value for ``metric`` on the protocol's dataset (and scale), with its source."""
    want = {_norm(protocol.dataset).split(" ")[0]}
    try:  # a dataset published under another name (options folder/aliases: cyclegan-facades -> facades)
        from .datasets import get_dataset

        options = get_dataset(protocol.dataset).options
        for alias in (options.get("folder"), *options.get("aliases", ())):
            if alias:
                want.add(_norm(alias).split(" ")[0])
    except (UnknownNameError, ZooError):
        pass
    for item in entry.metrics:
        if str(item.get("metric", "")).lower() != metric.lower():
            continue
        words = _norm(item.get("dataset", "")).split(" ")
        if not words or words[0] not in want:
            continue
        if protocol.kind == "restoration" and f"x{protocol.scale}" not in words:
            continue
        try:
            return float(item["value"]), str(item.get("source") or "")
        except (TypeError, ValueError):
            continue
    return None, None


# -- the API ------------------------------------------------------------------------------------------
def evaluate(model: Any, *, dataset: str | None = None, data_dir: str | os.PathLike[str] | None = None,
             max_images: int | None = None, metrics: Sequence[str] | None = None, samples: int = 2,
             data: str | Sequence[str] | None = None, metric_weights: Mapping[str, str | os.PathLike[str]] | None = None,
             device: str | None = None, offline: bool | None = None,
             overrides: Mapping[str, Any] | None = None) -> EvaluationResult:
    """Evaluate a loaded pipeline (``zoo.load(name)``) on its evaluation set.

    ``dataset`` replaces the entry's set (``"embedded"``: images shipped with the package and its
    dependencies); ``data_dir`` is that dataset's local folder; ``data`` holds ``NAME=DIR`` / root items as
    on the CLI (``--data``); ``metric_weights`` gives explicit metric weight files by key (``lpips``, ``fid``,
    ``dinov2``, ``vgg16``), recorded as unverified unless their digest is the official one. ``overrides``
    replaces protocol fields (``{"scale": 2}`` evaluates VDSR at x2; crop_border follows the scale).
    Rows: model, task, dataset, metric, value, flavour, protocol, n_images, status, published, delta.
    Bad arguments (unknown dataset or metric, a folder in the wrong layout) raise a one-line ZooError.
    """
    from .datasets import DatasetUnavailableError, resolve_dataset

    entry = model.entry
    proto = protocol_for(entry, dataset=dataset, metrics=metrics, overrides=overrides)
    if max_images is not None and max_images < 1:
        raise EvaluationError(f"max_images must be >= 1, got {max_images}")
    try:
        local = resolve_dataset(proto.dataset, data_dir=data_dir, data=data, offline=offline,
                                scales=[proto.scale] if proto.kind == "restoration" and proto.scale > 1 else None)
    except DatasetUnavailableError as exc:
        message = str(exc)
        hit = re.search(r": (\S+ from \S+)", message)
        return _all_rows(entry, proto, status="unavailable: " + (hit.group(1) if hit else message))

    context = _Context(model, entry, proto, local, max_images, samples, dict(metric_weights or {}),
                       device or str(model.device), offline, data)
    from . import evaluation_runners as runners

    try:
        run = {"restoration": runners.run_restoration, "paired": runners.run_paired,
               "unpaired": runners.run_unpaired, "style": runners.run_style}[proto.kind]
    except KeyError:  # pragma: no cover - protocol_for checks kinds
        raise EvaluationError(f"no runner for evaluation kind {proto.kind!r}") from None
    token = _FULL_SIZES.set([])
    try:
        result = run(context)
        sizes = _FULL_SIZES.get() or []
    finally:
        _FULL_SIZES.reset(token)
    if sizes:
        _drop_subset_deltas(result.rows, max(sizes))
    produced = {row["metric"] for row in result.rows}
    for metric in dict.fromkeys(metric_label(m, proto) for m in proto.metric_names()):
        if metric not in produced:  # asked for, but not a metric of this kind (psnr of an unpaired model, say)
            result.rows.append(make_row(entry, proto, metric, None, flavour="", n=0,
                                        status=f"error: {metric} does not apply to {proto.kind} evaluation"))
    return result


def _all_rows(entry: "Entry", proto: Protocol, *, status: str) -> EvaluationResult:
    result = EvaluationResult()
    for metric in proto.metric_names():
        result.rows.append(make_row(entry, proto, metric_label(metric, proto), None, flavour="", n=0, status=status))
    return result


@dataclass
class _Context:
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


def metric_label(metric: str, proto: Protocol) -> str:
    base = _base_metric(metric)
    if base in ("psnr", "ssim") and proto.kind == "restoration" and proto.y_channel:
        return f"{base}-y"
    return base


def make_row(entry: "Entry", proto: Protocol, metric: str, value: float | None, *, flavour: str, n: int,
             status: str = "ok", dataset_label: str | None = None) -> dict[str, Any]:
    published, source = published_value(entry, metric, proto)
    delta = None
    if published is not None and value is not None and math.isfinite(value):
        delta = value - published
    return {"model": entry.name, "task": entry.task, "dataset": dataset_label or proto.dataset, "metric": metric,
            "value": value, "flavour": flavour, "protocol": proto.describe(), "n_images": n, "status": status,
            "published": published, "delta": delta, "published_source": source}


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
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).copy()


def center_crop(img: np.ndarray, size: int | None, multiple: int = 1) -> np.ndarray:
    """Centre crop to at most ``size`` (if given), then to a multiple of ``multiple`` on both sides."""
    h, w = img.shape[:2]
    th, tw = (min(h, size), min(w, size)) if size else (h, w)
    th, tw = th - th % multiple, tw - tw % multiple
    top, left = (h - th) // 2, (w - tw) // 2
    return img[top:top + th, left:left + tw]


_FULL_SIZES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("zoo_eval_full_sizes", default=None)


def limit(items: list, n: int | None) -> list:
    """The first ``n`` items; the full count is noted so rows on a subset get no delta to published values."""
    sizes = _FULL_SIZES.get()
    if sizes is not None:
        sizes.append(len(items))
    return items if n is None else items[:n]


def _drop_subset_deltas(rows: list[dict[str, Any]], full: int) -> None:
    """A row over fewer images than the full set (``max_images``) is not comparable with the published value."""
    for row in rows:
        n = row.get("n_images")
        if isinstance(n, int) and 0 < n < full:
            row["delta"] = None
            row["subset_of"] = full


__all__ = ["evaluate", "EvaluationResult", "EvaluationError", "Protocol", "protocol_for", "published_value", "KINDS", "METRIC_NAMES"]
