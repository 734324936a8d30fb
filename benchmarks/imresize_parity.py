"""How closely ``zoo_sr.imresize`` reproduces the MATLAB-made LR images of the SR benchmarks.

For every set and scale under ``<shared>/data/sr_bench`` it downsizes each ``*_HR.png`` (RGB uint8)
by 1/scale and compares with the matching ``*_LR.png``. Two variants are measured:

* ``uint8``  — imresize on the uint8 image, rounding after each pass (what MATLAB does for uint8);
* ``double`` — imresize on the image as float64, rounded once at the end (MATLAB on ``double(img)``).

Columns: mean PSNR over the images (dB), percentage of values within one grey level and exactly
equal (pooled over the set), and the percentage of differing values more than ``border`` pixels
away from the image edge (1 for x2/x3, 2 for x4).

    python benchmarks/imresize_parity.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))  # runs from a checkout without installing

from zoo_sr.imresize import imresize  # noqa: E402


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), 0, 255).astype(np.uint8)


def measure(folder: Path, scale: int, variant: str) -> dict[str, float]:
    border = 1 if scale < 4 else 2
    psnrs, within, equal, interior, total, interior_total = [], 0, 0, 0, 0, 0
    for hr_file in sorted(folder.glob("*_HR.png")):
        hr = _rgb(hr_file)
        lr = _rgb(hr_file.with_name(hr_file.name.replace("_HR", "_LR")))
        out = imresize(hr, 1 / scale) if variant == "uint8" else _round_half_away(imresize(hr.astype(np.float64), 1 / scale))
        diff = out.astype(np.int64) - lr
        mse = float(np.mean(diff.astype(np.float64) ** 2))
        psnrs.append(np.inf if mse == 0 else 10 * np.log10(255.0 ** 2 / mse))
        within += int(np.count_nonzero(np.abs(diff) <= 1))
        equal += int(np.count_nonzero(diff == 0))
        total += diff.size
        inner = diff[border:-border, border:-border]
        interior += int(np.count_nonzero(inner))
        interior_total += inner.size
    return {"images": len(psnrs), "psnr": float(np.mean(psnrs)), "min_psnr": float(np.min(psnrs)),
            "within1": 100.0 * within / total, "equal": 100.0 * equal / total,
            "interior_diff": 100.0 * interior / interior_total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")))
    args = parser.parse_args()
    root = args.shared / "data" / "sr_bench"
    if not root.is_dir():
        raise SystemExit(f"{root} not found: pass --shared or set ZOO_SHARED")
    print(f"{'set':<7} {'scale':>5} {'variant':<7} {'imgs':>4} {'PSNR':>7} {'min':>7} {'<=1 lvl':>8} "
          f"{'equal':>7} {'inner!=':>8} {'time':>6}")
    for dataset in ("Set5", "Set14", "BSD100"):
        for scale in (2, 3, 4):
            folder = root / dataset / f"image_SRF_{scale}"
            if not folder.is_dir():
                continue
            for variant in ("uint8", "double"):
                start = time.perf_counter()
                r = measure(folder, scale, variant)
                print(f"{dataset:<7} {'x%d' % scale:>5} {variant:<7} {r['images']:>4} {r['psnr']:>7.2f} "
                      f"{r['min_psnr']:>7.2f} {r['within1']:>7.3f}% {r['equal']:>6.2f}% {r['interior_diff']:>7.3f}% "
                      f"{time.perf_counter() - start:>5.2f}s")


if __name__ == "__main__":
    main()
