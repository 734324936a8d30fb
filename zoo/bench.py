"""``zoo bench``: throughput and memory of catalog models side by side (timm ``benchmark.py`` style).

Speed does not depend on weight values, so models are built with random weights unless ``--pretrained``.
Each model: warm-up runs, then timed runs (CUDA synchronised), images/s, ms/image, peak device memory
(CUDA only: a process-wide CPU peak cannot be told apart per model, so it is left empty), parameter count.
Results go to a CSV with machine info.
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path
from typing import Any


def _machine() -> dict[str, str]:
    import torch

    info = {"torch": torch.__version__, "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
            "threads": str(torch.get_num_threads())}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = str(torch.version.cuda)
    return info


def bench_model(name: str, *, size: int, batch: int, device: str, dtype: str, warmup: int, iters: int,
                pretrained: bool, channels_last: bool, backend: str = "eager") -> dict[str, Any]:
    import torch

    from .api import load

    pipeline = load(name, pretrained=pretrained, device=device, dtype=dtype, backend=backend)
    model, p = pipeline.model, pipeline.processing
    side = max(size, p.size_multiple) // p.size_multiple * p.size_multiple
    x = torch.rand(batch, p.channels, side, side, device=pipeline.device, dtype=pipeline.dtype)
    lo, hi = p.value_range
    x = x * (hi - lo) + lo
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    cuda = pipeline.device.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(pipeline.device)

    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats(pipeline.device)
        start = time.perf_counter()
        for _ in range(iters):
            model(x)
        sync()
        elapsed = time.perf_counter() - start
    peak_mib = round(torch.cuda.max_memory_allocated(pipeline.device) / 2**20, 1) if cuda else None
    images = batch * iters
    return {"model": name, "task": pipeline.entry.task, "size": side, "out_size": side * p.scale, "batch": batch,
            "device": str(pipeline.device), "dtype": str(pipeline.dtype).replace("torch.", ""),
            "channels_last": channels_last, "backend": backend, "images_per_s": round(images / elapsed, 3),
            "ms_per_image": round(1000 * elapsed / images, 2), "peak_mib": peak_mib,
            "params_m": round(sum(t.numel() for t in model.parameters()) / 1e6, 3),
            "weights": "pretrained" if pretrained else "random"}


def cmd_bench(args: argparse.Namespace) -> int:
    from .api import list_models
    from .hub import atomic_path

    names = [n for pattern in args.models for n in list_models(pattern)]
    if not names:
        print(f"no catalog entry matches {args.models}", file=sys.stderr)
        return 1
    rows = []
    for name in dict.fromkeys(names):
        try:
            row = bench_model(name, size=args.size, batch=args.batch, device=args.device or "cpu", dtype=args.dtype,
                              warmup=args.warmup, iters=args.iters, pretrained=args.pretrained,
                              channels_last=args.channels_last, backend=args.backend)
        except Exception as exc:  # noqa: BLE001 - record and go on, like timm's benchmark (OOM, missing weights)
            row = {"model": name, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
        rows.append(row)
        print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.csv:
        out = Path(args.csv)
        machine = _machine()
        keys = list(dict.fromkeys(k for r in rows for k in r)) + list(machine)
        with atomic_path(out) as tmp, open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys)
            writer.writeheader()
            for r in rows:
                writer.writerow({**r, **machine})
        print(f"wrote {out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="throughput and memory of models side by side")
    p.add_argument("models", nargs="+", help="names or globs, e.g. 'realesr*' 'cyclegan-horse2zebra'")
    p.add_argument("--size", type=int, default=256, help="input side in pixels (rounded to the size multiple)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--device", help="cpu (default) or cuda")
    p.add_argument("--dtype", default="fp32", help="fp32, fp16, bf16")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--backend", default="eager", choices=["eager", "compile", "onnxruntime"],
                   help="what runs the network (zoo.load(..., backend=...))")
    p.add_argument("--pretrained", action="store_true", help="load real weights (default: random, same speed)")
    p.add_argument("--csv", help="write the table here")
    p.set_defaults(func=cmd_bench)
