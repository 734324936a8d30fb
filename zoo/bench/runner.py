"""Run a suite: models one by one (a child process each on the CPU), sharded across torchrun ranks.

Rank r of a ``torchrun`` world of size W takes models ``r::W``; rank 0 gathers every rank's rows with
``torch.distributed.gather_object`` (gloo) and writes the report. A model that fails gets rows saying
why; Ctrl-C stops after the current model and the report still holds what finished.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping

from zoo.bench.machine import machine_info
from zoo.bench.quality import evaluate_quality
from zoo.bench.speed import ModelJob, measure_model
from zoo.bench.suite import Suite, SuiteError
from zoo.bench.worker import run_isolated
from zoo.registry.lookup import get_entry
from zoo.registry.manager import CORE_PLUGIN_NAME, ENTRY_POINT_GROUP, get_manager


@dataclass
class RunResult:
    speed: list[dict[str, Any]] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0


def resolve_device(device: str) -> str:
    import torch  # heavy

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SuiteError(f"device {device!r} asked for, but torch sees no CUDA device (use --device cpu)")
    return device


def dist_world() -> tuple[int, int]:
    """(rank, world size) under torchrun, initialising a gloo process group; (0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist  # heavy

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(row: Mapping[str, Any]) -> str:
    head = f"  {row['model']} [{row['setting']}, batch {row.get('batch', '?')}]"
    if row.get("status") != "ok":
        return f"{head}: {row.get('status')}"
    extra = ""
    if row.get("speedup_vs_eager") is not None:
        extra = f", {row['speedup_vs_eager']:.2f}x eager"
        if row.get("max_abs_diff_grey") is not None:
            psnr = row.get("psnr_vs_eager_db")
            extra += f", max diff {row['max_abs_diff_grey']:g} levels" + (f" / {psnr:.1f} dB" if psnr else " (identical)")
    return f"{head}: {row['images_per_s']:.2f} img/s, {row['ms_per_image_median']:.1f} ms/img{extra}"


def run_suite(suite: Suite, *, device: str, data: Mapping[str, str] | None = None, quality: bool | None = None,
              isolate: bool | None = None, rank: int = 0, world: int = 1) -> RunResult:
    """Measure this rank's share of the suite's models."""

    result = RunResult()
    start = time.perf_counter()
    use_child = isolate if isolate is not None else (suite.isolate == "true" or (
        suite.isolate == "auto" and not device.startswith("cuda")))
    mine = suite.models[rank::world]
    if world > 1 and device.startswith("cuda") and ":" not in device:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
    try:
        for i, spec in enumerate(mine, 1):
            job = ModelJob(name=spec.name, size=spec.size or suite.size,
                           batch_sizes=tuple(spec.batch_sizes or suite.batch_sizes),
                           settings=tuple(s for s in suite.settings if spec.settings is None or s.name in spec.settings),
                           device=device, pretrained=spec.pretrained or suite.pretrained, weights=spec.weights,
                           warmup=suite.warmup,
                           iters=suite.iters, seed=suite.seed, peak_tflops=dict(suite.peak_tflops), isolated=use_child)
            _log(f"[{i}/{len(mine)}{f' rank {rank}' if world > 1 else ''}] {spec.name}")
            if use_child and isolate is None and not loadable_in_child(spec.name):
                _log(f"  {spec.name}: its plugin is registered only in this process; measured in-process")
                job = replace(job, isolated=False)
            if job.isolated:
                measured = run_isolated(job, suite.timeout_s)
            else:
                measured = measure_model(job)
            for row in measured["rows"]:
                _log(_describe(row))
            result.speed.extend(measured["rows"])
            result.samples.extend(measured["samples"])
            wants_quality = quality if quality is not None else (  # the command line beats the suite file
                spec.quality if spec.quality is not None else suite.quality.enabled)
            if wants_quality:
                rows, samples = [], []
                for dataset in spec.datasets or suite.quality.datasets or (None,):
                    quality_spec = replace(suite.quality, max_images=spec.max_images or suite.quality.max_images)
                    more_rows, more_samples = evaluate_quality(
                        spec.name, quality_spec, dataset=dataset, data={**suite.quality.data, **(data or {})},
                        device=device, pretrained=spec.pretrained or suite.pretrained, weights=spec.weights)
                    rows += more_rows
                    samples += more_samples[: max(suite.quality.samples - len(samples), 0)]
                for row in rows:
                    value = row.get("value")
                    _log(f"  {spec.name} quality {row.get('dataset')} {row.get('metric')}: "
                         f"{value if value is not None else row.get('status')}")
                result.quality.extend(rows)
                if samples:  # evaluation samples (with a reference) replace the speed input's
                    result.samples = [s for s in result.samples if s["model"] != spec.name] + samples
    except KeyboardInterrupt:
        result.interrupted = True
        _log("interrupted: writing the report of what finished")
    result.seconds = time.perf_counter() - start
    return result


def loadable_in_child(name: str) -> bool:
    """Whether a fresh interpreter finds the plugin that provides ``name`` (entry point, ZOO_PLUGINS_DIR, core)."""


    provider = get_entry(name).provider
    if provider == CORE_PLUGIN_NAME or get_manager().is_builtin(provider):
        return True
    if provider.startswith("dir:"):
        return bool(os.environ.get("ZOO_PLUGINS_DIR"))
    # the zoo registers entry points itself (not through pluggy's setuptools loader): ask the installed metadata
    return any(ep.name == provider for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def gather(result: RunResult, rank: int, world: int) -> RunResult:
    """Rank 0 gets every rank's rows (in model order of the suite); other ranks get their own back."""
    if world <= 1:
        return result
    import torch.distributed as dist  # heavy

    parts: list[Any] | None = [None] * world if rank == 0 else None
    dist.gather_object(result, parts, dst=0)
    dist.destroy_process_group()
    if rank != 0:
        return result
    merged = RunResult(seconds=max(p.seconds for p in parts))  # type: ignore[union-attr]
    for part in parts:  # type: ignore[union-attr]
        merged.speed.extend(part.speed)
        merged.quality.extend(part.quality)
        merged.samples.extend(part.samples)
        merged.interrupted |= part.interrupted
    return merged


def build_report(suite: Suite, result: RunResult, *, device: str, world: int, argv: list[str]) -> dict[str, Any]:
    """The report's JSON document: everything the page, tables and comparisons are made from."""
    order = {m.name: i for i, m in enumerate(suite.models)}
    speed = sorted(result.speed, key=lambda r: order.get(r["model"], len(order)))
    quality = sorted(result.quality, key=lambda r: order.get(r["model"], len(order)))
    models = list(dict.fromkeys(r["model"] for r in speed))
    failed = sorted({r["model"] for r in speed if r.get("status") != "ok" and r.get("setting") == "fp32-eager"})
    done = set(models)
    not_run = [m.name for m in suite.models if m.name not in done]
    return {
        "schema": 1, "kind": "zoo-bench-report",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": ["zoo", "bench", *argv], "seed": suite.seed, "world_size": world,
        "machine": machine_info(device), "suite": suite.to_dict(),
        "status": {"models": len(suite.models), "measured": len(models), "failed": failed, "not_run": not_run,
                   "interrupted": result.interrupted, "seconds": round(result.seconds, 1)},
        "speed": speed, "quality": quality, "samples": result.samples, "micro": [], "comparison": [],
    }
