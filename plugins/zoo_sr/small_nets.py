"""Small post-upsampling SR networks that run on the low-resolution luma: ESPCN and FSRCNN.

* ESPCN (Shi et al., CVPR 2016): conv 5x5 -> 64, conv 3x3 -> 32, conv 3x3 -> scale^2 channels, then a
  sub-pixel shuffle; tanh activations as in the paper (``activation="relu"`` is a common variant).
* FSRCNN (Dong, Loy & Tang, ECCV 2016): feature extraction 5x5 -> d, shrinking 1x1 -> s, m mapping
  3x3 layers, expanding 1x1 -> d (PReLU after each), and a 9x9 transposed convolution with stride scale.

Both see only the luma (Y of MATLAB ``rgb2ycbcr``, in [0, 1]) at the input size and return it ``scale``
times larger. :class:`LumaSRPipeline` is their inference pipeline (task ``super-resolution-luma``):
RGB -> YCbCr, the network on Y, Cb/Cr upscaled by MATLAB-compatible bicubic, back to RGB.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.inference import ImagePipeline

from .vdsr import bicubic_upscale, rgb_to_ycbcr, ycbcr_to_rgb

__all__ = ["ESPCN", "FSRCNN", "LumaSRPipeline"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "prelu": nn.PReLU}


def _activation(name: str) -> nn.Module:
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {name!r}") from None


class ESPCN(nn.Module):
    """Efficient sub-pixel CNN: three convolutions at LR resolution and a pixel shuffle by ``scale``."""

    def __init__(self, scale: int = 3, num_in_ch: int = 1, num_out_ch: int | None = None, num_feat: int = 64,
                 num_feat2: int = 32, activation: str = "tanh") -> None:
        super().__init__()
        if int(scale) < 1:
            raise ValueError(f"ESPCN scale must be >= 1, got {scale}")
        self.scale = int(scale)
        out_ch = num_in_ch if num_out_ch is None else num_out_ch
        self.body = nn.Sequential(
            nn.Conv2d(num_in_ch, num_feat, 5, 1, 2), _activation(activation),
            nn.Conv2d(num_feat, num_feat2, 3, 1, 1), _activation(activation),
            nn.Conv2d(num_feat2, out_ch * self.scale ** 2, 3, 1, 1))
        self.shuffle = nn.PixelShuffle(self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.body(x))


class FSRCNN(nn.Module):
    """Fast SR CNN: extract (5x5, d), shrink (1x1, s), map (m x 3x3, s), expand (1x1, d), deconvolve (9x9, /scale)."""

    def __init__(self, scale: int = 3, num_in_ch: int = 1, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        if int(scale) < 1:
            raise ValueError(f"FSRCNN scale must be >= 1, got {scale}")
        self.scale = int(scale)
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, d, 5, 1, 2), nn.PReLU(d), nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, 1, 1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        self.deconv = nn.ConvTranspose2d(d, num_in_ch, 9, stride=self.scale, padding=4, output_padding=self.scale - 1)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The paper's initialisation: He-normal convolutions, N(0, 0.001) deconvolution, zero biases."""
        for module in self.body:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0.25, nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.deconv.weight, 0.0, 0.001)
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.body(x))


class LumaSRPipeline(ImagePipeline):
    """RGB -> YCbCr (MATLAB) -> network on the LR luma (``scale`` x larger) + bicubic chroma -> RGB.

    Grayscale inputs stay grayscale (``keep_gray``). Tiling splits the luma like any other input.
    """

    keep_gray = True

    @torch.inference_mode()
    def process(self, x: torch.Tensor, *, tile: int | str | None = None, tile_pad: int | None = None,
                outscale: float | None = None) -> torch.Tensor:
        """(N,3,H,W) RGB in [0,1] -> (N,3,sH,sW) RGB in [0,1]."""
        tile = self.tile if tile is None else tile
        tile_pad = self.tile_pad if tile_pad is None else tile_pad
        if not tile:
            x = x.to(self.device)
        ycc = rgb_to_ycbcr(x.float())
        if tile == "auto":
            tile = self.auto_tile(ycc[:, :1])
        luma = self.postprocess(self.run_model(self.preprocess(ycc[:, :1]), int(tile or 0), int(tile_pad)))
        chroma = bicubic_upscale(ycc[:, 1:], float(self.processing.scale)).to(luma.device)
        rgb = ycbcr_to_rgb(torch.cat([luma.to(chroma.dtype), chroma[..., : luma.shape[-2], : luma.shape[-1]]], 1))
        return self.apply_outscale(rgb.clamp(0, 1), tuple(x.shape[-2:]), outscale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The network on a Y batch; an RGB batch (e.g. a memory probe) is turned into Y first."""
        if z.shape[1] == 3:
            z = rgb_to_ycbcr(z.float())[:, :1]
        return super().forward(z)
