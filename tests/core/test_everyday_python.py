"""`zoo.load(...)(...)` day to day: bad arguments are one-sentence ValueErrors, lists survive bad items,
batches give the same images, float inputs in the wrong range are refused, fp16 on the CPU warns."""

from __future__ import annotations

import hashlib
import pydoc
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from toy_plugin import Toy, toy_weights, write_toy_catalog

import zoo
from zoo.errors import ImageInputError, ZooError
from zoo.errors import OptionError
from zoo.inference.pipeline import size_batches
from zoo.weights.serialization import save_state_dict


@pytest.fixture
def toy(empty_zoo_manager, tmp_path):
    weights = save_state_dict(toy_weights(), tmp_path / "toy.safetensors")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    empty_zoo_manager.register(Toy(write_toy_catalog(tmp_path, weights.as_uri(), digest)), name="toy")
    return zoo.load("toy-x2", device="cpu")


def _one_sentence(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "  " not in text, text
    return text


@pytest.mark.parametrize("options, message", [
    ({"tile": True}, "tile must be an integer"),
    ({"tile": 64.5}, "got 64.5"),
    ({"tile": -1}, "tile must be >= 0"),
    ({"tile": "big"}, "or 'auto'"),
    ({"tile_pad": -5}, "tile_pad must be >= 0"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"dtype": "fp8"}, "unknown dtype 'fp8'"),
    ({"device": "tpu:0"}, "unknown device"),
    ({"mode": "paper"}, "no inference mode 'paper'"),
    ({"tiles": 64}, "unknown option(s) tiles"),
])
def test_bad_load_arguments_are_value_errors_before_any_weights_are_read(toy, options, message):
    with pytest.raises(ValueError) as info:
        zoo.load("toy-x2", **options)
    assert isinstance(info.value, (OptionError, ZooError)) and message in _one_sentence(info.value)


@pytest.mark.parametrize("options, message", [
    ({"tile": True}, "got True (bool)"),
    ({"tile": 64.5}, "got 64.5"),
    ({"tile": -1}, "tile must be >= 0"),
    ({"tile_pad": -5}, "tile_pad must be >= 0"),
    ({"outscale": 0}, "outscale must be a finite number > 0"),
    ({"outscale": -1}, "outscale must be a finite number > 0"),
    ({"outscale": float("nan")}, "outscale must be a finite number > 0"),
    ({"errors": "ignore"}, "errors must be one of"),
])
def test_bad_call_options_are_refused_instead_of_silently_wrong_images(toy, options, message):
    with pytest.raises(OptionError) as info:
        toy(np.zeros((8, 8, 3), np.uint8), **options)
    assert message in _one_sentence(info.value)


def test_float_images_outside_0_1_are_an_error_naming_the_range(toy):
    data = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    with pytest.raises(ImageInputError, match=r"values from .* to 2\d\d.*must be in \[0, 1\].*divide by 255"):
        toy(data * 255)
    with pytest.raises(ImageInputError, match=r"must be in \[0, 1\]"):
        toy(torch.from_numpy(data * 255).permute(2, 0, 1))
    # resampling overshoot is clipped, uint8 0..255 is fine
    assert toy(np.clip(data * 1.05, 0, 1.05)).shape == (16, 16, 3)
    np.testing.assert_allclose(toy((data * 255).round().astype(np.uint8)), toy((data * 255).round() / 255), atol=1)


def test_a_list_keeps_the_results_it_computed_when_one_item_fails(toy, tmp_path):
    good = (np.random.default_rng(1).random((8, 12, 3)) * 255).astype(np.uint8)
    missing = tmp_path / "missing.png"
    with pytest.raises(ImageInputError, match="missing.png does not exist"):
        toy([good, missing])
    out = toy([good, missing, good], errors="return")
    assert isinstance(out[1], ImageInputError) and out[0].shape == out[2].shape == (16, 24, 3)
    with pytest.warns(RuntimeWarning, match=r"1 of 3 images failed.*\[1\].*missing.png"):
        skipped = toy([good, missing, good], errors="skip")
    assert len(skipped) == 2
    np.testing.assert_array_equal(skipped[0], out[0])


def test_batches_group_same_size_images_and_give_the_same_results(toy):
    rng = np.random.default_rng(2)
    images = [(rng.random(shape) * 255).astype(np.uint8) for shape in
              [(8, 12, 3), (10, 6, 3), (8, 12, 3), (8, 12, 3), (10, 6, 3)]]
    one_by_one = toy(images)
    batched = toy(images, batch_size=2)
    for a, b in zip(one_by_one, batched):
        assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert size_batches([(8, 12), (10, 6), (8, 12), (8, 12), (10, 6)], 2) == [[0, 2], [3], [1, 4]]
    calls = []
    toy.model.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    zoo.load("toy-x2", device="cpu", batch_size=3)  # a pipeline default, validated
    toy(images, batch_size=3)
    assert sorted(calls) == [2, 3]


def test_fp16_on_the_cpu_warns(toy):
    with pytest.warns(RuntimeWarning, match="float16 on the CPU is far slower"):
        zoo.load("toy-x2", device="cpu", dtype="fp16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zoo.load("toy-x2", device="cpu", dtype="fp32")


def test_help_of_a_model_lists_the_call_options(toy):
    text = pydoc.render_doc(toy, renderer=pydoc.plaintext)
    assert "Call self as a function" not in text.split("__call__")[1][:200]
    for option in ("tile", "tile_pad", "outscale", "batch_size", "errors", "EXIF"):
        assert option in text


def test_catalog_kwargs_an_architecture_rejects_are_a_one_line_error(empty_zoo_manager, tmp_path):
    catalog = write_toy_catalog(tmp_path, "file:///nowhere.pth", None)
    catalog.write_text(catalog.read_text().replace("multiple: 4}", "multiple: 4, depth: 3}"))
    empty_zoo_manager.register(Toy(catalog), name="toy")
    with pytest.raises(zoo.errors.ComponentArgumentsError) as info:
        zoo.load("toy-x2", pretrained=False)
    assert "rejected kwargs" in _one_sentence(info.value) and "depth" in str(info.value)
    assert info.value.__cause__ is None  # no TypeError chained from deep inside the constructor


def test_pil_input_keeps_its_colour_profile(toy):
    image = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    image.info["icc_profile"] = b"fake-icc"
    assert toy(image).info.get("icc_profile") == b"fake-icc"


@pytest.mark.parametrize("image, message", [
    (np.zeros((4, 4, 5), np.uint8), "image has shape (4, 4, 5)"),
    (np.zeros((0, 4, 3), np.uint8), "image is empty"),
    (np.zeros((4, 4, 3), np.int32), "image has dtype int32"),
    (np.full((4, 4, 3), np.nan, np.float32), "image contains NaN"),
])
def test_input_errors_read_as_one_clean_sentence(toy, image, message):
    with pytest.raises(ImageInputError) as info:
        toy(image)
    assert message in _one_sentence(info.value)


@pytest.mark.parametrize("weights", [123, ""])
def test_weights_of_the_wrong_type_are_a_one_line_error(weights):
    with pytest.raises(zoo.errors.ZooError, match="weights must be a file path, URL or URI"):
        zoo.load("espcn-x3-t91", weights=weights)
