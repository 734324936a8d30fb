"""Speed of one model under each setting: the fp32 eager baseline, then every fast setting against it.

Per setting and batch size: warm-up calls, then timed calls (CUDA events and one synchronisation on a
GPU, ``perf_counter`` on the CPU): images/s, ms/image median and p95, peak memory (the CUDA allocator;
on the CPU the peak resident set of the child process that runs this model alone), parameters, GFLOPs
per image (``torch.utils.flop_counter``), achieved TFLOP/s and the share of the device's dense peak.
A fast setting's row also holds its speedup over the baseline and how far its output is from the
baseline's on the same inputs (max abs difference in 8-bit grey levels, PSNR).
An out-of-memory error halves the batch and says so in the row; any other failure becomes the row's
``status`` so the suite goes on.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from zoo.bench.images import grid_sample, tensor_to_pil
from zoo.bench.machine import device_peak_tflops
from zoo.bench.suite import BASELINE, Setting
from zoo.errors import ZooError
from zoo.images.files import bundled_image
from zoo.inference.loading import load
from zoo.registry.lookup import get_entry


@dataclass(frozen=True)
class ModelJob:
    """Everything a (possibly separate) process needs to measure one model; plain picklable fields."""

    name: str
    size: int
    batch_sizes: tuple[int, ...]
    settings: tuple[Setting, ...]
    device: str
    pretrained: str = "auto"
    weights: str | None = None
    warmup: int = 2
    iters: int = 5
    seed: int = 0
    peak_tflops: dict[str, float] = field(default_factory=dict)
    isolated: bool = False
    samples: bool = True


def one_line(exc: BaseException, limit: int = 400) -> str:
    """``Type: message`` on one line; a missing weights file is said as ``FILE from URL (expected at PATH)``."""
    text = str(exc).strip()
    url, name = re.search(r"source URL: (\S+)", text), re.search(r"weights file '([^']+)'", text)
    if url and name:
        where = re.search(r"expected cache path: (\S+)", text)
        text = f"{name.group(1)} from {url.group(1)}" + (f" (not found; expected at {where.group(1)})" if where else "")
    else:
        text = " ".join(line.strip().lstrip("- ") for line in text.splitlines() if line.strip())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}".rstrip(": ")


# -- memory -----------------------------------------------------------------------------------
def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS counter of this process (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float | None:
    """This process's peak resident set (``VmHWM``), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import resource  # heavy: Unix only

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024, 1)
    except (ImportError, OSError):
        return None


# -- inputs, FLOPs, timing ---------------------------------------------------------------------
def input_batch(entry: Any, side: int, batch: int, seed: int):
    """``batch`` different views (rotations/flips) of the bundled astronaut photo at ``side`` px, in
    the model's value range; natural images make the output differences of fast paths meaningful."""
    import numpy as np  # heavy
    import torch  # heavy
    from PIL import Image  # heavy


    image = Image.open(bundled_image("astronaut_hr.png")).convert("RGB").resize((side, side), Image.BICUBIC)
    if entry.processing.channels == 1:
        image = image.convert("L")
    base = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    base = base[None] if base.ndim == 2 else base.permute(2, 0, 1)
    views = []
    for i in range(batch):
        view = torch.rot90(base, (i + seed) % 4, dims=(1, 2))
        views.append(view.flip(-1) if (i // 4) % 2 else view)
    x = torch.stack(views).contiguous()
    lo, hi = entry.processing.value_range
    return x * (hi - lo) + lo


def count_gflops(model, x1) -> float | None:
    """GFLOPs of one forward of ``x1`` (batch 1): on the meta device when the model allows, else for real."""
    import torch  # heavy
    from torch.utils.flop_counter import FlopCounterMode  # heavy

    for on_meta in (True, False):
        try:
            net, x = (copy.deepcopy(model).to("meta"), x1.to("meta")) if on_meta else (model, x1)
            counter = FlopCounterMode(display=False)
            with counter, torch.no_grad():
                net(x)
            return counter.get_total_flops() / 1e9
        except Exception:  # noqa: BLE001 - a model the meta device or the counter cannot run
            continue
    return None


def time_calls(fn: Callable[[Any], Any], x, *, warmup: int, iters: int, cuda: bool) -> tuple[list[float], float, float]:
    """Per-call seconds, total wall seconds of the timed calls, and warm-up seconds."""
    import torch  # heavy

    start = time.perf_counter()
    for _ in range(warmup):
        fn(x)
    if cuda:
        torch.cuda.synchronize()
    warm = time.perf_counter() - start
    if cuda:
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
        start = time.perf_counter()
        for begin, end in events:
            begin.record()
            fn(x)
            end.record()
        torch.cuda.synchronize()
        total = time.perf_counter() - start
        return [b.elapsed_time(e) / 1000 for b, e in events], total, warm
    times = []
    start = time.perf_counter()
    for _ in range(iters):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return times, time.perf_counter() - start, warm


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def output_difference(reference, other, out_range: tuple[float, float]) -> tuple[float, float | None]:
    """Max abs difference in 8-bit grey levels and PSNR (dB; None when identical), outputs mapped to [0,1]."""
    lo, hi = out_range

    def unit(t):
        return ((t.float() - lo) / (hi - lo)).clamp(0, 1)

    a, b = unit(reference), unit(other.to(reference.device))
    if a.shape != b.shape:
        raise ValueError(f"fast path output shape {tuple(b.shape)} differs from eager {tuple(a.shape)}")
    diff = (a - b).abs()
    mse = float((diff.double() ** 2).mean())
    return round(float(diff.max()) * 255, 3), (None if mse == 0 else round(10 * math.log10(1 / mse), 2))


def is_oom(exc: BaseException) -> bool:
    import torch  # heavy

    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


# -- building the model for a setting ----------------------------------------------------------------
def load_pipeline(job: ModelJob, *, dtype: str | None = "fp32", backend: str | None = None,
                  fast: str | None = None):
    """The entry's pipeline with real weights when asked/obtainable, else random ones; returns (pipeline, weights)."""
    options: dict[str, Any] = {"fast": fast, "fast_size": job.size} if fast is not None else {}
    if backend is not None:
        if "backend" not in inspect.signature(load).parameters:
            raise NotImplementedError(f"backend {backend!r}: this zoo.load has no backend= argument")
        options["backend"] = backend
    if job.pretrained == "false" and job.weights is None:
        return load(job.name, pretrained=False, device=job.device, dtype=dtype, **options), "random"
    try:
        pipeline = load(job.name, pretrained=True, weights=job.weights, device=job.device, dtype=dtype,
                        progress=False, offline=True if job.pretrained == "auto" else None, **options)
    except ZooError as exc:
        if job.pretrained != "auto" or job.weights is not None:
            raise
        missing = re.search(r"weights file '([^']+)'", str(exc))
        return load(job.name, pretrained=False, device=job.device, dtype=dtype, **options), \
            f"random ({missing.group(1) if missing else 'weights'} not available offline)"
    origin = getattr(pipeline.weights, "origin", None)
    return pipeline, f"pretrained ({origin})" if origin else "pretrained"


def _model_for(setting: Setting, base_pipeline, job: ModelJob):
    """A callable running ``setting`` on model-range input batches, and what the row should say about it."""
    import torch  # heavy

    from zoo.inference.pipeline import parse_dtype  # heavy


    dtype = parse_dtype(setting.dtype)
    fmt = torch.channels_last if setting.channels_last else torch.contiguous_format
    fast = None
    if setting.fast is not None:  # the pipeline's forward casts to the dtype it chose
        torch.manual_seed(job.seed)  # random weights: the baseline's, so the output difference means something
        pipeline, _ = load_pipeline(job, dtype=None, fast=setting.fast)
        model, run, fast = pipeline.model, pipeline.forward, pipeline.metadata["fast"]
    elif setting.backend is not None:
        pipeline, _ = load_pipeline(job, dtype=setting.dtype, backend=setting.backend)
        model = pipeline.model
        if setting.channels_last and hasattr(model, "to"):
            model.to(memory_format=torch.channels_last)
        run = pipeline.forward
    else:
        model = copy.deepcopy(base_pipeline.model).to(dtype=dtype, memory_format=fmt)
        run = torch.compile(model) if setting.compile else model

    def call(x):
        return run(x.to(dtype=dtype).contiguous(memory_format=fmt))

    call.fast = fast  # type: ignore[attr-defined]
    return call


def _row(job: ModelJob, entry: Any, setting: Setting, **values: Any) -> dict[str, Any]:
    return {"model": job.name, "task": entry.task if entry is not None else None, "setting": setting.name,
            "device": job.device, "dtype": setting.dtype, "channels_last": setting.channels_last,
            "compile": setting.compile, "backend": setting.backend or "eager", **values}


def _measure_setting(job: ModelJob, entry, setting: Setting, call, batch: int, side: int, *, gflops: float | None,
                     params_m: float, peak: float | None, weights: str, cuda: bool, baseline: dict | None,
                     reference_out) -> tuple[dict[str, Any], Any]:
    import torch  # heavy

    x = input_batch(entry, side, batch, job.seed).to(job.device)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    elif job.isolated:
        reset_peak_rss()
    with torch.inference_mode():
        out = call(x)
        times, total, warm = time_calls(call, x, warmup=max(job.warmup - 1, 0), iters=job.iters, cuda=cuda)
    if cuda:
        mem = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    else:
        mem = peak_rss_mib() if job.isolated else None
    per_image = [t / batch * 1000 for t in times]
    ips = batch * job.iters / total
    row = _row(job, entry, setting, batch=batch, size=side, out_size=side * entry.processing.scale,
               images_per_s=round(ips, 3), ms_per_image_median=round(statistics.median(per_image), 3),
               ms_per_image_p95=round(percentile(per_image, 0.95), 3), warmup_s=round(warm, 3),
               peak_mem_mib=mem, mem_scope="cuda allocator" if cuda else ("child process" if job.isolated else None),
               params_m=params_m, gflops_per_image=None if gflops is None else round(gflops, 3),
               tflops=None if gflops is None else round(gflops * ips / 1000, 4), peak_tflops=peak,
               pct_of_peak=None if gflops is None or not peak else round(100 * gflops * ips / 1000 / peak, 2),
               speedup_vs_eager=None, max_abs_diff_grey=None, psnr_vs_eager_db=None, weights=weights, status="ok",
               note="")
    if baseline is not None:
        row["speedup_vs_eager"] = round(ips / baseline["images_per_s"], 3)
    if reference_out is not None and reference_out.shape[0] == out.shape[0]:
        row["max_abs_diff_grey"], row["psnr_vs_eager_db"] = output_difference(
            reference_out, out, entry.processing.out_range)
    return row, out


def measure_model(job: ModelJob) -> dict[str, Any]:
    """All rows (baseline first) and speed samples for one model; never raises."""
    import torch  # heavy


    torch.manual_seed(job.seed)
    cuda = job.device.startswith("cuda")
    if cuda:
        if torch.device(job.device).index is not None:  # cuda:N (a torchrun rank): allocator stats of that GPU
            torch.cuda.set_device(torch.device(job.device))
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels (warm-up pays)
    entry = None
    try:
        entry = get_entry(job.name)
        pipeline, weights = load_pipeline(job)
    except Exception as exc:  # noqa: BLE001 - the failing model gets a row; the suite goes on
        return {"rows": [_row(job, entry, s, status=f"error: {one_line(exc)}") for s in (BASELINE, *job.settings)],
                "samples": []}
    m = entry.processing.size_multiple
    side = max(job.size, m) // m * m
    params_m = round(sum(p.numel() for p in pipeline.model.parameters()) / 1e6, 6)
    gflops = count_gflops(pipeline.model, input_batch(entry, side, 1, job.seed).to(job.device))
    device_name = torch.cuda.get_device_name(torch.device(job.device)) if cuda else "cpu"
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    for requested in job.batch_sizes:
        baseline_row, reference_out = None, None
        for setting in (BASELINE, *job.settings):
            batch, notes, chosen = requested, [], None
            peak = device_peak_tflops(device_name, setting.dtype, job.peak_tflops) if cuda else None
            while True:
                try:
                    call = pipeline.model if setting is BASELINE else _model_for(setting, pipeline, job)
                    chosen = getattr(call, "fast", None)
                    row, out = _measure_setting(job, entry, setting, call, batch, side, gflops=gflops,
                                                params_m=params_m, peak=peak, weights=weights, cuda=cuda,
                                                baseline=baseline_row, reference_out=reference_out)
                    break
                except Exception as exc:  # noqa: BLE001
                    if is_oom(exc) and batch > 1:
                        notes.append(f"out of memory at batch {batch}")
                        batch //= 2
                        if cuda:
                            torch.cuda.empty_cache()
                        continue
                    row, out = _row(job, entry, setting, batch=batch, size=side, weights=weights,
                                    status=f"error: {one_line(exc)}"), None
                    break
            row["batch_requested"] = requested
            if notes:
                row["note"] = "; ".join(notes + [f"ran at batch {batch}"])
            if chosen:
                row["note"] = "; ".join(filter(None, [f"fast: {chosen['setting']} (budget {chosen['budget']})",
                                                      row.get("note")]))
            if setting is BASELINE and row["status"] == "ok":
                baseline_row, reference_out = row, out
                if job.samples and not weights.startswith("random") and not samples:
                    samples.append(speed_sample(job, entry, out))
            rows.append(row)
    return {"rows": rows, "samples": samples}


def speed_sample(job: ModelJob, entry, out) -> dict[str, Any]:
    """The baseline's output on the first bundled view, as an image-grid sample (no reference)."""
    x = input_batch(entry, max(job.size, entry.processing.size_multiple) // entry.processing.size_multiple
                    * entry.processing.size_multiple, 1, job.seed)
    return grid_sample(job.name, "bundled astronaut (speed input)", tensor_to_pil(x[0], entry.processing.value_range),
                       tensor_to_pil(out[0], entry.processing.out_range), None)
