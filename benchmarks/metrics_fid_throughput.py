"""FID feature extraction speed: zoo.metrics vs pytorch-fid on the same PNG files, device and weights.

Both sides use identical seeded random Inception weights (the real file is not downloadable
everywhere; speed does not depend on the values). pytorch-fid reads them from a private TORCH_HOME
seeded under the official file name. Measured, each as images/second (median of ``--repeats``,
the two implementations interleaved so machine load affects both alike):

* ``folder``: the whole path from PNG files: decode (DataLoader), resize, Inception, pool3 features.
  pytorch-fid: ``fid_score.get_activations``; zoo: ``InceptionFeatures`` fed by ``image_batches``.
* ``tensor``: features of already decoded uint8 images only (model + resize), no file decoding.

Also printed: the relative L2 difference of the two feature sets (pytorch-fid flavour, should be ~1e-7),
and on CUDA the zoo's bf16 fast mode (throughput and feature difference from the fp32 reference).

    python benchmarks/metrics_fid_throughput.py [--images 64] [--size 256] [--batch-size 32] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zoo.metrics.data import image_batches, list_images  # noqa: E402
from zoo.metrics.inception import InceptionFeatures  # noqa: E402
from zoo.metrics.random_weights import random_inception_state_dict  # noqa: E402
from zoo.metrics.weights import FID_INCEPTION  # noqa: E402


def write_pngs(folder: Path, count: int, size: int) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(count):
        base = 127 + 90 * np.sin(xx[..., None] / rng.uniform(4, 20) + rng.uniform(0, 6, 3)) * np.cos(yy[..., None] / 9)
        img = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"{i:05d}.png")
    return list_images(folder)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device) -> tuple[float, object]:
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--size", type=int, default=256, help="side of the generated square PNGs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for both implementations")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    work = Path(tempfile.mkdtemp(prefix="fidbench-"))
    os.environ["TORCH_HOME"] = str(work / "torch")
    (work / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    (work / "images").mkdir()
    sd = random_inception_state_dict(0)
    torch.save(sd, work / "torch" / "hub" / "checkpoints" / FID_INCEPTION.file_name)
    files = write_pngs(work / "images", args.images, args.size)

    from pytorch_fid import fid_score
    from pytorch_fid.inception import InceptionV3

    theirs = InceptionV3([3]).to(device).eval()
    ours = InceptionFeatures("pytorch-fid", state_dict=sd, device=device)
    decoded = torch.stack([b for batch in image_batches(files, batch_size=args.batch_size) for b in batch])

    def theirs_folder():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fid_score.get_activations([str(f) for f in files], theirs, args.batch_size, 2048, str(device),
                                             args.workers)

    def ours_folder():
        feats = [ours(b) for b in image_batches(files, batch_size=args.batch_size, workers=args.workers,
                                                 device=device)]
        return torch.cat(feats).cpu().numpy()

    @torch.inference_mode()
    def theirs_tensor():
        return torch.cat([theirs(b.to(device).float() / 255)[0].flatten(1)
                          for b in decoded.split(args.batch_size)]).cpu().numpy()

    def ours_tensor():
        return torch.cat([ours(b) for b in decoded.split(args.batch_size)]).cpu().numpy()

    ours_tensor(), theirs_tensor()  # warm-up (allocator, cuDNN / oneDNN plans)
    rows = {}
    for name, pair in (("folder", (theirs_folder, ours_folder)), ("tensor", (theirs_tensor, ours_tensor))):
        times = {"pytorch-fid": [], "zoo": []}
        outs = {}
        for _ in range(args.repeats):
            for label, fn in zip(("pytorch-fid", "zoo"), pair):
                seconds, outs[label] = timed(fn, device)
                times[label].append(seconds)
        rel = float(np.linalg.norm(outs["zoo"] - outs["pytorch-fid"]) / np.linalg.norm(outs["pytorch-fid"]))
        rows[name] = ({k: args.images / statistics.median(v) for k, v in times.items()}, rel)

    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"torch threads {torch.get_num_threads()}, {args.images} PNGs {args.size}x{args.size}, "
          f"batch {args.batch_size}, workers {args.workers}, median of {args.repeats}")
    print(f"{'path':8s} {'pytorch-fid img/s':>18s} {'zoo img/s':>10s} {'zoo/pytorch-fid':>16s} {'feature rel diff':>17s}")
    for name, (speed, rel) in rows.items():
        print(f"{name:8s} {speed['pytorch-fid']:18.2f} {speed['zoo']:10.2f} {speed['zoo'] / speed['pytorch-fid']:16.3f} "
              f"{rel:17.2e}")
    if device.type == "cuda":
        fast = InceptionFeatures("pytorch-fid", state_dict=sd, device=device, precision="bf16")
        fast_fn = lambda: torch.cat([fast(b) for b in decoded.split(args.batch_size)]).cpu().numpy()  # noqa: E731
        fast_fn()
        seconds = statistics.median(timed(fast_fn, device)[0] for _ in range(args.repeats))
        ref = ours_tensor()
        rel = float(np.linalg.norm(fast_fn() - ref) / np.linalg.norm(ref))
        print(f"zoo bf16 fast mode (tensor path): {args.images / seconds:.1f} img/s, feature rel diff vs fp32 {rel:.2e}")


if __name__ == "__main__":
    main()
