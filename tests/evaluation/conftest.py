"""Tiny datasets in the zoo's layouts, written per test (a few 16-64 px images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from evaluation_images import noise, write_png


@pytest.fixture
def sr_folder(tmp_path) -> Path:
    """SelfExSR layout, x4: two 48x48 HR / 12x12 LR pairs (LR made by the zoo's MATLAB bicubic)."""
    from zoo_sr.datasets import matlab_bicubic_lr

    root = tmp_path / "Set5"
    for i in (1, 2):
        hr = noise(i, 48, 48)
        write_png(root / "image_SRF_4" / f"img_00{i}_SRF_4_HR.png", hr)
        write_png(root / "image_SRF_4" / f"img_00{i}_SRF_4_LR.png", matlab_bicubic_lr(hr, 4))
    return root


@pytest.fixture
def paired_folder(tmp_path) -> Path:
    """pix2pix layout: test/ with two side-by-side A|B images of 32x32 halves."""
    root = tmp_path / "facades"
    for i in (1, 2):
        write_png(root / "test" / f"{i}.jpg", np.concatenate([noise(i, 32, 32), noise(10 + i, 32, 32)], axis=1))
    return root


@pytest.fixture
def unpaired_folder(tmp_path) -> Path:
    root = tmp_path / "horse2zebra"
    for side in ("trainA", "trainB", "testA", "testB"):
        for i in range(3):
            write_png(root / side / f"{side}_{i}.png", noise(hash(side) % 1000 + i, 32, 32))
    return root
