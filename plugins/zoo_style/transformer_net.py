"""``TransformerNet`` of pytorch/examples ``fast_neural_style`` (Johnson et al. 2016 with instance norm).

Same module names as upstream so the official ``saved_models/{candy,mosaic,rain_princess,udnie}.pth``
load strictly (62 keys, 1,679,235 parameters):

- ``ConvLayer`` = ``reflection_pad`` (k // 2) + ``conv2d`` (with bias);
- ``conv1`` 9x9 3->32, ``conv2`` 3x3/2 32->64, ``conv3`` 3x3/2 64->128, each followed by ``in1..in3``
  (``InstanceNorm2d(affine=True)``, no running stats) and ReLU;
- ``res1..res5``: ``conv1, in1, ReLU, conv2, in2`` plus the input (no ReLU after the sum);
- ``deconv1`` 128->64 and ``deconv2`` 64->32: nearest x2 upsampling then a 3x3 ``ConvLayer``, with
  ``in4``/``in5`` and ReLU; ``deconv3`` 9x9 32->3, no normalisation and **no output activation**.

Input and output are RGB in [0, 255]. Inputs whose sides are not multiples of 4 come out slightly
larger (upstream behaviour); the catalog's ``size_multiple: 4`` pads and crops around that.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TransformerNet", "ConvLayer", "ResidualBlock", "UpsampleConvLayer", "adapt_fast_neural_style",
           "DEPRECATED_NORM_KEY"]

#: keys that checkpoints saved before PyTorch 0.4 carry for InstanceNorm (top level ``inN.`` and ``resK.inN.``)
DEPRECATED_NORM_KEY = re.compile(r"(^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$")


class ConvLayer(nn.Module):
    """Reflection padding of ``kernel // 2`` then a conv with bias (keys ``conv2d.weight/bias``)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(in_ch, out_ch, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    """x + in2(conv2(relu(in1(conv1(x))))), 3x3 convs, channels unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3, 1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, 3, 1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x)))))


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour upsampling by ``upsample`` (if given), then a :class:`ConvLayer`-style conv.

    Upsample-then-convolve instead of a transposed conv avoids checkerboard artefacts.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, upsample: int | None = None) -> None:
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(in_ch, out_ch, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(nn.Module):
    """The image transformation network; RGB [0, 255] in, unbounded RGB (about [0, 255]) out."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvLayer(3, 32, 9, 1)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, 3, 2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, 3, 2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, 3, 1, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, 3, 1, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, 9, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def adapt_fast_neural_style(state_dict: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Drop the InstanceNorm running statistics that pre-0.4 PyTorch saved (upstream ``stylize`` does the same).

    Everything else passes unchanged to the core's strict load, which names any other mismatch.
    """
    return {k: v for k, v in state_dict.items() if not DEPRECATED_NORM_KEY.search(k)}
