"""The ncnn reader and converter on synthetic files written here (no package needed)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from zoo.errors import WeightsError
from zoo_sr.archs import RRDBNet, SRVGGNetCompact
from zoo_sr.ncnn import FP16_TAG, load_ncnn, parse_param, run_ncnn_graph
from zoo_sr.ncnn_convert import ncnn_to_state_dict, verify_against_graph

torch.set_num_threads(2)


def write_srvgg_ncnn(model: SRVGGNetCompact, folder: Path, *, fp16: bool = True,
                     final_op: int = 0) -> tuple[Path, Path]:
    """Write ``model`` as an ncnn pair laid out like Real-ESRGAN's export (``final_op`` 0 = add, as upstream)."""
    lines = ["Input in0 0 1 data", "Split split0 1 2 data d0 d1"]
    payload = bytearray()
    prev = "d1"
    for i, module in enumerate(model.body):
        top = f"b{i}"
        if isinstance(module, nn.Conv2d):
            w = module.weight.detach()
            lines.append(f"Convolution conv{i} 1 1 {prev} {top} 0={w.shape[0]} 1=3 4=1 5=1 6={w.numel()}")
            if fp16:
                raw = w.numpy().astype("<f2").tobytes()
                payload += struct.pack("<I", FP16_TAG) + raw + b"\0" * ((-len(raw)) % 4)
            else:
                payload += struct.pack("<I", 0) + w.numpy().astype("<f4").tobytes()
            payload += module.bias.detach().numpy().astype("<f4").tobytes()
        else:
            lines.append(f"PReLU prelu{i} 1 1 {prev} {top} 0={module.weight.numel()}")
            payload += module.weight.detach().numpy().astype("<f4").tobytes()
        prev = top
    s = model.upscale
    lines += [f"PixelShuffle ps 1 1 {prev} ps_out 0={s}",
              f"Interp up 1 1 d0 up_out 0=1 1={s:.6e} 2={s:.6e}",
              f"BinaryOp add 2 1 ps_out up_out output 0={final_op}"]
    blobs = {t for line in lines for t in line.split()[4 + int(line.split()[2]):4 + int(line.split()[2]) + int(line.split()[3])]}
    param, binary = folder / "model.param", folder / "model.bin"
    param.write_text("7767517\n" + f"{len(lines)} {len(blobs)}\n" + "\n".join(lines) + "\n")
    binary.write_bytes(bytes(payload))
    return param, binary


@pytest.fixture
def tiny_srvgg() -> SRVGGNetCompact:
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=5, num_conv=2, upscale=2).eval()  # 5*3*9 = 135 weights: fp16 needs padding
    with torch.no_grad():
        for i in (1, 3, 5):
            model.body[i].weight.uniform_(-0.3, 0.3)
    return model


def test_fp16_weights_with_padding_round_trip(tmp_path, tiny_srvgg):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path, fp16=True)
    ncnn = load_ncnn(param, binary)
    assert ncnn.weights["conv0"]["weight"].dtype == torch.float16
    target = SRVGGNetCompact(num_feat=5, num_conv=2, upscale=2).eval()
    state = ncnn_to_state_dict(ncnn, target)
    target.load_state_dict(state, strict=True)
    for key, value in tiny_srvgg.state_dict().items():
        expected = value.half().float() if key.endswith("weight") and value.dim() == 4 else value
        assert torch.equal(target.state_dict()[key], expected), key
    assert verify_against_graph(ncnn, target, size=7) == 0.0


def test_fp32_weights_are_exact(tmp_path, tiny_srvgg):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path, fp16=False)
    target = SRVGGNetCompact(num_feat=5, num_conv=2, upscale=2).eval()
    target.load_state_dict(ncnn_to_state_dict(load_ncnn(param, binary), target), strict=True)
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        assert torch.equal(target(x), tiny_srvgg(x))


def test_graph_runner_matches_the_network(tmp_path, tiny_srvgg):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path, fp16=False)
    x = torch.rand(2, 3, 5, 4)
    with torch.no_grad():
        torch.testing.assert_close(run_ncnn_graph(load_ncnn(param, binary), x), tiny_srvgg(x))


@pytest.mark.parametrize("change,message", [
    (-1, r"is truncated: the bias of conv6 needs bytes \d+\.\.\d+ but the file has only \d+ bytes"),
    (-200, r"is truncated: .* needs bytes \d+\.\.\d+ but the file has only \d+ bytes"),
    (4, r"has \d+ bytes but its graph accounts for only \d+: 4 bytes are left over"),
])
def test_bin_of_wrong_length_is_refused(tmp_path, tiny_srvgg, change, message):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path)
    data = binary.read_bytes()
    binary.write_bytes(data[:change] if change < 0 else data + b"\0" * change)
    with pytest.raises(WeightsError, match=message):
        load_ncnn(param, binary)


def test_unknown_storage_tag_is_refused(tmp_path, tiny_srvgg):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path)
    data = bytearray(binary.read_bytes())
    data[0:4] = struct.pack("<I", 0x000D4B38)  # ncnn's int8 tag
    binary.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"conv0 at byte 0 has storage tag 0x000D4B38"):
        load_ncnn(param, binary)


def test_unsupported_layer_is_refused(tmp_path, tiny_srvgg):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path)
    param.write_text(param.read_text().replace("PReLU prelu1 ", "Deconvolution prelu1 "))
    with pytest.raises(WeightsError, match=r"layer prelu1 has type 'Deconvolution'"):
        load_ncnn(param, binary)


@pytest.mark.parametrize("text,message", [
    ("7767518\n0 0\n", "is not an ncnn .param file"),
    ("7767517\n2 1\nInput in0 0 1 data\n", "announces 2 layers but the file has 1"),
    ("7767517\n1 1\nInput in0 0 1 data 0=abc\n", "'abc' is not a number"),
    ("7767517\n1 1\nInput in0 0 2 data\n", "lists fewer blobs"),
    ("7767517\n1 1\nConvolution c 0 1 x -23310=2,0.1\n", "array parameter .* wrong count"),
])
def test_bad_param_files(text, message):
    with pytest.raises(WeightsError, match=message):
        parse_param(text, "test.param")


def test_param_arrays_and_floats():
    layers = parse_param("7767517\n2 2\nInput in0 0 1 data\n"
                         "Eltwise e 2 1 data data out 0=1 -23301=2,2.000000e-01,1.000000e+00\n")
    assert layers[1].params == {0: 1, 1: [0.2, 1.0]}
    assert layers[1].bottoms == ("data", "data") and layers[1].tops == ("out",)


def test_graph_for_another_architecture_is_refused(tmp_path, tiny_srvgg):
    ncnn = load_ncnn(*write_srvgg_ncnn(tiny_srvgg, tmp_path))
    with pytest.raises(WeightsError, match=r"has 7 Convolution/PReLU layers but RRDBNet has \d+ Conv2d/PReLU modules"):
        ncnn_to_state_dict(ncnn, RRDBNet(num_feat=5, num_block=1, num_grow_ch=2))
    with pytest.raises(WeightsError, match=r"ncnn layer conv0 \(for SRVGGNetCompact.body.0\) has weights \(5, 3, 3, 3\), "
                                           r"expected \(6, 3, 3, 3\)"):
        ncnn_to_state_dict(ncnn, SRVGGNetCompact(num_feat=6, num_conv=2, upscale=2))


def test_graph_wiring_that_differs_is_caught_by_the_run(tmp_path, tiny_srvgg):
    """Same layers and shapes, but the graph subtracts the upsampled input: only running both shows it."""
    ncnn = load_ncnn(*write_srvgg_ncnn(tiny_srvgg, tmp_path, final_op=1))
    target = SRVGGNetCompact(num_feat=5, num_conv=2, upscale=2).eval()
    target.load_state_dict(ncnn_to_state_dict(ncnn, target), strict=True)
    with pytest.raises(WeightsError, match="differs from the ncnn graph .* does not match the architecture"):
        verify_against_graph(ncnn, target)


def test_fused_activation_must_match(tmp_path, tiny_srvgg):
    param, binary = write_srvgg_ncnn(tiny_srvgg, tmp_path)
    text = param.read_text().replace("6=135", "6=135 9=2 -23310=1,2.000000e-01")
    param.write_text(text)
    with pytest.raises(WeightsError, match=r"conv0 .* has fused activation 2 \[0.2\], expected none"):
        ncnn_to_state_dict(load_ncnn(param, binary), SRVGGNetCompact(num_feat=5, num_conv=2, upscale=2))


def test_prelu_slopes_are_read_as_float32(tmp_path, tiny_srvgg):
    ncnn = load_ncnn(*write_srvgg_ncnn(tiny_srvgg, tmp_path))
    slopes = ncnn.weights["prelu1"]["weight"]
    assert slopes.dtype == torch.float32
    np.testing.assert_array_equal(slopes.numpy(), tiny_srvgg.body[1].weight.detach().numpy())
