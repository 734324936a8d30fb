"""Reading ncnn models (``.param`` graph text + ``.bin`` weights) and running their graphs with torch.

Only what the Real-ESRGAN ncnn exports use is supported, and everything else is refused by name:
layers ``Input``, ``Split``, ``Convolution`` (optionally with a fused ReLU / LeakyReLU), ``PReLU``,
``ReLU``, ``Concat``, ``Eltwise``, ``BinaryOp``, ``Interp`` and ``PixelShuffle``.

The ``.bin`` file is a plain sequence, in the ``.param`` layer order, of each layer's data:

* ``Convolution``: a 4-byte little-endian tag -- ``0x01306B47`` = float16 weights follow, ``0`` = float32 --
  then ``num_output * in_channels * kh * kw`` weights (OIHW order, like PyTorch) padded to a multiple of
  4 bytes, then ``num_output`` float32 biases when ``bias_term`` (param 5) is 1;
* ``PReLU``: ``num_slope`` (param 0) float32 slopes, with no tag.

:func:`read_ncnn_weights` accounts for every byte: a file that is shorter or longer than what the graph
needs is refused, with both byte counts.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import WeightsError

__all__ = ["NcnnLayer", "NcnnModel", "parse_param", "read_ncnn_weights", "load_ncnn", "run_ncnn_graph",
           "FP16_TAG", "FP32_TAG"]

PARAM_MAGIC = 7767517
FP16_TAG = 0x01306B47
FP32_TAG = 0
WEIGHTLESS = {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle", "ReLU"}
WEIGHTED = {"Convolution", "PReLU"}
_FLOAT = re.compile(r"[.eE]|^[-+]?(inf|nan)$", re.IGNORECASE)


@dataclass(frozen=True)
class NcnnLayer:
    """One line of a ``.param`` file. ``params`` maps ncnn param ids to an int, a float or a list (arrays)."""

    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: Mapping[int, Any] = field(default_factory=dict)

    def get(self, pid: int, default: Any = None) -> Any:
        return self.params.get(pid, default)


@dataclass
class NcnnModel:
    """A parsed graph with its weights: ``weights[layer.name]`` = ``{"weight": tensor, "bias": tensor}``."""

    layers: list[NcnnLayer]
    weights: dict[str, dict[str, torch.Tensor]]
    source: str = ""

    def weighted_layers(self) -> list[NcnnLayer]:
        return [layer for layer in self.layers if layer.type in WEIGHTED]


def _number(text: str, where: str) -> int | float:
    try:
        return float(text) if _FLOAT.search(text) else int(text)
    except ValueError:
        raise WeightsError(f"{where}: {text!r} is not a number") from None


def parse_param(text: str, source: str = "<param>") -> list[NcnnLayer]:
    """Parse ncnn ``.param`` text (magic ``7767517``, ``layer_count blob_count``, one layer per line)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0].strip() != str(PARAM_MAGIC):
        first = lines[0].strip()[:40] if lines else "(empty file)"
        raise WeightsError(f"{source} is not an ncnn .param file: first line is {first!r}, expected {PARAM_MAGIC}")
    try:
        layer_count, blob_count = (int(v) for v in lines[1].split())
    except ValueError:
        raise WeightsError(f"{source} line 2: expected 'layer_count blob_count', got {lines[1]!r}") from None
    layers: list[NcnnLayer] = []
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        where = f"{source} line {lineno}"
        if len(parts) < 4:
            raise WeightsError(f"{where}: expected 'type name n_in n_out ...', got {line.strip()!r}")
        ltype, name = parts[0], parts[1]
        try:
            n_in, n_out = int(parts[2]), int(parts[3])
        except ValueError:
            raise WeightsError(f"{where}: input/output counts {parts[2]!r} {parts[3]!r} are not integers") from None
        if len(parts) < 4 + n_in + n_out:
            raise WeightsError(f"{where}: layer {name} declares {n_in} inputs and {n_out} outputs but lists fewer blobs")
        bottoms = tuple(parts[4:4 + n_in])
        tops = tuple(parts[4 + n_in:4 + n_in + n_out])
        params: dict[int, Any] = {}
        for item in parts[4 + n_in + n_out:]:
            key, sep, value = item.partition("=")
            if not sep:
                raise WeightsError(f"{where}: parameter {item!r} of layer {name} is not 'id=value'")
            pid = int(key)
            if pid <= -23300:  # array: id -23300-k holds "count,v1,v2,..."
                values = [_number(v, where) for v in value.split(",")]
                if not values or values[0] != len(values) - 1:
                    raise WeightsError(f"{where}: array parameter {item!r} of layer {name} has a wrong count")
                params[-pid - 23300] = values[1:]
            else:
                params[pid] = _number(value, where)
        layers.append(NcnnLayer(ltype, name, bottoms, tops, params))
    if len(layers) != layer_count:
        raise WeightsError(f"{source}: header announces {layer_count} layers but the file has {len(layers)}")
    blobs = {b for layer in layers for b in layer.tops}
    if len(blobs) != blob_count:
        raise WeightsError(f"{source}: header announces {blob_count} blobs but the layers produce {len(blobs)}")
    return layers


def _conv_geometry(layer: NcnnLayer, where: str) -> tuple[int, int, int, int]:
    """(num_output, in_channels, kernel_h, kernel_w) of a Convolution, from its params."""
    out_ch = int(layer.get(0, 0))
    kw = int(layer.get(1, 0))
    kh = int(layer.get(11, kw))
    size = int(layer.get(6, 0))
    if out_ch <= 0 or kw <= 0 or kh <= 0 or size <= 0 or size % (out_ch * kh * kw):
        raise WeightsError(f"{where}: Convolution {layer.name} has inconsistent num_output={out_ch}, "
                           f"kernel={kh}x{kw}, weight_data_size={size}")
    if int(layer.get(8, 0)):
        raise WeightsError(f"{where}: Convolution {layer.name} is int8-quantised (param 8); only float16/float32 "
                           "weights are supported")
    return out_ch, size // (out_ch * kh * kw), kh, kw


class _Reader:
    """Sequential reader of a ``.bin`` buffer that reports overruns with byte positions."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.source, self.offset = data, source, 0

    def take(self, nbytes: int, what: str) -> bytes:
        end = self.offset + nbytes
        if end > len(self.data):
            raise WeightsError(f"{self.source} is truncated: {what} needs bytes {self.offset}..{end} but the file "
                               f"has only {len(self.data)} bytes (the graph needs at least {end})")
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    def floats(self, count: int, what: str) -> torch.Tensor:
        return torch.from_numpy(np.frombuffer(self.take(4 * count, what), dtype="<f4").copy())


def read_ncnn_weights(layers: Sequence[NcnnLayer], data: bytes, source: str = "<bin>") -> dict[str, dict[str, torch.Tensor]]:
    """Read every weighted layer's tensors from ``data``; all bytes must be used, no more, no less.

    Convolution weights keep their stored dtype (float16 or float32); biases and slopes are float32.
    """
    reader = _Reader(data, source)
    out: dict[str, dict[str, torch.Tensor]] = {}
    for layer in layers:
        if layer.type == "Convolution":
            out_ch, in_ch, kh, kw = _conv_geometry(layer, source)
            count = out_ch * in_ch * kh * kw
            (tag,) = struct.unpack("<I", reader.take(4, f"the storage tag of {layer.name}"))
            if tag == FP16_TAG:
                raw = reader.take((2 * count + 3) // 4 * 4, f"the float16 weights of {layer.name}")
                weight = torch.from_numpy(np.frombuffer(raw[:2 * count], dtype="<f2").copy())
            elif tag == FP32_TAG:
                weight = reader.floats(count, f"the float32 weights of {layer.name}")
            else:
                raise WeightsError(f"{source}: Convolution {layer.name} at byte {reader.offset - 4} has storage tag "
                                   f"0x{tag:08X}; supported are 0x{FP16_TAG:08X} (float16) and 0 (float32) "
                                   "(int8 / quantised tables are not)")
            tensors = {"weight": weight.reshape(out_ch, in_ch, kh, kw)}
            if int(layer.get(5, 0)):
                tensors["bias"] = reader.floats(out_ch, f"the bias of {layer.name}")
            out[layer.name] = tensors
        elif layer.type == "PReLU":
            count = int(layer.get(0, 1))
            out[layer.name] = {"weight": reader.floats(count, f"the slopes of {layer.name}")}
        elif layer.type not in WEIGHTLESS:
            raise WeightsError(f"{source}: layer {layer.name} has type {layer.type!r}, which this reader does not "
                               f"support (supported: {', '.join(sorted(WEIGHTED | WEIGHTLESS))})")
    if reader.offset != len(data):
        raise WeightsError(f"{source} has {len(data)} bytes but its graph accounts for only {reader.offset}: "
                           f"{len(data) - reader.offset} bytes are left over (wrong .param for this .bin?)")
    return out


def load_ncnn(param_path: str | Path, bin_path: str | Path) -> NcnnModel:
    """Parse a ``.param``/``.bin`` pair (see the module docstring for the accepted subset)."""
    param_path, bin_path = Path(param_path), Path(bin_path)
    for path in (param_path, bin_path):
        if not path.is_file():
            raise WeightsError(f"ncnn file {path} does not exist")
    layers = parse_param(param_path.read_text(encoding="utf-8"), str(param_path))
    weights = read_ncnn_weights(layers, bin_path.read_bytes(), str(bin_path))
    return NcnnModel(layers, weights, source=str(bin_path))


# --- running a graph ------------------------------------------------------------------------------------
_INTERP_MODES = {1: "nearest", 2: "bilinear", 3: "bicubic"}


def _activate(x: torch.Tensor, layer: NcnnLayer) -> torch.Tensor:
    act = int(layer.get(9, 0))
    if act == 0:
        return x
    if act == 1:
        return F.relu(x)
    if act == 2:
        slope = layer.get(10, [0.0])
        return F.leaky_relu(x, float(slope[0]))
    raise WeightsError(f"layer {layer.name}: fused activation type {act} is not supported (0 none, 1 relu, 2 leaky)")


def _run_layer(layer: NcnnLayer, inputs: list[torch.Tensor], weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
    t = layer.type
    if t == "Convolution":
        w = weights["weight"].float()
        b = weights["bias"].float() if "bias" in weights else None
        pad_l = int(layer.get(4, 0))
        pad_r, pad_t = int(layer.get(15, pad_l)), int(layer.get(14, pad_l))
        pad_b = int(layer.get(16, pad_t))
        if min(pad_l, pad_r, pad_t, pad_b) < 0:
            raise WeightsError(f"layer {layer.name}: automatic (SAME) padding is not supported")
        stride_w = int(layer.get(3, 1))
        dil_w = int(layer.get(2, 1))
        x = F.pad(inputs[0], (pad_l, pad_r, pad_t, pad_b))
        y = F.conv2d(x, w, b, stride=(int(layer.get(13, stride_w)), stride_w),
                     dilation=(int(layer.get(12, dil_w)), dil_w))
        return _activate(y, layer)
    if t == "PReLU":
        return F.prelu(inputs[0], weights["weight"].float())
    if t == "ReLU":
        return F.leaky_relu(inputs[0], float(layer.get(0, 0.0)))
    if t == "Concat":
        if int(layer.get(0, 0)) != 0:
            raise WeightsError(f"layer {layer.name}: Concat along axis {layer.get(0)} is not supported (only channels)")
        return torch.cat(inputs, 1)
    if t == "Eltwise":
        op, coeffs = int(layer.get(0, 1)), layer.get(1, [])
        if op != 1:
            raise WeightsError(f"layer {layer.name}: Eltwise operation {op} is not supported (only 1 = sum)")
        coeffs = coeffs or [1.0] * len(inputs)
        return sum(float(c) * x for c, x in zip(coeffs, inputs))
    if t == "BinaryOp":
        op = int(layer.get(0, 0))
        if len(inputs) != 2 or int(layer.get(1, 0)) or op not in (0, 1, 2):
            raise WeightsError(f"layer {layer.name}: only two-input BinaryOp add/sub/mul is supported")
        a, b = inputs
        return a + b if op == 0 else a - b if op == 1 else a * b
    if t == "Interp":
        mode = _INTERP_MODES.get(int(layer.get(0, 0)))
        if mode is None or layer.get(3) or layer.get(4) or int(layer.get(6, 0)):
            raise WeightsError(f"layer {layer.name}: only Interp by scale factors (nearest/bilinear/bicubic, "
                               "align_corners off) is supported")
        sh, sw = float(layer.get(1, 1.0)), float(layer.get(2, 1.0))
        kwargs = {} if mode == "nearest" else {"align_corners": False}
        return F.interpolate(inputs[0], scale_factor=(sh, sw), mode=mode, **kwargs)
    if t == "PixelShuffle":
        if int(layer.get(1, 0)):
            raise WeightsError(f"layer {layer.name}: PixelShuffle mode {layer.get(1)} is not supported")
        return F.pixel_shuffle(inputs[0], int(layer.get(0, 1)))
    raise WeightsError(f"layer {layer.name}: type {t!r} cannot be run")


@torch.no_grad()
def run_ncnn_graph(model: NcnnModel, x: torch.Tensor) -> torch.Tensor:
    """Evaluate the graph on an (N,C,H,W) float32 tensor with torch ops (reference semantics, not speed).

    The single ``Input`` blob receives ``x``; the result is the one blob that no layer consumes.
    """
    blobs: dict[str, torch.Tensor] = {}
    consumed: set[str] = set()
    for layer in model.layers:
        if layer.type == "Input":
            for top in layer.tops:
                blobs[top] = x.float()
            continue
        missing = [b for b in layer.bottoms if b not in blobs]
        if missing:
            raise WeightsError(f"{model.source}: layer {layer.name} reads blob(s) {missing} before any layer makes them")
        inputs = [blobs[b] for b in layer.bottoms]
        consumed.update(layer.bottoms)
        if layer.type == "Split":
            for top in layer.tops:
                blobs[top] = inputs[0]
            continue
        if len(layer.tops) != 1:
            raise WeightsError(f"layer {layer.name}: {layer.type} with {len(layer.tops)} outputs is not supported")
        blobs[layer.tops[0]] = _run_layer(layer, inputs, model.weights.get(layer.name, {}))
    outputs = [name for name in blobs if name not in consumed]
    if len(outputs) != 1:
        raise WeightsError(f"{model.source}: the graph ends in {len(outputs)} blobs ({outputs[:4]}), expected one")
    return blobs[outputs[0]]
