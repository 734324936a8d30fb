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

from zoo.bench.machine import machine_info, machine_state
from zoo.bench.noise import assess
from zoo.bench.quality import evaluate_quality
from zoo.bench.speed import ModelJob, measure_model
from zoo.bench.suite import ModelSpec, Suite, SuiteError
from zoo.bench.cells import fmt
from zoo.bench.worker import run_isolated
from zoo.datasets import DataOverrides, check_layout, get_dataset
from zoo.errors import ZooError
from zoo.evaluation import protocol_for
from zoo.registry.lookup import get_entry
from zoo.registry.manager import CORE_PLUGIN_NAME, ENTRY_POINT_GROUP, get_manager


@dataclass
class RunResult:
    speed: list[dict[str, Any]] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    #: machine readings (load, governor, GPU clocks) at the start and the end of this rank's run
    state_start: dict[str, Any] = field(default_factory=dict)
    state_end: dict[str, Any] = field(default_factory=dict)


def resolve_device(device: str) -> str:
    import torch  # heavy

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SuiteError(f"device {device!r} asked for, but torch sees no CUDA device (use --device cpu)")
    index = device.partition(":")[2]
    if index.isdigit() and int(index) >= torch.cuda.device_count():
        raise SuiteError(f"device {device!r} asked for, but torch sees {torch.cuda.device_count()} CUDA device(s) "
                         f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    return device


def check_settings(suite: Suite, device: str) -> None:
    """Settings ``zoo.load`` would refuse on ``device`` fail before any model runs, as one line naming the setting
    (instead of an error in every row): the onnxruntime backend runs fp32 or fp16, on the CPU."""
    for setting in suite.settings:
        if setting.backend != "onnxruntime":
            continue
        where = f"setting {setting.name!r} ({suite.source}): the onnxruntime backend"
        if setting.dtype not in ("fp32", "fp16"):
            raise SuiteError(f"{where} runs fp32 or fp16, got dtype {setting.dtype}")
        if not device.startswith("cpu"):
            raise SuiteError(f"{where} runs on the CPU here, got device {device!r} (use --device cpu)")


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
    """One console line per speed row: the median over rounds, its range, and the fast path's cost."""
    head = f"  {row['model']} [{row['setting']}, {row.get('size', '?')} px, batch {row.get('batch', '?')}]"
    if row.get("status") != "ok":
        return f"{head}: {row.get('status')}"
    text = (f"{head}: {fmt(row['images_per_s'])} img/s ({fmt(row.get('ips_min'))}-{fmt(row.get('ips_max'))} over "
            f"{row.get('rounds')} rounds), {fmt(row['ms_per_image_median'])} ms/img, first call "
            f"{fmt(row.get('warmup_s'))} s")
    if row.get("speedup_vs_eager") is not None:
        text += (f", {fmt(row['speedup_vs_eager'])}x eager ({fmt(row.get('speedup_min'))}-"
                 f"{fmt(row.get('speedup_max'))}x)")
        if row.get("max_abs_diff_grey") is not None:
            psnr = row.get("psnr_vs_eager_db")
            text += f", max diff {fmt(row['max_abs_diff_grey'])} levels" + (f" / {fmt(psnr)} dB" if psnr else " (identical)")
    return text


def quality_line(model: str, row: Mapping[str, Any]) -> str:
    """``  NAME quality set5 psnr-y: 29.18`` (``on 2 of 5 images`` for a subset); an unavailable metric says why."""
    where = " ".join(str(row[k]) for k in ("dataset", "metric") if row.get(k))
    value = row.get("value")
    text = f"  {model} quality{' ' + where if where else ''}: {fmt(value) if value is not None else row.get('status')}"
    if value is not None and row.get("subset_of"):
        text += f" (on {row.get('n_images')} of {row['subset_of']} images: not comparable with published values)"
    return text


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
    result.state_start = machine_state(device)
    try:
        for i, spec in enumerate(mine, 1):
            job = ModelJob(name=spec.name, sizes=spec.sizes or (spec.size or suite.size,),
                           batch_sizes=tuple(spec.batch_sizes or suite.batch_sizes),
                           settings=tuple(s for s in suite.settings if spec.settings is None or s.name in spec.settings),
                           device=device, pretrained=spec.pretrained or suite.pretrained, weights=spec.weights,
                           warmup=suite.warmup, iters=suite.iters, rounds=suite.rounds,
                           min_round_s=suite.min_round_s, seed=suite.seed,
                           peak_tflops=dict(suite.peak_tflops), isolated=use_child)
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
            if wants_quality(spec, suite, quality):
                rows, samples = [], []
                for dataset in spec.datasets or suite.quality.datasets or (None,):
                    quality_spec = replace(suite.quality, max_images=spec.max_images or suite.quality.max_images)
                    more_rows, more_samples = evaluate_quality(
                        spec.name, quality_spec, dataset=dataset, data={**suite.quality.data, **(data or {})},
                        device=device, pretrained=spec.pretrained or suite.pretrained, weights=spec.weights,
                        thresholds=suite.thresholds)
                    rows += more_rows
                    samples += more_samples[: max(suite.quality.samples - len(samples), 0)]
                for row in rows:
                    _log(quality_line(spec.name, row))
                result.quality.extend(rows)
                if samples:  # evaluation samples (with a reference) replace the speed input's
                    result.samples = [s for s in result.samples if s["model"] != spec.name] + samples
    except KeyboardInterrupt:
        result.interrupted = True
        _log("interrupted: writing the report of what finished")
    result.seconds = time.perf_counter() - start
    result.state_end = machine_state(device)
    return result


def wants_quality(spec: ModelSpec, suite: Suite, quality: bool | None) -> bool:
    """The command line beats the model's line of the suite, which beats the suite's ``quality.enabled``."""
    if quality is not None:
        return quality
    return spec.quality if spec.quality is not None else suite.quality.enabled


def check_quality_data(suite: Suite, data: Mapping[str, str] | None, quality: bool | None) -> None:
    """Check every local dataset folder a quality run will read (``--data``, the suite's ``data``, ``ZOO_DATA``)
    against its layout before any model runs; a folder that is missing or laid out wrongly raises one line."""
    given = {**suite.quality.data, **(data or {})}
    overrides = DataOverrides.parse([f"{k}={v}" for k, v in given.items()] or None)
    checked: set[tuple[str, int | None]] = set()
    for spec in suite.models:
        if not wants_quality(spec, suite, quality):
            continue
        entry = get_entry(spec.name)
        for dataset in spec.datasets or suite.quality.datasets or (None,):
            try:
                proto = protocol_for(entry, dataset=dataset)
            except ZooError:  # the entry's protocol is broken: its quality rows will say so; the run goes on
                continue
            scale = proto.scale if proto.kind == "restoration" and proto.scale > 1 else None
            _check_folder(proto.dataset, scale, overrides, checked)
    read = {dataset for dataset, _ in checked}
    for name in given:  # a folder no model reads is still checked: a typo in it is the user's mistake to hear of
        if get_dataset(name).name not in read:
            _check_folder(name, None, overrides, checked)


def _check_folder(name: str, scale: int | None, overrides: DataOverrides, checked: set) -> None:
    record = get_dataset(name)
    if (record.name, scale) in checked:
        return
    checked.add((record.name, scale))
    for origin, found in (("--data", overrides.find(record)), ("ZOO_DATA", DataOverrides.from_env().find(record))):
        if found is not None:
            check_layout(record, found[0], f"{origin} {found[1]}", scales=[scale] if scale else None)
            return


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
    merged = RunResult(seconds=max(p.seconds for p in parts), state_start=parts[0].state_start,  # type: ignore[index,union-attr]
                       state_end=parts[0].state_end)  # type: ignore[index]
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
                   "interrupted": result.interrupted, "seconds": round(result.seconds, 1),
                   "random_weights": random_weight_models(speed)},
        "noise": assess(speed, result.state_start, result.state_end, suite.thresholds),
        "speed": speed, "quality": quality, "samples": result.samples, "micro": [], "comparison": [],
    }


def random_weight_models(speed: list[dict[str, Any]]) -> list[str]:
    """Models measured with random weights (their speed is real; they have no quality numbers)."""
    return list(dict.fromkeys(r["model"] for r in speed if str(r.get("weights") or "").startswith("random")))
