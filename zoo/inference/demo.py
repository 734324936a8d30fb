"""The main job on an embedded default, offline (``zoo demo``).

Upscales a bundled low-resolution sample 4x with a super-resolution entry, writes the result beside a
bicubic baseline and returns one line: PSNR/SSIM against the bundled ground truth, and the time taken.
Any other entry (translation, style) is run on the bundled full-resolution sample and only timed: there is
no ground truth to score it against, so no PSNR is given.
"""

from __future__ import annotations

import time
from pathlib import Path

from zoo.images.files import bundled_image
from zoo.inference.loading import load
from zoo.registry.lookup import get_entry, task_matches

DEFAULT_MODEL = "realesr-animevideov3"


def run_demo(model_name: str, output: Path, device: str | None = None, dtype: str | None = None) -> str:
    import numpy as np  # heavy
    from PIL import Image  # heavy

    from zoo.images.io import read_image, save_image  # heavy
    from zoo.metrics.psnr_ssim import psnr, ssim  # heavy

    lr = read_image(bundled_image("astronaut_lr_x4.png"))
    hr = read_image(bundled_image("astronaut_hr.png"))
    if not task_matches("super-resolution", get_entry(model_name).task):
        return _run_other(model_name, hr, output, device, dtype)
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


def _run_other(model_name: str, image, output: Path, device: str | None, dtype: str | None) -> str:
    """A non-SR entry on the sample: output written and timed, nothing scored (there is no reference)."""
    from zoo.images.io import save_image  # heavy

    model = load(model_name, device=device, dtype=dtype)
    start = time.perf_counter()
    result = model(image)
    seconds = time.perf_counter() - start
    output.mkdir(parents=True, exist_ok=True)
    target = save_image(result, output / f"astronaut_{model_name}.png")
    width, height = result.shape[1::-1] if hasattr(result, "shape") else result.size
    return (f"{model_name} ({model.entry.task}): {image.shape[1]}x{image.shape[0]} -> {width}x{height} in "
            f"{seconds:.2f}s on {model.device} ({model.weights.origin if model.weights else 'no weights'}); "
            f"no PSNR/SSIM: a {model.entry.task} model has no ground truth to compare with; wrote {target}")
