"""The committed ESPCN x3 weights (trained by benchmarks/train_espcn_t91.py) load by name and reproduce the
catalog's Set5 x3 PSNR-Y; tiling with the entry's tile_pad is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.metrics.psnr_ssim import psnr, to_y_channel
from zoo_sr.data import rgb_to_y


@pytest.mark.shared
def test_espcn_t91_reproduces_its_catalog_metric(shared_path) -> None:
    folder: Path = shared_path("data/sr_bench/Set5/image_SRF_3")
    pipe = zoo.load("espcn-x3-t91", device="cpu")
    assert pipe.weights.origin == "local"
    expected = next(m["value"] for m in pipe.entry.metrics  # this project's own number (kind: recorded)
                    if m["dataset"] == "Set5 x3" and m.get("kind") == "recorded")
    scores = []
    for hr_file in sorted(folder.glob("*_HR.png")):
        hr = np.asarray(Image.open(hr_file).convert("RGB"))
        lr = np.asarray(Image.open(hr_file.with_name(hr_file.name.replace("_HR", "_LR"))).convert("RGB"))
        with torch.inference_mode():
            y = pipe.model(torch.from_numpy(rgb_to_y(lr).transpose(2, 0, 1).copy())[None])
        scores.append(psnr(y[0, 0].clamp(0, 1).double().numpy() * 255.0, to_y_channel(hr), crop_border=3))
    assert float(np.mean(scores)) == pytest.approx(expected, abs=0.006)
    assert float(np.mean(scores)) >= 32.0
    whole = np.asarray(pipe(Image.fromarray(lr)))
    tiled = np.asarray(pipe(Image.fromarray(lr), tile=48))
    assert whole.shape == (lr.shape[0] * 3, lr.shape[1] * 3, 3) and np.array_equal(whole, tiled)
