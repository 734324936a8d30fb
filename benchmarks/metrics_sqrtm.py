"""Frechet distance at d=2048: the zoo's symmetric-eigen trace sqrt vs scipy.linalg.sqrtm (pytorch-fid).

Synthetic pool3-like statistics (correlated ReLU features, float64): a well-conditioned case
(n > d) and a singular one (n < d, as with small image-to-image test sets). For each case it prints
the median wall time of ``zoo.metrics.stats.frechet_distance`` and of
``pytorch_fid.fid_score.calculate_frechet_distance`` (scipy ``sqrtm``), interleaved, and the FID
difference between them.

    python benchmarks/metrics_sqrtm.py [--dims 2048] [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zoo.metrics.stats import frechet_distance  # noqa: E402


def moments(n: int, d: int, seed: int, shift: float):
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(1234).normal(size=(d, d)) / np.sqrt(d)
    x = np.maximum(rng.normal(size=(n, d)) @ mix + shift, 0)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="device for the zoo's eigen method (scipy is CPU only)")
    args = parser.parse_args()
    from pytorch_fid.fid_score import calculate_frechet_distance

    d = args.dims
    print(f"d={d}, torch threads {torch.get_num_threads()}, zoo on {args.device}, median of {args.repeats}")
    print(f"{'case':24s} {'zoo eigh s':>10s} {'scipy sqrtm s':>14s} {'speed-up':>9s} {'FID':>12s} {'FID zoo - scipy':>16s}")
    for label, n in (("n=2.5d (well-conditioned)", int(2.5 * d)), ("n=d/2 (singular)", d // 2)):
        mu1, s1 = moments(n, d, 1, 0.0)
        mu2, s2 = moments(n, d, 2, 0.05)
        ours_t, ref_t = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ours = frechet_distance(mu1, s1, mu2, s2, device=args.device)
            ours_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy >= 1.16 deprecates the disp= argument
                ref = calculate_frechet_distance(mu1, s1, mu2, s2)
            ref_t.append(time.perf_counter() - start)
        o, r = statistics.median(ours_t), statistics.median(ref_t)
        print(f"{label:24s} {o:10.2f} {r:14.2f} {r / o:8.2f}x {ours:12.6f} {ours - ref:16.2e}")


if __name__ == "__main__":
    main()
