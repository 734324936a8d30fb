"""Fast CPU path: images/s of each backend against fp32 eager, side by side in one run.

    python benchmarks/fast_cpu_path.py [--threads 2] [--iters 5] [--repeats 2] [--quick]

For the CycleGAN generator (cyclegan-horse2zebra, 256x256) and RRDBNet (realesrgan-x4plus, 128x128 and
one 256x256 round) it times the whole pipeline call (pre/post-processing included) of:
``eager`` (fp32), ``eager-cl`` (channels_last), ``compile`` (torch.compile/inductor, channels_last,
freezing), ``compile-nofreeze``,
``ort-all`` / ``ort-basic`` (onnxruntime, graph optimisation ALL / BASIC, intra-op threads = --threads).
All variants share the same (seeded random) weights; speed does not depend on their values.
Calls are interleaved (one call of each backend per round, rotating the order) so machine load hits
them alike, and the whole measurement is repeated ``--repeats`` times to show the noise. Outputs are
compared with eager's in 8-bit grey levels. Writes benchmarks/results/fast-cpu-path.{csv,md}.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

import zoo  # noqa: E402
from results_io import parse_cases, run_line, write_csv, write_markdown  # noqa: E402
from zoo.inference.backends import wrap_backend  # noqa: E402

CASES = [("cyclegan-horse2zebra", 256), ("realesrgan-x4plus", 128), ("realesrgan-x4plus", 256)]
VARIANTS = {
    "eager": ("eager", {}),
    "eager-cl": ("eager-cl", {}),
    "compile": ("compile", {"channels_last": True}),
    "compile-nofreeze": ("compile", {"channels_last": True, "freezing": False}),
    "ort-all": ("onnxruntime", {"graph_optimization": "all"}),
    "ort-basic": ("onnxruntime", {"graph_optimization": "basic"}),
}


class ChannelsLast(torch.nn.Module):
    """Eager with channels_last weights and inputs (what torch.backends.mkldnn picks up on CPU)."""

    backend = "eager-cl"

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.contiguous(memory_format=torch.channels_last)).contiguous()


def build(name: str, variants: list[str], threads: int):
    torch.manual_seed(0)
    eager = zoo.load(name, pretrained=False, device="cpu")
    pipelines = {}
    for variant in variants:
        kind, options = VARIANTS[variant]
        net = copy.deepcopy(eager.model)
        if kind == "eager":
            wrapped = net
        elif kind == "eager-cl":
            wrapped = ChannelsLast(net)
        else:
            options = {**options, "threads": threads} if kind == "onnxruntime" else options
            start = time.perf_counter()
            wrapped = wrap_backend(net, eager.entry, kind, options=options)
            print(f"  {variant}: prepared in {time.perf_counter() - start:.1f}s", flush=True)
        pipelines[variant] = type(eager)(wrapped, eager.entry, device="cpu")
    return pipelines


def grey(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round()


def measure(pipelines: dict, size: int, iters: int, warmup: int) -> dict[str, dict]:
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    outputs = {}
    for name, pipe in pipelines.items():  # warm-up (compilation, first-run allocations), and outputs
        for _ in range(max(1, warmup)):
            outputs[name] = pipe.process(x)
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    order = list(pipelines)
    for i in range(iters):
        for name in order[i % len(order):] + order[: i % len(order)]:
            start = time.perf_counter()
            pipelines[name].process(x)
            times[name].append(time.perf_counter() - start)
    ref = grey(outputs["eager"])
    return {name: {"median_s": statistics.median(t), "min_s": min(t),
                   "grey_diff": float((grey(outputs[name]) - ref).abs().max())} for name, t in times.items()}


def write_results(rows: list[dict], args: argparse.Namespace, cases: list, variants: list[str], load_before) -> None:
    """Write the CSV and the markdown table (after every case, so a long run leaves partial results)."""
    out = Path(args.out)
    write_csv(out.with_suffix(".csv"), rows)
    lines = ["# Fast CPU path: backends vs fp32 eager", "",
             f"{run_line('fast_cpu_path.py', args.threads, load_before, onnxruntime=True)}. Whole pipeline call, "
             "batch 1, median of interleaved calls; speedup = eager median / variant median, per repeat.", "",
             "| model | size | variant | " + " | ".join(f"img/s (run {r})" for r in range(1, args.repeats + 1))
             + " | " + " | ".join(f"speedup (run {r})" for r in range(1, args.repeats + 1)) + " | max grey-level diff |",
             "|---|---|---|" + "---|" * (2 * args.repeats + 1)]
    for name, size in cases:
        for variant in variants:
            rs = [r for r in rows if r["model"] == name and r["size"] == size and r["variant"] == variant]
            lines.append(f"| {name} | {size} | {variant} | " + " | ".join(str(r["images_per_s"]) for r in rs) + " | "
                         + " | ".join(f"{r['speedup_vs_eager']}x" for r in rs) + f" | {max(r['max_grey_level_diff'] for r in rs):g} |")
    write_markdown(out.with_suffix(".md"), lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--iters-rrdb-256", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--variants", default="eager,eager-cl,compile,ort-all,ort-basic")
    parser.add_argument("--quick", action="store_true", help="CycleGAN only, for a smoke run")
    parser.add_argument("--cases", help="NAME:SIZE,... instead of the default cases (e.g. realesrgan-x4plus:128)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fast-cpu-path"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = args.variants.split(",")
    assert variants[0] == "eager", "eager must come first (the reference)"
    rows = []
    load_before = os.getloadavg()
    cases = CASES[:1] if args.quick else CASES
    if args.cases:
        cases = parse_cases(args.cases)
    built: dict[str, dict] = {}
    for name, size in cases:
        if name not in built:
            print(f"{name}: preparing {', '.join(variants)}", flush=True)
            built[name] = build(name, variants, args.threads)
        iters = args.iters_rrdb_256 if (name.startswith("realesrgan") and size >= 256) else args.iters
        for repeat in range(1, args.repeats + 1):
            result = measure(built[name], size, iters, args.warmup if repeat == 1 else 0)
            base = result["eager"]["median_s"]
            for variant, r in result.items():
                row = {"model": name, "size": size, "repeat": repeat, "variant": variant, "iters": iters,
                       "median_s": round(r["median_s"], 4), "min_s": round(r["min_s"], 4),
                       "images_per_s": round(1 / r["median_s"], 3), "speedup_vs_eager": round(base / r["median_s"], 2),
                       "max_grey_level_diff": r["grey_diff"], "threads": args.threads}
                rows.append(row)
                print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            write_results(rows, args, [c for c in cases if any(r["model"] == c[0] and r["size"] == c[1] for r in rows)],
                          variants, load_before)
    write_results(rows, args, [c for c in cases], variants, load_before)
    print(f"wrote {Path(args.out).with_suffix('.csv')} and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
