"""Evaluation protocols: which dataset, metrics and conventions an entry is measured with, and its published values.

Task defaults (``Task.evaluation``) < the entry's ``evaluation:`` mapping < the caller's overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from zoo.datasets import get_dataset
from zoo.errors import UnknownNameError, ZooError
from zoo.registry.manager import components

if TYPE_CHECKING:
    from zoo.registry.catalog import Entry

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
    bad = [m for m in proto.metrics if base_metric(m) not in METRIC_NAMES]
    if bad:
        raise UnknownNameError(f"unknown metric {bad[0]!r} for {entry.name!r}; known: {', '.join(METRIC_NAMES)}")
    return proto


def base_metric(name: str) -> str:
    name = name.lower()
    return name[:-2] if name in ("psnr-y", "ssim-y") else name


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


def published_value(entry: "Entry", metric: str, protocol: Protocol,
                    kind: str = "published") -> tuple[float | None, str | None]:
    """The entry's catalog value of ``kind`` (``published``: from a paper or official repository;
    ``recorded``: measured by this project) for ``metric`` on the protocol's dataset (and scale), with its source."""
    want = {_norm(protocol.dataset).split(" ")[0]}
    try:  # a dataset published under another name (options folder/aliases: cyclegan-facades -> facades)
        options = get_dataset(protocol.dataset).options
        for alias in (options.get("folder"), *options.get("aliases", ())):
            if alias:
                want.add(_norm(alias).split(" ")[0])
    except (UnknownNameError, ZooError):
        pass
    for item in entry.metrics:
        if str(item.get("metric", "")).lower() != metric.lower() or metric_kind(item) != kind:
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


def metric_kind(item: Mapping[str, Any]) -> str:
    """A catalog metric's kind; one without ``kind`` is ``recorded`` (an outside reference must say so)."""
    return str(item.get("kind") or "recorded")


def metric_label(metric: str, proto: Protocol) -> str:
    base = base_metric(metric)
    if base in ("psnr", "ssim") and proto.kind == "restoration" and proto.y_channel:
        return f"{base}-y"
    return base
