"""``zoo demo``: the main job on an embedded default, offline.

Upscales a bundled low-resolution sample 4x with a super-resolution entry, writes the result beside a
bicubic baseline and prints one line: PSNR/SSIM against the bundled ground truth, and the time taken.
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

DEFAULT_MODEL = "realesr-animevideov3"


def _asset(name: str) -> Path:
    return Path(str(resources.files("zoo") / "assets" / name))


def run_demo(model_name: str, output: Path, device: str | None = None, dtype: str | None = None) -> str:
    import numpy as np
    from PIL import Image

    from .api import load
    from .images import read_image, save_image
    from .metrics.psnr_ssim import psnr, ssim

    lr = read_image(_asset("astronaut_lr_x4.png"))
    hr = read_image(_asset("astronaut_hr.png"))
    model = load(model_name, device=device, dtype=dtype)
    scale = model.processing.scale
    start = time.perf_counter()
    sr = model(lr, outscale=4 if scale != 4 else None)
    seconds = time.perf_counter() - start
    bicubic = np.asarray(Image.fromarray(lr).resize((hr.shape[1], hr.shape[0]), Image.BICUBIC))
    output.mkdir(parents=True, exist_ok=True)
    save_image(sr, output / f"astronaut_x4_{model_name}.png")
    save_image(bicubic, output / "astronaut_x4_bicubic.png")
    scores = {label: (psnr(img, hr, crop_border=4, test_y_channel=True), ssim(img, hr, crop_border=4, test_y_channel=True))
              for label, img in (("model", sr), ("bicubic", bicubic))}
    return (f"{model_name}: {lr.shape[1]}x{lr.shape[0]} -> {sr.shape[1]}x{sr.shape[0]} in {seconds:.2f}s on "
            f"{model.device} ({model.weights.origin if model.weights else 'no weights'}); PSNR/SSIM (Y, crop 4) "
            f"{scores['model'][0]:.2f} dB/{scores['model'][1]:.4f} vs bicubic {scores['bicubic'][0]:.2f} dB/"
            f"{scores['bicubic'][1]:.4f}; wrote {output}/")


def cmd_demo(args: argparse.Namespace) -> int:
    print(run_demo(args.model, Path(args.output), args.device, args.dtype))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="upscale a bundled sample 4x with a real SR model, offline; print PSNR and time")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"super-resolution entry (default {DEFAULT_MODEL})")
    p.add_argument("-o", "--output", default="demo-out", help="output folder (default demo-out)")
    p.add_argument("--device")
    p.add_argument("--dtype")
    p.set_defaults(func=cmd_demo)
