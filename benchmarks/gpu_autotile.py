"""CUDA auto-tiling check: a large input through ``tile="auto"`` vs whole, peak memory and difference.

    python benchmarks/gpu_autotile.py --device cuda --size 1024 --out results/gpu-h200/autotile.json

Random weights (speed and memory do not depend on them). Prints and writes: the tile size chosen from
free memory, peak allocated MiB with and without tiling, seconds, and the max difference in grey levels
between the tiled and the whole result (tiles overlap by ``tile_pad``; RRDB needs pad >= 40 for 0 levels).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]

import zoo  # noqa: E402


def run(pipeline, x, **options) -> tuple[torch.Tensor | None, float, float | None, str]:
    cuda = pipeline.device.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        out = pipeline.process(x, **options)
    except torch.cuda.OutOfMemoryError as exc:
        return None, time.perf_counter() - start, None, f"out of memory: {str(exc).splitlines()[0]}"
    if cuda:
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return out, time.perf_counter() - start, peak, "ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="realesrgan-x4plus")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tile-pad", type=int, default=40)
    parser.add_argument("--out", help="write the result as JSON here")
    args = parser.parse_args()
    torch.manual_seed(0)
    pipeline = zoo.load(args.model, pretrained=False, device=args.device, tile_pad=args.tile_pad)
    x = torch.rand(1, 3, args.size, args.size)
    tile = pipeline.auto_tile(x)
    tiled, t_tiled, peak_tiled, status_tiled = run(pipeline, x, tile="auto")
    whole, t_whole, peak_whole, status_whole = run(pipeline, x, tile=0)
    diff = None
    if tiled is not None and whole is not None:
        diff = float((tiled.cpu() - whole.cpu()).abs().max()) * 255
    result = {"model": args.model, "device": str(pipeline.device), "input": args.size, "auto_tile": tile,
              "tile_pad": args.tile_pad, "tiled": {"seconds": round(t_tiled, 3), "peak_mib": peak_tiled,
                                                   "status": status_tiled},
              "whole": {"seconds": round(t_whole, 3), "peak_mib": peak_whole, "status": status_whole},
              "max_diff_grey": diff}
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if status_tiled == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
