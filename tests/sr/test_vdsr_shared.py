"""The official pytorch-vdsr checkpoint (../shared/weights/vdsr) through the zoo, end to end."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.errors import WeightsError
from zoo.metrics.psnr_ssim import psnr, to_y_channel
from zoo.weights.serialization import load_checkpoint
from zoo_sr.imresize import imresize
from zoo_sr.vdsr import VDSR, VDSRPipeline, read_vdsr_checkpoint

pytestmark = pytest.mark.shared

CHECKPOINT = "weights/vdsr/model_epoch_50.pth"
SHA256 = "eab4d79ae5a6e5acef4c55e46015aed225ade207679bcb6695b07af8fb18e876"  # upstream master 514b021


def _rgb(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_official_checkpoint_loads_strictly(shared_path):
    path = shared_path(CHECKPOINT)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256
    state = read_vdsr_checkpoint(path)
    model = VDSR()
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state, strict=True)
    assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in state.values())
    with pytest.raises(WeightsError, match="refusing"):  # the core's weights_only loader rightly refuses it
        load_checkpoint(path)


def test_zoo_load_and_vdsr_beats_bicubic_on_butterfly(shared_path, zoo_manager):
    torch.set_num_threads(2)
    pipe = zoo.load("vdsr-x2x3x4", weights=shared_path(CHECKPOINT), device="cpu")
    assert isinstance(pipe, VDSRPipeline) and pipe.scale == 4
    folder = shared_path("data/sr_bench/Set5/image_SRF_2")
    hr = _rgb(folder / "img_003_SRF_2_HR.png")[96:224, 64:192]  # butterfly, 128 x 128
    lr = _rgb(folder / "img_003_SRF_2_LR.png")[48:112, 32:96]
    out = pipe(lr, scale=2)
    assert out.shape == hr.shape and out.dtype == np.uint8
    bicubic = np.clip(np.rint(imresize(lr.astype(np.float64), 2.0)), 0, 255)
    gain = psnr(out, hr, crop_border=2, test_y_channel=True) - psnr(bicubic, hr, crop_border=2, test_y_channel=True)
    assert gain > 5.0, f"VDSR gains only {gain:.2f} dB over bicubic on the butterfly crop"
    # the pipeline's luma is the network applied to the MATLAB-bicubic luma
    y_in = torch.from_numpy(to_y_channel(imresize(lr.astype(np.float64), 2.0)) / 255.0)[None, None].float()
    with torch.inference_mode():
        y_net = pipe.model(y_in).clamp(0, 1)[0, 0].numpy() * 255.0
    y_out = to_y_channel(out.astype(np.float64))
    assert np.abs(y_out - y_net)[4:-4, 4:-4].max() < 1.5  # only uint8 rounding of R, G, B in between


def test_catalog_entry_resolves_from_a_seeded_cache_offline(shared_path, zoo_manager):
    """A user behind a firewall copies the file to the cache path of the catalog URL; nothing is downloaded."""
    import shutil

    from zoo.weights.hub import cache_path_for

    spec = zoo.get_entry("vdsr-x2x3x4").weights[0]
    target = cache_path_for(spec.uri, spec.file_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_path(CHECKPOINT), target)
    pipe = zoo.load("vdsr-x2x3x4", offline=True, device="cpu")
    assert pipe.weights.path == target and pipe.weights.spec.format == "vdsr-legacy-pickle"
    state = read_vdsr_checkpoint(target)
    assert all(torch.equal(pipe.model.state_dict()[k], v) for k, v in state.items())
