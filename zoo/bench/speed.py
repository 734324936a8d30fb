"""Speed of one model under each setting: the fp32 eager baseline, then every fast setting against it.

Per input size and batch size, the settings are timed in interleaved rounds (:mod:`zoo.bench.timing`):
images/s, ms/image and megapixels/s from the median over rounds, with the range over rounds; the first
call on its own (``warmup_s``); peak memory (the CUDA allocator; on the CPU the peak resident set of the
child process that runs this model alone), parameters, GFLOPs per image (``torch.utils.flop_counter``, at
the size the network really runs), achieved TFLOP/s and the share of the device's dense peak.
A fast setting's row also holds its speedup over the baseline (median and range over rounds) and how far
its output is from the baseline's on the same inputs (max abs difference in 8-bit grey levels, PSNR).
An out-of-memory error halves the batch and says so in the row; any other failure becomes the row's
``status`` so the suite goes on.
"""

from __future__ import annotations

import copy
import inspect
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zoo.bench.images import grid_sample, tensor_to_pil
from zoo.bench.machine import device_peak_tflops
from zoo.bench.suite import BASELINE, Setting
from zoo.bench.timing import Arm, calls_per_round, first_call, run_rounds, speedup, timed_calls
from zoo.errors import ZooError
from zoo.images.files import bundled_image
from zoo.inference.loading import load
from zoo.inference.settings import output_difference
from zoo.registry.lookup import get_entry


@dataclass(frozen=True)
class ModelJob:
    """Everything a (possibly separate) process needs to measure one model; plain picklable fields."""

    name: str
    sizes: tuple[int, ...]
    batch_sizes: tuple[int, ...]
    settings: tuple[Setting, ...]
    device: str
    pretrained: str = "auto"
    weights: str | None = None
    warmup: int = 2
    iters: int = 2
    rounds: int = 5
    min_round_s: float = 0.0
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


def is_oom(exc: BaseException) -> bool:
    import torch  # heavy

    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


# -- building the model for a setting ----------------------------------------------------------------
def absent_local_weights(weights: str | None) -> str | None:
    """The path of an explicit local weights file (``PATH``, ``file://PATH``, ``FORMAT+file://PATH``) that is not
    on this machine, else None. A suite naming ``${ZOO_SHARED:-../shared}/...`` runs where that copy is absent."""
    if not weights:
        return None
    head, sep, rest = weights.partition("://")
    if sep and head.split("+")[-1] != "file":
        return None
    path = Path(rest if sep else weights).expanduser()
    return None if path.exists() else str(path)


def load_pipeline(job: ModelJob, *, dtype: str | None = "fp32", backend: str | None = None,
                  fast: str | None = None, fast_size: int | None = None):
    """The entry's pipeline with real weights when asked/obtainable, else random ones; returns (pipeline, weights).
    ``fast``: a budget for ``zoo.load(fast=...)`` (the setting ``zoo tune`` chose for inputs of ``fast_size`` px)."""
    absent = absent_local_weights(job.weights) if job.pretrained == "auto" else None
    if absent:  # the suite's local copy is not here: the entry's own sources, else random weights
        pipeline, weights = load_pipeline(replace(job, weights=None), dtype=dtype, backend=backend, fast=fast,
                                          fast_size=fast_size)
        return pipeline, weights.replace("random (", f"random ({absent} not here; ", 1)
    options: dict[str, Any] = {"fast": fast, "fast_size": fast_size} if fast is not None else {}
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


def _model_for(setting: Setting, base_pipeline, job: ModelJob, side: int):
    """A callable running ``setting`` on model-range input batches of ``side`` px, and what the row should say
    about it (``call.fast``: what ``zoo.load(fast=...)`` chose)."""
    import torch  # heavy

    from zoo.inference.pipeline import parse_dtype  # heavy

    dtype = parse_dtype(setting.dtype)
    fmt = torch.channels_last if setting.channels_last else torch.contiguous_format
    fast = None
    if setting.fast is not None:  # the pipeline's forward casts to the dtype it chose
        torch.manual_seed(job.seed)  # random weights: the baseline's, so the output difference means something
        pipeline, _ = load_pipeline(job, dtype=None, fast=setting.fast, fast_size=side)
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


#: every speed row has these columns (None where they do not apply), so CSVs keep stable columns
ROW_COLUMNS = ("model", "task", "setting", "device", "dtype", "channels_last", "compile", "backend", "batch",
               "batch_requested", "size", "net_size", "out_size", "images_per_s", "ips_min", "ips_max", "spread",
               "mpix_per_s", "ms_per_image_median", "ms_per_image_p95", "rounds", "timed_calls", "warmup_s",
               "peak_mem_mib", "mem_scope", "params_m", "gflops_per_image", "tflops", "peak_tflops", "pct_of_peak",
               "speedup_vs_eager", "speedup_min", "speedup_max", "max_abs_diff_grey", "psnr_vs_eager_db", "weights",
               "status", "note")


def _row(job: ModelJob, entry: Any, setting: Setting, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
    row.update(model=job.name, task=entry.task if entry is not None else None, setting=setting.name,
               device=job.device, dtype=setting.dtype, channels_last=setting.channels_last, compile=setting.compile,
               backend=setting.backend or "eager", note="")
    row.update(values)
    return row


def _prepare(job: ModelJob, entry, arm: Arm, pipeline, side: int, cuda: bool) -> None:
    """Build the arm's callable and input, time its first call, run the other warm-up calls, read peak memory;
    an out-of-memory error halves the batch (and says so), any other failure becomes the arm's error."""
    import torch  # heavy

    while True:
        try:
            arm.call = pipeline.model if arm.setting is BASELINE else _model_for(arm.setting, pipeline, job, side)
            arm.x = input_batch(entry, side, arm.batch, job.seed).to(job.device)
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            elif job.isolated:
                reset_peak_rss()
            with torch.inference_mode():
                arm.out, arm.first_s = first_call(arm.call, arm.x, cuda=cuda)
                warm = timed_calls(arm.call, arm.x, max(job.warmup - 1, 0), cuda=cuda)
            arm.iters = calls_per_round(job.iters, job.min_round_s, min(warm) if warm else arm.first_s)
            if cuda:
                torch.cuda.synchronize()
                arm.peak_mem_mib = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            elif job.isolated:
                arm.peak_mem_mib = peak_rss_mib()
            return
        except Exception as exc:  # noqa: BLE001
            if is_oom(exc) and arm.batch > 1:
                arm.notes.append(f"out of memory at batch {arm.batch}")
                arm.batch //= 2
                arm.call = arm.x = None
                if cuda:
                    torch.cuda.empty_cache()
                continue
            arm.call = arm.x = None
            arm.error = f"error: {one_line(exc)}"
            return


def network_sides(entry, pipeline, size: int) -> tuple[int, int, int]:
    """(input side, network input side, output side) for an input of ``size`` px.

    The input is rounded down to the entry's size multiple. A pipeline that upscales before its network
    (VDSR: bicubic x4, then the network at the upscaled size) has a network scale below the entry's scale:
    the network runs on ``size * entry scale / network scale`` pixels, and that is what is timed and counted.
    """
    m = entry.processing.size_multiple
    side = max(size, m) // m * m
    total = float(getattr(pipeline, "scale", None) or entry.processing.scale)
    net = pipeline.processing
    pre = total / net.scale
    net_side = side if pre == 1 else max(round(side * pre), net.size_multiple) // net.size_multiple * net.size_multiple
    return side, net_side, net_side * net.scale


def _measure_batch(job: ModelJob, entry, pipeline, requested: int, sides: tuple[int, int, int], *,
                   common: dict[str, Any], cuda: bool, device_name: str) -> tuple[list[dict[str, Any]], Any]:
    """Rows of every setting at one batch size (baseline first) and the baseline's output."""
    side, net_side, out_side = sides
    arms = [Arm(setting, batch=requested) for setting in (BASELINE, *job.settings)]
    for arm in arms:
        _prepare(job, entry, arm, pipeline, net_side, cuda)

    def failed(arm: Arm, exc: BaseException) -> None:
        arm.error = f"error: {one_line(exc)}"

    run_rounds(arms, rounds=job.rounds, iters=job.iters, cuda=cuda, on_error=failed)
    base = arms[0] if arms[0].error is None and arms[0].round_s else None
    rows = []
    for arm in arms:
        row = _row(job, entry, arm.setting, batch=arm.batch, size=side, net_size=net_side, out_size=out_side,
                   batch_requested=requested, weights=common["weights"], status=arm.error or "ok")
        if arm.notes:
            row["note"] = "; ".join(arm.notes + [f"ran at batch {arm.batch}"])
        chosen = getattr(arm.call, "fast", None)
        if chosen:
            row["note"] = "; ".join(filter(None, [f"fast: {chosen['setting']} (budget {chosen['budget']})",
                                                  row.get("note")]))
        if arm.error is None and arm.round_s:
            stats = arm.stats()
            gflops, ips = common["gflops"], stats["images_per_s"]
            peak = device_peak_tflops(device_name, arm.setting.dtype, job.peak_tflops) if cuda else None
            row.update(stats, mpix_per_s=float(f"{out_side * out_side * ips / 1e6:.5g}"), peak_mem_mib=arm.peak_mem_mib,
                       mem_scope="cuda allocator" if cuda else ("child process" if job.isolated else None),
                       params_m=common["params_m"], gflops_per_image=None if gflops is None else float(f"{gflops:.4g}"),
                       tflops=None if gflops is None else round(gflops * ips / 1000, 4), peak_tflops=peak,
                       pct_of_peak=None if gflops is None or not peak else round(100 * gflops * ips / 1000 / peak, 2))
            if base is not None and arm is not base:
                row.update(speedup(arm, base))
                if base.out is not None and arm.out is not None and base.out.shape[0] == arm.out.shape[0]:
                    row["max_abs_diff_grey"], row["psnr_vs_eager_db"] = output_difference(
                        base.out, arm.out, entry.processing.out_range)
        rows.append(row)
    return rows, (base.out if base is not None else None)


def measure_model(job: ModelJob) -> dict[str, Any]:
    """All rows (per size and batch size, baseline first) and speed samples for one model; never raises."""
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
    params_m = round(sum(p.numel() for p in pipeline.model.parameters()) / 1e6, 6)
    device_name = torch.cuda.get_device_name(torch.device(job.device)) if cuda else "cpu"
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    measured: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
    for size in job.sizes:
        sides = network_sides(entry, pipeline, size)
        if sides in measured:  # rounded to the same side as an earlier size: its rows stand for this one too
            for row in measured[sides]:
                row["note"] = "; ".join(filter(None, [row.get("note"), f"also the requested {size} px (inputs are "
                                                      f"rounded to a multiple of {entry.processing.size_multiple})"]))
            continue
        measured[sides] = mine = []
        gflops = count_gflops(pipeline.model, input_batch(entry, sides[1], 1, job.seed).to(job.device))
        common = {"gflops": gflops, "params_m": params_m, "weights": weights}
        for requested in job.batch_sizes:
            more, out = _measure_batch(job, entry, pipeline, requested, sides, common=common, cuda=cuda,
                                       device_name=device_name)
            rows.extend(more)
            mine.extend(more)
            if out is not None and job.samples and not weights.startswith("random") and not samples:
                samples.append(speed_sample(job, entry, sides[1], out))
    return {"rows": rows, "samples": samples}


def speed_sample(job: ModelJob, entry, side: int, out) -> dict[str, Any]:
    """The baseline's output on the first bundled view, as an image-grid sample (no reference)."""
    x = input_batch(entry, side, 1, job.seed)
    return grid_sample(job.name, "bundled astronaut (speed input)", tensor_to_pil(x[0], entry.processing.value_range),
                       tensor_to_pil(out[0], entry.processing.out_range), None)
