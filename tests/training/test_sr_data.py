"""SR training data: LR/HR alignment (on-the-fly MATLAB imresize and HR/LR folder pairs), augmentation,
and the Real-ESRGAN-style degradation's output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.metrics.psnr_ssim import psnr
from zoo_sr.data import SRDataset, degrade
from zoo_sr.imresize import imresize


def _photo(shared_dir: Path) -> np.ndarray:
    path = shared_dir / "data" / "sr_train" / "T91" / "t1.bmp"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return np.asarray(Image.open(path).convert("RGB"))[:66, :66]


@pytest.mark.shared
@pytest.mark.parametrize("layout", ["hr-only", "hr-lr-folders"])
def test_patches_are_aligned(layout: str, shared_dir: Path, tmp_path: Path) -> None:
    hr = _photo(shared_dir)
    (tmp_path / "HR").mkdir()
    Image.fromarray(hr).save(tmp_path / "HR" / "0001.png")
    if layout == "hr-lr-folders":
        (tmp_path / "LR").mkdir()
        Image.fromarray(imresize(hr, 1 / 3)).save(tmp_path / "LR" / "0001x3.png")  # DIV2K-style name
        root = tmp_path
    else:
        root = tmp_path / "HR"
    data = SRDataset(root, scale=3, patch_size=36, flip=True, rotate=True)
    assert len(data) == 1
    for seed in range(4):
        item = data[(0, seed)]
        lr, hr_patch = item["lr"], item["hr"]
        assert lr.shape == (3, 12, 12) and hr_patch.shape == (3, 36, 36)
        down = imresize(hr_patch.double(), 1 / 3)
        # away from the patch border (where imresize mirrors) the patch's own downscale is the LR patch
        assert psnr(down[:, 2:-2, 2:-2].numpy(), lr[:, 2:-2, 2:-2].double().numpy(), input_order="CHW",
                    data_range=1.0) > 35
    again = SRDataset(root, scale=3, patch_size=36)[(0, 3)]
    assert np.array_equal(again["lr"].numpy(), data[(0, 3)]["lr"].numpy())  # per-item seeds: reproducible


@pytest.mark.shared
def test_luma_channel_and_degradation(shared_dir: Path, tmp_path: Path) -> None:
    hr = _photo(shared_dir)
    Image.fromarray(hr).save(tmp_path / "a.png")
    y = SRDataset(tmp_path, scale=3, patch_size=36, channels="y")[(0, 1)]
    assert y["lr"].shape == (1, 12, 12) and 16 / 255 - 1e-6 <= float(y["lr"].min()) <= float(y["lr"].max()) <= 235 / 255 + 1e-6
    out = degrade(hr[:48, :48], 4, np.random.default_rng(0))
    assert out.shape == (12, 12, 3) and out.dtype == np.uint8
    other = degrade(hr[:48, :48], 4, np.random.default_rng(1))
    assert not np.array_equal(out, other)
    item = SRDataset(tmp_path, scale=4, patch_size=48, degradation="realesrgan")[(0, 0)]
    assert item["lr"].shape == (3, 12, 12) and item["hr"].shape == (3, 48, 48)


def _pair(root: Path, hr: tuple[int, int], lr: tuple[int, int]) -> Path:
    for sub, size in (("HR", hr), ("LR", lr)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size).save(root / sub / "0.png")
    return root


@pytest.mark.parametrize("hr, lr, ok", [((64, 64), (32, 32), True), ((65, 65), (32, 32), True),
                                        ((64, 64), (20, 20), False), ((64, 64), (40, 40), False)])
def test_pairs_at_another_scale_are_refused_before_training(tmp_path: Path, hr, lr, ok) -> None:
    """HR must be 2x LR (a modcrop's remainder allowed): a 3.2x pair used to train on a corner, silently."""
    from zoo.training import TrainingError
    from zoo_sr.data import validation_pairs

    root = _pair(tmp_path / "pairs", hr, lr)
    if ok:
        assert len(SRDataset(root, scale=2, patch_size=16)) == 1 and len(validation_pairs(root, 2)) == 1
        return
    message = rf"HR/0.png \({hr[0]}x{hr[1]}\) is not 2x .*LR/0.png \({lr[0]}x{lr[1]}\)"
    with pytest.raises(TrainingError, match=message):
        SRDataset(root, scale=2, patch_size=16)
    with pytest.raises(TrainingError, match=message):
        validation_pairs(root, 2)


def test_unreadable_images_and_small_images_are_found_before_training(tmp_path: Path) -> None:
    from zoo.training import TrainingError

    (tmp_path / "hr").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "hr" / "a.png")
    (tmp_path / "hr" / "b.png").write_text("not an image")
    with pytest.raises(TrainingError, match=r"cannot read image .*b\.png"):
        SRDataset(tmp_path / "hr", scale=2, patch_size=16)
    (tmp_path / "hr" / "b.png").unlink()
    with pytest.raises(TrainingError, match=r"a\.png: 40x40 is smaller than the patch \(patch_size 64\)"):
        SRDataset(tmp_path / "hr", scale=2, patch_size=64)
