"""VDSR (pytorch-vdsr ``model_epoch_50.pth``) on Set5 / Set14: PSNR on Y, ``scale`` pixels shaved.

Two ways of making the network's input, both scored the same way (Y of MATLAB ``rgb2ycbcr`` as
unrounded floats on 0..255, ``crop_border = scale`` as in upstream ``eval.py`` and the VDSR paper):

* ``lr-png``   — the paper-style benchmark: the MATLAB-made ``*_LR.png`` (uint8 RGB) is upscaled by our
  MATLAB-compatible bicubic ``imresize`` (float, unrounded) and run through :class:`VDSRPipeline`'s
  ``process`` (the user-facing path: RGB -> Y -> VDSR -> Y + bicubic CbCr);
* ``upstream`` — what pytorch-vdsr's ``data/generate_test_mat.m`` + ``eval.py`` do: the HR image as
  double -> YCbCr -> imresize 1/scale -> imresize scale, never rounded to uint8; VDSR on that Y.

    python benchmarks/vdsr_set5.py [--shared ../shared] [--sets Set5 Set14] [--scales 2 3 4] [--threads 2]

Published (Set5, Y, crop = scale): VDSR paper 37.53 / 33.66 / 31.35 (x2 / x3 / x4), bicubic 33.66 /
30.39 / 28.42; pytorch-vdsr README, this checkpoint with its ``.mat`` inputs: 37.65 / 33.77 / 31.45.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))  # runs from a checkout without installing

from zoo.registry.catalog import Entry, Processing  # noqa: E402
from zoo.metrics.psnr_ssim import psnr, ssim, to_y_channel  # noqa: E402
from zoo_sr.imresize import imresize  # noqa: E402
from zoo_sr.vdsr import VDSR, VDSRPipeline, read_vdsr_checkpoint, rgb_to_ycbcr  # noqa: E402


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _to_batch(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def _y255(batch: torch.Tensor) -> np.ndarray:
    """(1,3,H,W) RGB in [0,1] -> H x W luma on 0..255 (float)."""
    return to_y_channel(batch[0].permute(1, 2, 0).double().numpy() * 255.0)


def evaluate(pipe: VDSRPipeline, model: VDSR, hr: np.ndarray, lr: np.ndarray, scale: int, protocol: str
             ) -> tuple[float, float, float]:
    """(bicubic PSNR, VDSR PSNR, VDSR SSIM) on Y with ``scale`` pixels shaved."""
    gt_y = to_y_channel(hr)
    if protocol == "lr-png":
        x = _to_batch(lr)
        bicubic_y = _y255(imresize(x.double(), float(scale)))
        sr_y = _y255(pipe.process(x, outscale=float(scale)).double())
    else:  # upstream: YCbCr of the double HR, down and up in float, Y only
        ycc = rgb_to_ycbcr(_to_batch(hr).double())
        up = imresize(imresize(ycc, 1.0 / scale), float(scale))
        luma = up[:, :1]
        bicubic_y = luma[0, 0].numpy() * 255.0
        with torch.inference_mode():
            sr_y = model(luma.float()).clamp(0, 1)[0, 0].double().numpy() * 255.0
    assert bicubic_y.shape == gt_y.shape == sr_y.shape, (bicubic_y.shape, gt_y.shape, sr_y.shape)
    return (psnr(bicubic_y, gt_y, crop_border=scale), psnr(sr_y, gt_y, crop_border=scale),
            ssim(sr_y, gt_y, crop_border=scale))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")))
    parser.add_argument("--sets", nargs="+", default=["Set5"])
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--protocols", nargs="+", default=["lr-png", "upstream"], choices=["lr-png", "upstream"])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = args.shared / "weights" / "vdsr" / "model_epoch_50.pth"
    model = VDSR()
    model.load_state_dict(read_vdsr_checkpoint(weights), strict=True)
    model.eval()
    entry = Entry(name="vdsr-x2x3x4", task="super-resolution-y", architecture="vdsr",
                  processing=Processing(scale=4, channels=1))
    pipe = VDSRPipeline(model, entry, device="cpu")
    print(f"weights {weights}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    print(f"{'set':<6} {'scale':>5} {'protocol':<9} {'imgs':>4} {'bicubic':>8} {'VDSR':>8} {'SSIM':>7} {'time':>7}")
    for dataset in args.sets:
        for scale in args.scales:
            folder = args.shared / "data" / "sr_bench" / dataset / f"image_SRF_{scale}"
            if not folder.is_dir():
                print(f"{dataset:<6} {'x%d' % scale:>5}  (no {folder})")
                continue
            for protocol in args.protocols:
                start = time.perf_counter()
                rows = []
                for hr_file in sorted(folder.glob("*_HR.png")):
                    lr_file = hr_file.with_name(hr_file.name.replace("_HR", "_LR"))
                    rows.append(evaluate(pipe, model, _rgb(hr_file), _rgb(lr_file), scale, protocol))
                bic, sr, s = (float(np.mean(col)) for col in zip(*rows))
                print(f"{dataset:<6} {'x%d' % scale:>5} {protocol:<9} {len(rows):>4} {bic:>8.2f} {sr:>8.2f} "
                      f"{s:>7.4f} {time.perf_counter() - start:>6.1f}s", flush=True)


if __name__ == "__main__":
    main()
