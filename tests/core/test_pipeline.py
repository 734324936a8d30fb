"""zoo.load and the image pipeline, on the toy plugin (no family plugin involved)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image
from toy_plugin import Toy, ToyUpscaler, toy_weights, write_toy_catalog

import zoo
from zoo.errors import ImageInputError, WeightsError
from zoo.images import read_image, save_image
from zoo.weights.serialization import save_state_dict


@pytest.fixture
def toy_zoo(empty_zoo_manager, tmp_path):
    weights = save_state_dict(toy_weights(), tmp_path / "toy.safetensors")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    empty_zoo_manager.register(Toy(write_toy_catalog(tmp_path, weights.as_uri(), digest)), name="toy")
    return weights


def reference(x01: torch.Tensor) -> torch.Tensor:
    """What the toy entry must compute: [-1,1] in, pad to 4, model, crop, back to [0,1]."""
    net = ToyUpscaler(2, 4, multiple=4)
    net.load_state_dict(toy_weights())
    h, w = x01.shape[-2:]
    z = torch.nn.functional.pad(x01 * 2 - 1, (0, (-w) % 4, 0, (-h) % 4), mode="reflect")
    with torch.no_grad():
        y = net(z)[..., : 2 * h, : 2 * w]
    return ((y + 1) / 2).clamp(0, 1)


def test_load_runs_any_size_and_matches_plain_module(toy_zoo):
    model = zoo.load("toy-x2", device="cpu")
    x = torch.rand(1, 3, 13, 22)  # neither square nor a multiple of 4
    out = model(x[0])
    assert out.shape == (3, 26, 44)
    torch.testing.assert_close(out, reference(x)[0])
    assert model.weights.origin == "local"  # a file:// source is used in place
    assert model.metadata["weights"]["uri"].startswith("file://")


def test_pil_numpy_path_round_trips_keep_kind_and_size(toy_zoo, tmp_path):
    model = zoo.load("toy-x2", device="cpu")
    arr = (np.random.default_rng(0).random((9, 15, 3)) * 255).astype(np.uint8)
    out = model(arr)
    assert out.dtype == np.uint8 and out.shape == (18, 30, 3)
    pil = model(Image.fromarray(arr))
    assert isinstance(pil, Image.Image) and pil.size == (30, 18)
    np.testing.assert_array_equal(np.asarray(pil), out)
    path = tmp_path / "in.png"
    Image.fromarray(arr).save(path)
    batch = model([path, arr])
    assert isinstance(batch, list) and np.asarray(batch[0]).shape == (18, 30, 3)


def test_alpha_gray_and_16bit_inputs(toy_zoo, tmp_path):
    model = zoo.load("toy-x2", device="cpu")
    rgba = (np.random.default_rng(1).random((8, 12, 4)) * 255).astype(np.uint8)
    out = model(Image.fromarray(rgba, "RGBA"))
    assert out.mode == "RGBA" and out.size == (24, 16)
    gray = model(Image.fromarray(rgba[..., 0], "L"))
    assert gray.mode == "RGB"  # a translation-style model may add colour; restoration tasks set keep_gray
    deep = (np.random.default_rng(2).random((8, 12, 3)) * 65535).astype(np.uint16)
    out16 = model(deep)
    assert out16.dtype == np.uint16 and out16.shape == (16, 24, 3)
    target = save_image(out16, tmp_path / "out16.png")
    np.testing.assert_array_equal(read_image(target), out16)  # 16-bit RGB survives the PNG round trip


def test_bad_inputs_get_clear_errors(toy_zoo, tmp_path):
    model = zoo.load("toy-x2", device="cpu")
    with pytest.raises(ImageInputError, match="does not exist"):
        model(tmp_path / "missing.png")
    with pytest.raises(ImageInputError, match="shape"):
        model(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ImageInputError, match="NaN"):
        model(np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(ImageInputError, match="dtype"):
        model(np.zeros((4, 4, 3), np.int64))


@pytest.mark.parametrize("tile,pad", [(8, 4), (12, 2)])
def test_tiled_equals_untiled_when_pad_covers_receptive_field(toy_zoo, tile, pad):
    model = zoo.load("toy-x2", device="cpu")
    x = torch.rand(1, 3, 37, 29)
    whole = model.process(x)
    tiled = model.process(x, tile=tile, tile_pad=pad)
    assert tiled.shape == whole.shape == (1, 3, 74, 58)
    if pad >= 2:  # the toy net sees 2 pixels on each side
        torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)


def test_tiling_without_context_differs(toy_zoo):
    model = zoo.load("toy-x2", device="cpu")
    x = torch.rand(1, 3, 32, 32)
    assert (model.process(x, tile=8, tile_pad=0) - model.process(x)).abs().max() > 1e-3


def test_outscale_and_reduced_precision(toy_zoo):
    model = zoo.load("toy-x2", device="cpu", dtype="bf16")
    x = torch.rand(1, 3, 10, 10)
    out = model.process(x, outscale=3)
    assert out.shape == (1, 3, 30, 30) and out.dtype == torch.float32 and torch.isfinite(out).all()
    ref = zoo.load("toy-x2", device="cpu").process(x, outscale=3)
    assert (out - ref).abs().max() < 0.05


def test_weights_that_do_not_fit_are_named(toy_zoo, tmp_path):
    wrong = save_state_dict(toy_weights(feat=6), tmp_path / "wrong.safetensors")
    with pytest.raises(WeightsError, match=r"wrong.safetensors.*conv1.weight: model \(4, 3, 3, 3\) vs file \(6, 3, 3, 3\)"):
        zoo.load("toy-x2", weights=wrong)
    extra = toy_weights()
    extra["conv3.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="1 unexpected: conv3.weight"):
        zoo.load("toy-x2", weights=save_state_dict(extra, tmp_path / "extra.pth"))


def test_pretrained_false_needs_no_weights(toy_zoo):
    model = zoo.load("toy-x2", pretrained=False)
    assert model.weights is None
    assert isinstance(zoo.build_model("toy-x2"), ToyUpscaler)
