"""zoo.load(..., backend=...): same pipeline, network run by onnxruntime or torch.compile; exports cached by weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.inference.backends import BackendError, OnnxRuntimeNetwork

torch.set_num_threads(2)


def _weights(tmp_path, seed: int = 0):
    from zoo_sr.archs import SRVGGNetCompact

    torch.manual_seed(seed)
    path = tmp_path / f"compact{seed}.pth"
    torch.save({"params": SRVGGNetCompact(num_feat=8, num_conv=2).state_dict()}, path)
    return path


def test_onnxruntime_backend_matches_eager_and_caches_the_export(tmp_path, capsys):
    weights = _weights(tmp_path)
    image = np.random.default_rng(0).integers(0, 256, (13, 17, 3), dtype=np.uint8)  # odd sizes: padded by the pipeline
    eager = zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True)
    fast = zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True, backend="onnxruntime",
                    backend_options={"threads": 1})
    assert isinstance(fast.model, OnnxRuntimeNetwork) and fast.metadata["backend"] == "onnxruntime"
    assert "exported for the onnxruntime backend" in capsys.readouterr().err
    a, b = eager(image).astype(int), fast(image).astype(int)
    assert a.shape == b.shape == (52, 68, 3) and np.abs(a - b).max() <= 1
    cached = sorted((zoo.weights.hub.zoo_home() / "exports" / "realesr-animevideov3").glob("*.onnx"))
    assert len(cached) == 1
    zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True, backend="onnxruntime")
    assert "exported" not in capsys.readouterr().err  # second load: from the cache
    # other weights: another cache key
    zoo.load("realesr-animevideov3", weights=_weights(tmp_path, 1), infer_architecture=True, backend="onnxruntime")
    assert len(list((zoo.weights.hub.zoo_home() / "exports" / "realesr-animevideov3").glob("*.onnx"))) == 2


def test_compile_backend_wraps_the_network(tmp_path):
    """The wrapper (channels_last, same call signature) through the pipeline; aot_eager avoids a C++ build here."""
    weights = _weights(tmp_path)
    x = torch.rand(1, 3, 12, 12)
    eager = zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True)
    compiled = zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True, backend="compile",
                        backend_options={"compiler": "aot_eager"})
    assert compiled.metadata["backend"] == "compile"
    assert torch.allclose(compiled.process(x), eager.process(x), atol=1e-5)


def test_backend_errors():
    with pytest.raises(BackendError, match="unknown backend 'tensorrt'"):
        zoo.load("realesr-animevideov3", pretrained=False, backend="tensorrt")
    with pytest.raises(BackendError, match="needs backend='eager'"):
        zoo.load("pix2pix-facades-label2photo", pretrained=False, backend="onnxruntime", mode="paper")
    with pytest.raises(BackendError, match="unknown onnxruntime options"):
        zoo.load("realesr-animevideov3", pretrained=False, backend="onnxruntime", backend_options={"thread": 2})


def test_cli_run_with_backend(tmp_path, capsys):
    from PIL import Image

    from zoo.cli import main

    Image.fromarray(np.full((8, 8, 3), 120, np.uint8)).save(tmp_path / "in.png")
    weights = _weights(tmp_path)
    assert main(["run", "realesr-animevideov3", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"),
                 "--weights", str(weights), "--infer-architecture", "--backend", "onnxruntime"]) == 0
    assert Image.open(tmp_path / "out" / "in_out.png").size == (32, 32)


def test_eager_backend_in_channels_last(tmp_path):
    from zoo.inference.backends import ChannelsLastNetwork

    weights = _weights(tmp_path)
    x = torch.rand(1, 3, 12, 12)
    eager = zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True)
    cl = zoo.load("realesr-animevideov3", weights=weights, infer_architecture=True,
                  backend_options={"channels_last": True})
    assert isinstance(cl.model, ChannelsLastNetwork) and cl.metadata["backend"] == "eager"
    assert next(cl.model.parameters()).is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(cl.process(x), eager.process(x), atol=1e-5)
    with pytest.raises(BackendError, match=r"unknown eager options \['freezing'\]"):
        zoo.load("realesr-animevideov3", pretrained=False, backend_options={"freezing": True})
