"""The fast style transfer network of Engstrom (github.com/lengstrom/fast-style-transfer), as ml5.js runs it.

Johnson et al.'s image transformation network in TensorFlow form, which the ml5.js checkpoints
(``ml5js/ml5-data-and-models``, models/style-transfer) were trained with:

- 16 conv layers, each ``conv (no bias) -> instance norm (eps 1e-3, learned scale/shift)``, ReLU unless
  noted: ``conv1`` 9x9 3->32, ``conv2`` 3x3/2 32->64, ``conv3`` 3x3/2 64->128; ``res1..res5`` residual
  blocks (``conv1`` with ReLU, ``conv2`` without, input added, no ReLU after the sum); ``deconv1``
  128->64 and ``deconv2`` 64->32, 3x3 transposed convs of stride 2; ``conv_out`` 9x9 32->3 without
  ReLU; then ``tanh(x) * 150 + 127.5``. Input and output are RGB in [0, 255].
- Convolutions use TensorFlow's ``SAME`` zero padding (asymmetric, the extra row/column at the
  bottom/right, when a stride-2 conv meets an even size) and the transposed convs follow
  ``tf.nn.conv2d_transpose(..., output_shape=2*input, padding='SAME')``: the exact adjoint of that
  SAME convolution. Inputs of any size work; sizes that are not a multiple of 4 give an output
  rounded up to one (``4 * ceil(ceil(n / 2) / 2)``), as upstream.

State-dict keys: ``<layer>.conv.weight`` (PyTorch layout: OIHW for convs, IOHW for the transposed
ones), ``<layer>.norm.weight`` (TF ``scale``), ``<layer>.norm.bias`` (TF ``shift``), with ``<layer>``
in :data:`LAYER_NAMES` order, which is also the order of the checkpoint's variables.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EngstromStyleNet", "LayerSpec", "LAYERS", "LAYER_NAMES", "tf_same_padding", "TFSameConv2d",
           "TFSameConvTranspose2d"]

NORM_EPS = 1e-3  # TF code: ``epsilon = 1e-3`` in the instance norm
OUTPUT_SCALE, OUTPUT_SHIFT = 150.0, 255.0 / 2


@dataclass(frozen=True)
class LayerSpec:
    """One conv layer of the network, in checkpoint order."""

    name: str
    in_ch: int
    out_ch: int
    kernel: int
    stride: int
    transposed: bool = False

    @property
    def tf_kernel_shape(self) -> tuple[int, int, int, int]:
        """The TF variable's shape: HWIO for a conv, HW(out)(in) for a transposed conv."""
        if self.transposed:
            return (self.kernel, self.kernel, self.out_ch, self.in_ch)
        return (self.kernel, self.kernel, self.in_ch, self.out_ch)


def _layers() -> tuple[LayerSpec, ...]:
    specs = [LayerSpec("conv1", 3, 32, 9, 1), LayerSpec("conv2", 32, 64, 3, 2), LayerSpec("conv3", 64, 128, 3, 2)]
    for block in range(1, 6):
        specs += [LayerSpec(f"res{block}.conv1", 128, 128, 3, 1), LayerSpec(f"res{block}.conv2", 128, 128, 3, 1)]
    specs += [LayerSpec("deconv1", 128, 64, 3, 2, transposed=True), LayerSpec("deconv2", 64, 32, 3, 2, transposed=True),
              LayerSpec("conv_out", 32, 3, 9, 1)]
    return tuple(specs)


#: The 16 layers in the order their variables were created (weight, shift, scale per layer).
LAYERS: tuple[LayerSpec, ...] = _layers()
LAYER_NAMES: tuple[str, ...] = tuple(spec.name for spec in LAYERS)


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding of TF's ``SAME``: output ``ceil(size / stride)``, extra pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class TFSameConv2d(nn.Module):
    """A bias-free conv with TF ``SAME`` padding, computed from the input size at every call."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.stride, self.kernel = stride, kernel
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, kernel, kernel))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = tf_same_padding(x.shape[-2], self.kernel, self.stride)
        left, right = tf_same_padding(x.shape[-1], self.kernel, self.stride)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, stride=self.stride)


class TFSameConvTranspose2d(nn.Module):
    """``tf.nn.conv2d_transpose`` with ``SAME`` padding and output size ``stride * input`` (bias-free).

    The result is the adjoint of a :class:`TFSameConv2d` that maps the output size back to the input
    size: the full transposed convolution, cropped by that conv's leading padding.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 2) -> None:
        super().__init__()
        self.stride, self.kernel = stride, kernel
        self.weight = nn.Parameter(torch.empty(in_ch, out_ch, kernel, kernel))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        out_h, out_w = h * self.stride, w * self.stride
        top, _ = tf_same_padding(out_h, self.kernel, self.stride)
        left, _ = tf_same_padding(out_w, self.kernel, self.stride)
        full = F.conv_transpose2d(x, self.weight, stride=self.stride)
        # a kernel smaller than the stride leaves the last rows uncovered: they are zero in TF too
        short_h, short_w = max(top + out_h - full.shape[-2], 0), max(left + out_w - full.shape[-1], 0)
        if short_h or short_w:
            full = F.pad(full, (0, short_w, 0, short_h))
        return full[..., top: top + out_h, left: left + out_w]


class ConvNorm(nn.Module):
    """conv (TF SAME, no bias) -> instance norm with learned scale/shift -> optional ReLU."""

    def __init__(self, spec: LayerSpec, relu: bool = True) -> None:
        super().__init__()
        conv_cls = TFSameConvTranspose2d if spec.transposed else TFSameConv2d
        self.conv = conv_cls(spec.in_ch, spec.out_ch, spec.kernel, spec.stride)
        # TF moments use the biased variance, as PyTorch's instance norm does
        self.norm = nn.InstanceNorm2d(spec.out_ch, eps=NORM_EPS, affine=True)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x))
        return F.relu(y) if self.relu else y


class ResidualBlock(nn.Module):
    """x + conv_norm(relu(conv_norm(x))); no activation after the sum."""

    def __init__(self, conv1: LayerSpec, conv2: LayerSpec) -> None:
        super().__init__()
        self.conv1 = ConvNorm(conv1, relu=True)
        self.conv2 = ConvNorm(conv2, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


class EngstromStyleNet(nn.Module):
    """The fast style transfer network (1,677,638 parameters); RGB [0, 255] in, RGB in [-22.5, 277.5] out."""

    def __init__(self) -> None:
        super().__init__()
        spec = {s.name: s for s in LAYERS}
        self.conv1 = ConvNorm(spec["conv1"])
        self.conv2 = ConvNorm(spec["conv2"])
        self.conv3 = ConvNorm(spec["conv3"])
        for block in range(1, 6):
            setattr(self, f"res{block}", ResidualBlock(spec[f"res{block}.conv1"], spec[f"res{block}.conv2"]))
        self.deconv1 = ConvNorm(spec["deconv1"])
        self.deconv2 = ConvNorm(spec["deconv2"])
        self.conv_out = ConvNorm(spec["conv_out"], relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.conv2(self.conv1(x)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = self.conv_out(self.deconv2(self.deconv1(y)))
        return torch.tanh(y) * OUTPUT_SCALE + OUTPUT_SHIFT
