"""VDSR (Kim, Lee & Lee, CVPR 2016): a 20-layer residual CNN that sharpens a bicubic-upscaled luma.

Layout follows github.com/twtygqyy/pytorch-vdsr so its checkpoint loads strictly: ``input`` conv 1->64
+ ReLU, ``residual_layer`` = 18 x (``conv`` 64->64 + ReLU), ``output`` conv 64->1, all 3x3 without bias,
plus the input added back (the network predicts the residual). One set of weights serves x2, x3, x4:
the scale only decides how far the image is upscaled (MATLAB bicubic) before the network runs.

The official ``model_epoch_50.pth`` is a pickle of a whole ``vdsr.Net`` object (PyTorch 0.3, legacy
non-zip format). It is read by :func:`read_module_pickle` in :mod:`zoo_sr.vdsr_checkpoint`, which never
imports or runs anything from the file. :class:`VDSRPipeline` is the Y-channel pipeline.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from zoo.inference import ImagePipeline
from zoo.metrics import YCBCR_MATRIX, YCBCR_OFFSET

from .imresize import imresize
from .vdsr_checkpoint import read_module_pickle

__all__ = ["VDSR", "VDSRPipeline", "read_vdsr_checkpoint", "rgb_to_ycbcr", "ycbcr_to_rgb", "bicubic_upscale"]


class ConvReLUBlock(nn.Module):
    """3x3 conv without bias followed by ReLU (upstream ``Conv_ReLU_Block``: keys ``conv.weight``)."""

    def __init__(self, num_feat: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x))


class VDSR(nn.Module):
    """VDSR on one channel (Y in [0, 1]); output = input + predicted residual, same size as the input.

    ``num_block`` middle layers (18 in the paper: 20 conv layers in all) of ``num_feat`` channels.
    State-dict keys: ``input.weight``, ``residual_layer.{i}.conv.weight``, ``output.weight``.
    """

    def __init__(self, num_feat: int = 64, num_block: int = 18, num_in_ch: int = 1) -> None:
        super().__init__()
        self.residual_layer = nn.Sequential(*[ConvReLUBlock(num_feat) for _ in range(num_block)])
        self.input = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1, bias=False)
        self.output = nn.Conv2d(num_feat, num_in_ch, 3, 1, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # He init, std sqrt(2 / (k * k * out)) as upstream
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.input(x))
        out = self.residual_layer(out)
        return self.output(out) + x


def read_vdsr_checkpoint(path: Any) -> dict[str, torch.Tensor]:
    """Reader of the ``vdsr-legacy-pickle`` weights format: the upstream checkpoint -> our state_dict."""
    return read_module_pickle(path)


# -- colour and resizing, on (N, C, H, W) tensors -------------------------------------------------
def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """MATLAB ``rgb2ycbcr`` on float RGB in [0, 1] -> YCbCr in [0, 1] (Y in [16, 235] / 255)."""
    matrix = torch.as_tensor(YCBCR_MATRIX / 255.0, dtype=rgb.dtype, device=rgb.device)
    offset = torch.as_tensor(YCBCR_OFFSET / 255.0, dtype=rgb.dtype, device=rgb.device)
    return torch.einsum("ij,njhw->nihw", matrix, rgb) + offset[None, :, None, None]


def ycbcr_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (MATLAB ``ycbcr2rgb`` for floats); not clamped."""
    inverse = torch.as_tensor(255.0 * np.linalg.inv(YCBCR_MATRIX), dtype=ycc.dtype, device=ycc.device)
    offset = torch.as_tensor(YCBCR_OFFSET / 255.0, dtype=ycc.dtype, device=ycc.device)
    return torch.einsum("ij,njhw->nihw", inverse, ycc - offset[None, :, None, None])


def bicubic_upscale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """MATLAB ``imresize(x, scale, 'bicubic')`` of a float batch, in float64 where the device has it (no rounding)."""
    work = x if x.device.type == "mps" else x.double()
    return imresize(work, scale).to(x.dtype)


def _check_scale(scale: Any) -> float:
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"VDSR scale must be a number such as 2, 3 or 4, got {scale!r}") from None
    if not math.isfinite(value) or value < 1.0:
        raise ValueError(f"VDSR scale must be >= 1 (it upscales), got {scale!r}")
    return value


class VDSRPipeline(ImagePipeline):
    """RGB image -> MATLAB-bicubic upscale by ``scale`` -> VDSR on Y -> Y' + bicubic CbCr -> RGB.

    The scale comes from the call (``pipe(img, scale=3)`` or ``outscale=3``), else from the
    constructor (``zoo.load(name, scale=3)``), else from the entry's ``processing.scale``. Any
    factor >= 1 works; the released weights were trained on x2, x3 and x4. The output size is
    ``ceil(scale * input)`` (MATLAB's rule). Tiling splits the upscaled luma; the network sees
    41 x 41 pixels around each output pixel, so a ``tile_pad`` of 20 or more reproduces the untiled result.
    """

    keep_gray = True

    def __init__(self, model: nn.Module, entry: Any, *, scale: float | None = None, **options: Any) -> None:
        super().__init__(model, entry, **options)
        self.scale = _check_scale(entry.processing.scale if scale is None else scale)
        # the network itself maps Y to Y at the same size: run_model/tiling must not rescale
        self.processing = replace(entry.processing, scale=1, size_multiple=1)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", scale={self.scale:g})"

    @property
    def metadata(self) -> dict[str, Any]:
        meta = super().metadata
        meta["scale"] = self.scale
        return meta

    def __call__(self, images: Any, *, scale: float | None = None, outscale: float | None = None,
                 tile: int | str | None = None, tile_pad: int | None = None, **call_options: Any) -> Any:
        if scale is not None and outscale is not None and float(scale) != float(outscale):
            raise ValueError(f"give scale or outscale, not both with different values ({scale} vs {outscale})")
        factor = scale if scale is not None else outscale
        return super().__call__(images, tile=tile, tile_pad=tile_pad,
                                outscale=None if factor is None else _check_scale(factor), **call_options)

    __call__.__doc__ = ("Upscale by ``scale`` (any factor >= 1; ``outscale`` is the same); other options as below.\n\n"
                        + inspect.cleandoc(ImagePipeline.__call__.__doc__ or ""))

    @torch.inference_mode()
    def process(self, x: torch.Tensor, *, tile: int | str | None = None, tile_pad: int | None = None,
                outscale: float | None = None) -> torch.Tensor:
        """(N,3,H,W) RGB in [0,1] -> (N,3,ceil(sH),ceil(sW)) RGB in [0,1]."""
        scale = self.scale if outscale is None else _check_scale(outscale)
        tile = self.tile if tile is None else tile
        tile_pad = self.tile_pad if tile_pad is None else tile_pad
        if not tile:
            x = x.to(self.device)
        ycc = rgb_to_ycbcr(bicubic_upscale(x.float(), scale))
        if tile == "auto":
            tile = self.auto_tile(ycc)
        luma = self.postprocess(self.run_model(self.preprocess(ycc[:, :1]), int(tile or 0), int(tile_pad)))
        return ycbcr_to_rgb(torch.cat([luma.to(ycc), ycc[:, 1:]], 1)).clamp(0, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The network on a Y batch; an RGB batch (e.g. a memory probe) is turned into Y first."""
        if z.shape[1] == 3:
            z = rgb_to_ycbcr(z.float())[:, :1]
        return super().forward(z)

