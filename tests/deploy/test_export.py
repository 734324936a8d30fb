"""Export (ONNX, torch.export) of one entry per architecture family, with tiny kwargs so the suite stays fast.

Each export is verified by zoo itself at two sizes other than the traced one; the tests check the
report, run the written file again independently at those sizes, and read back the metadata.
The full-size networks are checked by benchmarks/export_parity.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import zoo
from zoo.registry.lookup import build_model, get_entry
from zoo.export import ExportError, export_network, read_export_metadata

torch.set_num_threads(2)

#: entry -> tiny architecture kwargs (the style networks have no kwargs and are small already)
FAMILIES = {
    "cyclegan-horse2zebra": {"ngf": 4, "n_blocks": 1},
    "pix2pix-facades-label2photo": {"ngf": 2, "num_downs": 5},
    "realesrgan-x2plus": {"num_feat": 4, "num_block": 1, "num_grow_ch": 2},
    "realesr-animevideov3": {"num_feat": 4, "num_conv": 2},
    "fast-neural-style-mosaic": {},
    "style-transfer-udnie": {},
}
SAMPLE = {"pix2pix-facades-label2photo": (64, 64)}  # two blocks of the tiny U-Net's 32


def _tiny(name: str):
    """The entry with a tiny network; a shallower U-Net gets its own (smaller) size multiple."""
    from dataclasses import replace

    torch.manual_seed(0)
    entry = get_entry(name)
    net = build_model(entry, **FAMILIES[name]).eval()
    if hasattr(net, "size_multiple"):
        entry = replace(entry, processing=replace(entry.processing, size_multiple=net.size_multiple))
    return entry, net


def _run_independently(path, fmt: str, x: torch.Tensor) -> torch.Tensor:
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(["output"], {"input": x.numpy()})[0])
    return torch.export.load(str(path)).module()(x)


@pytest.mark.parametrize("fmt", ["onnx", "torch-export"])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_dynamic_export_matches_pytorch_at_other_sizes(tmp_path, name, fmt):
    entry, net = _tiny(name)
    path = tmp_path / f"{name}.{'onnx' if fmt == 'onnx' else 'pt2'}"
    report = export_network(net, entry, path, format=fmt, dynamic=True,
                            sample_size=SAMPLE.get(name, (32, 32)))
    assert path.is_file() and not list(tmp_path.glob(".*partial*"))
    assert len(report.verified_sizes) == 2 and report.traced_size not in report.verified_sizes
    assert report.max_abs_diff_01 <= 1e-4
    if fmt == "onnx":  # the dynamo exporter covers every family (the TorchScript one stays as a fallback)
        assert report.exporter == "dynamo" and report.fallback_reason is None, report.fallback_reason
    span = entry.processing.out_range[1] - entry.processing.out_range[0]
    lo, hi = entry.processing.value_range
    # run the written file again, outside zoo (torch.export programs load slowly: one size for them)
    for i, (h, w) in enumerate(report.verified_sizes[: 2 if fmt == "onnx" else 1]):
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(10 + i)) * (hi - lo) + lo
        with torch.no_grad():
            expected = net(x)
            got = _run_independently(path, fmt, x)
        assert got.shape == expected.shape == (1, 3, h * entry.processing.scale, w * entry.processing.scale)
        diff = float((got - expected).abs().max())
        assert diff / span <= 1e-4, (name, fmt, (h, w), diff)
        if span <= 2:
            assert diff <= 1e-4
    meta = read_export_metadata(path)
    assert meta["zoo.entry"] == name and int(meta["scale"]) == entry.processing.scale
    assert json.loads(meta["value_range"]) == list(entry.processing.value_range)
    assert int(meta["size_multiple"]) % entry.processing.size_multiple == 0
    assert json.loads(meta["zoo.architecture_kwargs"]) == dict(entry.kwargs)
    if name == "style-transfer-udnie":
        # the TF-SAME net rounds odd sizes up: its dynamic export asks for multiples of 4 (the entry says 1)
        assert entry.processing.size_multiple == 1 and report.size_multiple == 4 and meta["size_multiple"] == "4"


def test_static_export_and_fp16(tmp_path):
    entry, net = _tiny("realesr-animevideov3")
    report = export_network(net, entry, tmp_path / "s.onnx", format="onnx", dynamic=False, sample_size=(24, 20))
    assert report.verified_sizes == [(24, 20)]
    report = export_network(net, entry, tmp_path / "h.pt2", format="torch-export", dtype="fp16", sample_size=(16, 16))
    assert report.dtype == "fp16" and report.max_abs_diff_01 <= 1e-2


def test_failed_verification_leaves_no_file(tmp_path, monkeypatch):
    """An export that does not reproduce PyTorch is refused and nothing is left on disk."""
    import zoo.export.network as export_module

    entry, net = _tiny("realesr-animevideov3")
    real = export_module._run_onnx

    def corrupt(path):
        run = real(path)
        return lambda x: run(x) + 0.01

    monkeypatch.setattr(export_module, "_run_onnx", corrupt)
    target = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match=r"max abs difference 0\.01.*> tolerance 0\.0001.*nothing was written"):
        export_network(net, entry, target, format="onnx", dynamic=True, sample_size=(16, 16))
    assert list(tmp_path.iterdir()) == []


def test_export_api_and_cli(tmp_path, capsys):
    from zoo.cli import main

    torch.manual_seed(0)
    from zoo_sr.archs import SRVGGNetCompact

    weights = tmp_path / "compact.pth"
    torch.save({"params_ema": SRVGGNetCompact(num_feat=4, num_conv=1).state_dict()}, weights)
    report = zoo.export("realesr-animevideov3", tmp_path / "a.onnx", weights=weights, infer_architecture=True,
                        dynamic=True, sample_size=(16, 16))
    assert report.metadata["zoo.weights_uri"] == str(weights)
    assert zoo.export.export_model is not None
    code = main(["export", "realesr-animevideov3", "--weights", str(weights), "--infer-architecture", "--format",
                 "torch-export", "--dynamic", "--sample-size", "16x16", "-o", str(tmp_path / "a.pt2")])
    out = capsys.readouterr().out
    assert code == 0 and "verified at" in out and "max abs diff" in out
    code = main(["export", "realesr-animevideov3", "--weights", str(weights), "-o", str(tmp_path / "b.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("zoo export: error:") and "infer_architecture=True" in err


def test_convert_to_safetensors_round_trip(tmp_path):
    from safetensors import safe_open

    from zoo.cli import main
    from zoo.files import sha256_of
    from zoo_sr.archs import SRVGGNetCompact

    torch.manual_seed(0)
    original = tmp_path / "realesr-animevideov3.pth"
    torch.save({"params": SRVGGNetCompact(num_feat=64, num_conv=16).state_dict()}, original)
    target = tmp_path / "out.safetensors"
    assert main(["convert", "realesr-animevideov3", "--weights", str(original), "--to", "safetensors",
                 "-o", str(target)]) == 0
    with safe_open(str(target), "pt") as handle:
        meta = handle.metadata()
    assert meta["zoo.entry"] == "realesr-animevideov3" and meta["zoo.source_sha256"] == sha256_of(original)
    assert meta["zoo.source_url"] == str(original) and meta["zoo.source_format"] == "basicsr"
    x = np.random.default_rng(0).random((12, 10, 3), dtype=np.float32)
    a = zoo.load("realesr-animevideov3", weights=original)(x)
    b = zoo.load("realesr-animevideov3", weights=target)(x)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kwargs, says", [({"opset": 3}, "opset must be from 7 to 20"),
                                          ({"tolerance": -1.0}, "tolerance must be a positive number")])
def test_export_options_are_checked_before_exporting(tmp_path, kwargs, says):
    from zoo.export import export_model
    from zoo.errors import OptionError

    with pytest.raises(OptionError, match=says):
        export_model("espcn-x3-t91", tmp_path / "m.onnx", **kwargs)
    with pytest.raises(OptionError, match="names a folder"):
        export_model("espcn-x3-t91", str(tmp_path) + "/")


def test_torchscript_exporter_on_request_and_for_opsets_dynamo_cannot_write(tmp_path):
    entry, net = _tiny("cyclegan-horse2zebra")
    report = export_network(net, entry, tmp_path / "ts.onnx", format="onnx", dynamic=True, sample_size=(32, 32),
                            exporter="torchscript")
    assert report.exporter == "torchscript" and report.max_abs_diff_01 <= 1e-4
    assert read_export_metadata(tmp_path / "ts.onnx")["zoo.onnx_exporter"] == "torchscript"
    old = export_network(net, entry, tmp_path / "o17.onnx", format="onnx", opset=17, sample_size=(16, 16))
    assert old.exporter == "torchscript" and read_export_metadata(tmp_path / "o17.onnx")["opset"] == "17"
    import onnx

    assert [o.version for o in onnx.load(str(tmp_path / "o17.onnx")).opset_import if o.domain in ("", "ai.onnx")] == [17]
    with pytest.raises(ExportError, match="the dynamo ONNX exporter writes opset 18 or later, got opset 17"):
        export_network(net, entry, tmp_path / "x.onnx", opset=17, exporter="dynamo")
    with pytest.raises(ExportError, match="unknown ONNX exporter 'jit'"):
        export_network(net, entry, tmp_path / "x.onnx", exporter="jit")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o17.onnx", "ts.onnx"]


def test_auto_falls_back_to_torchscript_when_dynamo_fails_or_is_missing(tmp_path, monkeypatch):
    import zoo.export.network as export_module

    entry, net = _tiny("realesr-animevideov3")

    def broken(*args, **kwargs):
        raise RuntimeError("dynamo could not trace this")

    said: list[str] = []
    monkeypatch.setattr(export_module, "_export_program", broken)
    report = export_network(net, entry, tmp_path / "a.onnx", dynamic=True, sample_size=(16, 16), log=said.append)
    assert report.exporter == "torchscript" and "dynamo could not trace this" in report.fallback_reason
    assert "the dynamo ONNX exporter did not give a verified file" in said[0] and "torchscript exporter" in said[0]
    assert "(torchscript exporter)" in report.summary()
    with pytest.raises(ExportError, match="with the dynamo exporter failed: RuntimeError: dynamo could not trace"):
        export_network(net, entry, tmp_path / "b.onnx", exporter="dynamo", sample_size=(16, 16))
    monkeypatch.setattr(export_module, "has_dynamo_exporter", lambda: False)
    assert export_network(net, entry, tmp_path / "c.onnx", sample_size=(16, 16)).exporter == "torchscript"
    with pytest.raises(ExportError, match="needs onnxscript"):
        export_network(net, entry, tmp_path / "d.onnx", exporter="dynamo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "c.onnx"]
