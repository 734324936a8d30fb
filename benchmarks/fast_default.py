"""zoo.load(name, fast=True) against fp32 eager: one entry per family at two sizes, interleaved rounds.

    python benchmarks/fast_default.py [--threads 2] [--rounds 7] [--tune] [--cases NAME:SIZE,...] [--out PATH]

For each case it loads the entry twice, plain (fp32 eager) and with ``fast=True`` tuned for that size (the
first load of a case calibrates, a few seconds, and caches in ``$ZOO_HOME/tuning.json``; ``--tune`` runs
``zoo tune``'s full calibration first, so compile and onnxruntime are candidates too), then times the whole
pipeline call (pre/post-processing included, batch 1) on the bundled astronaut at that size: one call of
each per round, the order alternating, so machine load hits both alike. A row holds the median seconds of
each, the speedup (median of the per-round speedups, eager call / fast call of the same round), their
spread (25th-75th percentile), the setting chosen, and its output difference from fp32 eager on this input (PSNR, max grey
levels) beside what the calibration measured. Real weights where they are available offline, else seeded
random ones (same speed; their output difference is not the real weights'). Writes
benchmarks/results/fast-default.{csv,md} unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

import zoo  # noqa: E402
from results_io import parse_cases, run_line, write_csv, write_markdown  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.images.files import bundled_image  # noqa: E402
from zoo.inference import tuning  # noqa: E402
from zoo.inference.settings import output_difference  # noqa: E402

#: one entry per family (SR twice: the compact net and RRDBNet), two sizes each
CASES = [("cyclegan-horse2zebra", 128), ("cyclegan-horse2zebra", 256), ("realesr-animevideov3", 64),
         ("realesr-animevideov3", 128), ("realesrgan-x4plus", 64), ("realesrgan-x4plus", 128),
         ("fast-neural-style-candy", 128), ("fast-neural-style-candy", 256)]
GOAL = 2.0


def load_pair(name: str, size: int, tune: bool):
    """(plain fp32 eager pipeline, fast pipeline, 'pretrained'/'random')."""
    kwargs: dict = {"offline": True, "progress": False}
    try:
        plain = zoo.load(name, **kwargs)
        weights = "pretrained"
    except ZooError:
        torch.manual_seed(0)
        plain = zoo.load(name, pretrained=False)
        kwargs, weights = {"pretrained": False}, "random (seed 0)"
    if tune:
        torch.manual_seed(0)
        tuning.tune(name, size=size, progress=True, **kwargs)
    torch.manual_seed(0)
    fast = zoo.load(name, fast=True, fast_size=size, **{**kwargs, "progress": True})
    return plain, fast, weights


def astronaut(entry, size: int) -> torch.Tensor:
    image = Image.open(bundled_image("astronaut_hr.png")).convert("RGB" if entry.processing.channels == 3 else "L")
    array = np.asarray(image.resize((size, size), Image.BICUBIC), dtype=np.float32) / 255.0
    x = torch.from_numpy(array.copy())
    return (x[None] if x.ndim == 2 else x.permute(2, 0, 1))[None]


def measure(plain, fast, x: torch.Tensor, rounds: int, warmup: int) -> dict:
    pair = {"eager": plain, "fast": fast}
    outputs = {}
    for name, pipeline in pair.items():
        for _ in range(max(warmup, 1)):
            outputs[name] = pipeline.process(x)
    times: dict[str, list[float]] = {"eager": [], "fast": []}
    for r in range(rounds):
        for name in (("eager", "fast") if r % 2 == 0 else ("fast", "eager")):
            start = time.perf_counter()
            pair[name].process(x)
            times[name].append(time.perf_counter() - start)
    ratios = sorted(e / f for e, f in zip(times["eager"], times["fast"]))
    q = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else [ratios[0]] * 3
    grey, psnr = output_difference(outputs["eager"], outputs["fast"], (0.0, 1.0))
    return {"eager_median_s": statistics.median(times["eager"]), "fast_median_s": statistics.median(times["fast"]),
            "speedup": statistics.median(ratios),
            "speedup_p25": q[0], "speedup_p75": q[2], "max_grey": grey, "psnr_db": psnr}


def write(rows: list[dict], args: argparse.Namespace, load_before: tuple[float, ...]) -> None:
    out = Path(args.out)
    write_csv(out.with_suffix(".csv"), rows)
    lines = ["# zoo.load(fast=True) vs fp32 eager", "",
             f"{run_line('fast_default.py', args.threads, load_before)}. Whole pipeline call, batch 1, bundled astronaut; {args.rounds} interleaved "
             f"rounds; speedup = median of the per-round speedups (eager call / fast call of the same round), "
             f"spread = their 25th-75th percentile. Difference: fast output vs fp32 eager output on this input (and as calibrated). "
             f"Goal: >= {GOAL}x for the CycleGAN and SR generators within the default budget "
             f"({tuning.DEFAULT_BUDGET}).", "",
             "| model | size | weights | chosen | eager s | fast s | speedup | spread | PSNR dB | max grey | "
             "calibrated PSNR / grey | goal |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        goal = "-" if r["model"].startswith("fast-neural-style") else ("met" if r["speedup"] >= GOAL else "not met")
        lines.append(f"| {r['model']} | {r['size']} | {r['weights']} | {r['chosen']} | {r['eager_median_s']:.4f} | "
                     f"{r['fast_median_s']:.4f} | {r['speedup']:.2f}x | {r['speedup_p25']:.2f}-{r['speedup_p75']:.2f}x | "
                     f"{'identical' if r['psnr_db'] is None else r['psnr_db']} | {r['max_grey']:g} | "
                     f"{r['calibrated_psnr_db'] or 'identical'} / {r['calibrated_max_grey']} | {goal} |")
    write_markdown(out.with_suffix(".md"), lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--tune", action="store_true", help="run zoo tune's full calibration (compile, onnxruntime) first")
    parser.add_argument("--cases", help="NAME:SIZE,... instead of the default cases")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fast-default"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = parse_cases(args.cases) if args.cases else CASES
    load_before = os.getloadavg()
    rows = []
    for name, size in cases:
        print(f"{name} at {size} px", flush=True)
        plain, fast, weights = load_pair(name, size, args.tune)
        meta = fast.metadata["fast"]
        result = measure(plain, fast, astronaut(plain.entry, size), args.rounds, args.warmup)
        rows.append({"model": name, "size": size, "weights": weights, "chosen": meta["setting"], **result,
                     "calibrated_speedup": meta["speedup"], "calibrated_psnr_db": meta["psnr_db"],
                     "calibrated_max_grey": meta["max_grey"], "tried": " ".join(meta["tried"]),
                     "threads": args.threads})
        print("  " + ", ".join(f"{k}={round(v, 4) if isinstance(v, float) else v}" for k, v in rows[-1].items()),
              flush=True)
        write(rows, args, load_before)
    print(f"wrote {Path(args.out).with_suffix('.md')} and .csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
