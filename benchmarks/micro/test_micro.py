"""Hot paths: each family's generator forward, LPIPS, FID features, the Fréchet square root, tiled SR, decode.

Random weights throughout: speed does not depend on weight values, and the real metric backbones are not
downloadable everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

GENERATORS = {
    "translation": ["cyclegan-horse2zebra", "pix2pix-facades-label2photo"],
    "super-resolution": ["realesr-animevideov3", "realesrgan-x4plus", "vdsr-x2x3x4"],
    "style-transfer": ["fast-neural-style-candy", "style-transfer-wave"],
}
CASES = [pytest.param(name, marks=pytest.mark.benchmark(group=f"generator-{task}"), id=name)
         for task, names in GENERATORS.items() for name in names]


def _model_input(name: str, size: int, device: str):
    import zoo

    entry = zoo.get_entry(name)
    side = max(size, entry.processing.size_multiple)
    side -= side % entry.processing.size_multiple
    model = zoo.build_model(entry).eval().to(device)
    x = torch.rand(1, entry.processing.channels, side, side, device=device)
    return model, x, side


@pytest.mark.parametrize("name", CASES)
def test_generator_forward(run, benchmark, name, size, device):
    model, x, side = _model_input(name, size, device)
    benchmark.extra_info.update(model=name, size=side)
    with torch.inference_mode():
        out = run(model, x)
    assert torch.isfinite(out).all()


@pytest.mark.benchmark(group="super-resolution-tiling")
def test_tiled_sr(run, benchmark, size, device):
    import zoo

    pipeline = zoo.load("realesr-animevideov3", pretrained=False, device=device)
    x = torch.rand(1, 3, 2 * size, 2 * size)
    benchmark.extra_info.update(model="realesr-animevideov3", size=2 * size, tile=size, tile_pad=10)
    out = run(lambda t: pipeline.process(t, tile=size, tile_pad=10), x)
    assert out.shape[-1] == 8 * size


@pytest.mark.benchmark(group="metrics")
def test_lpips_alex(run, benchmark, size, device):
    from zoo.metrics import LPIPS

    metric = LPIPS("alex", input_range=(0, 1), pretrained=False).eval().to(device)
    a, b = torch.rand(4, 3, 2 * size, 2 * size, device=device), torch.rand(4, 3, 2 * size, 2 * size, device=device)
    benchmark.extra_info.update(batch=4, size=2 * size)
    with torch.inference_mode():
        run(metric, a, b)


@pytest.mark.benchmark(group="metrics")
def test_fid_features(run, benchmark, device):
    from zoo.metrics.inception import InceptionFeatures
    from zoo.metrics.random_weights import random_inception_state_dict

    features = InceptionFeatures("clean", device=device, state_dict=random_inception_state_dict(0))
    images = torch.randint(0, 256, (8, 3, 256, 256), dtype=torch.uint8)
    benchmark.extra_info.update(batch=8, size=256, flavour="clean")
    out = run(features, images, rounds=3)
    assert out.shape == (8, 2048)


@pytest.mark.benchmark(group="metrics")
def test_frechet_sqrt(run, benchmark, device):
    """FID's 2048-d covariance square root on a GPU; 512-d on a CPU (eigh is cubic; override ZOO_MICRO_DIMS)."""
    import os

    from zoo.metrics.stats import sqrt_psd

    dims = int(os.environ.get("ZOO_MICRO_DIMS") or (2048 if device.startswith("cuda") else 512))
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((dims, 2 * dims))).to(device)
    sigma = a @ a.T / (2 * dims)
    benchmark.extra_info.update(dims=dims)
    root = run(sqrt_psd, sigma, rounds=3)
    assert torch.allclose(root @ root, sigma, atol=1e-6 * float(sigma.abs().max()))


@pytest.mark.benchmark(group="io")
@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_decode(run, benchmark, tmp_path, suffix):
    from PIL import Image

    from zoo.images import read_image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:512]
    photo_like = 127 + 100 * np.sin(xx[..., None] / 17 + np.arange(3)) * np.cos(yy[..., None] / 23)
    path = tmp_path / f"image{suffix}"
    Image.fromarray(np.clip(photo_like + rng.normal(0, 8, (512, 512, 3)), 0, 255).astype(np.uint8)).save(path)
    benchmark.extra_info.update(size=512, format=suffix[1:])
    out = run(read_image, path, rounds=10)
    assert out.shape == (512, 512, 3)
