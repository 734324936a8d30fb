"""Super-resolution generators with the BasicSR / Real-ESRGAN state_dict layouts.

* :class:`RRDBNet` — ESRGAN's Residual-in-Residual Dense Block network (``RealESRGAN_x4plus``,
  ``RealESRGAN_x2plus``, ``RealESRGAN_x4plus_anime_6B``, ``ESRGAN_SRx4_DF2KOST_official``). Scales 2 and 1
  fold the input into channels with a pixel-unshuffle first, so the trunk always upsamples x4.
* :class:`SRVGGNetCompact` — Real-ESRGAN's plain VGG-style network (``realesr-animevideov3``,
  ``realesr-general-x4v3``): convs + PReLU, pixel-shuffle, plus the nearest-upsampled input.
* :class:`MSRResNet` — BasicSR's modified SRResNet (no batch norm, global bilinear skip).

All take RGB in [0, 1] and return RGB of ``scale`` times the size, unclamped (the pipeline clamps).
Parameter names and module order equal the upstream ones, so official checkpoints load strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["pixel_unshuffle", "ResidualDenseBlock", "RRDB", "RRDBNet", "SRVGGNetCompact",
           "ResidualBlockNoBN", "MSRResNet"]


def pixel_unshuffle(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Fold each ``factor x factor`` patch into channels: (N,C,H,W) -> (N, C*factor^2, H/factor, W/factor).

    The channel order (c, dy, dx) is the one BasicSR's ``pixel_unshuffle`` and ``F.pixel_unshuffle`` use.
    """
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"pixel_unshuffle by {factor} needs height and width divisible by {factor}, "
                         f"got {h}x{w}; pad the input to a multiple of {factor}")
    return F.pixel_unshuffle(x, factor)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; the output is ``0.2 * conv5(...) + input``."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(num_feat + (i - 1) * num_grow_ch, num_grow_ch, 3, 1, 1))
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for i in range(1, 5):
            conv = getattr(self, f"conv{i}")
            features.append(self.lrelu(conv(torch.cat(features, 1))))
        return self.conv5(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks in a residual, also scaled by 0.2."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN / Real-ESRGAN generator (BasicSR ``RRDBNet``).

    ``scale`` 4 runs the trunk on the input; ``scale`` 2 (1) pixel-unshuffles by 2 (4) first, so
    ``conv_first`` reads ``num_in_ch * 4`` (``* 16``) channels and inputs must have sides divisible by
    2 (4). Upsampling is nearest x2 + conv, twice. Keys: ``conv_first``, ``body.{i}.rdb{1,2,3}.conv{1..5}``,
    ``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``.
    """

    UNSHUFFLE = {4: 1, 2: 2, 1: 4}

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64,
                 num_block: int = 23, num_grow_ch: int = 32) -> None:
        super().__init__()
        if scale not in self.UNSHUFFLE:
            raise ValueError(f"RRDBNet supports scale 1, 2 or 4, got {scale}")
        self.scale = scale
        self.unshuffle = self.UNSHUFFLE[scale]
        self.conv_first = nn.Conv2d(num_in_ch * self.unshuffle ** 2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if act_type == "relu":
        return nn.ReLU(inplace=True)
    if act_type == "leakyrelu":
        return nn.LeakyReLU(negative_slope=0.1, inplace=True)
    raise ValueError(f"act_type must be 'prelu', 'relu' or 'leakyrelu', got {act_type!r}")


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact VGG-style generator.

    ``body`` is one flat ``nn.Sequential``: conv(in->feat), act, ``num_conv`` x [conv(feat->feat), act],
    conv(feat -> out * upscale^2); keys ``body.{2k}.weight/bias`` (convs) and ``body.{2k+1}.weight``
    (PReLU slopes). The pixel-shuffled output is added to the nearest-upsampled input.
    """

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4, act_type: str = "prelu") -> None:
        super().__init__()
        if num_in_ch != num_out_ch:
            raise ValueError(f"SRVGGNetCompact adds the upsampled input to its output, so num_in_ch must equal "
                             f"num_out_ch (got {num_in_ch} and {num_out_ch})")
        self.upscale = upscale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.Sequential(*layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.upsampler(self.body(x))
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


class ResidualBlockNoBN(nn.Module):
    """conv -> ReLU -> conv, added to the input (times ``res_scale``); keys ``conv1``, ``conv2``."""

    def __init__(self, num_feat: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class MSRResNet(nn.Module):
    """BasicSR's modified SRResNet: no batch norm, LeakyReLU(0.1), pixel-shuffle upsampling,
    plus the bilinear-upsampled input (``align_corners=False``).

    ``upscale`` 4 uses ``upconv1`` and ``upconv2`` (x2 each); 2 and 3 use one ``upconv1``.
    ``upsample_act=False`` leaves out the LeakyReLU after each pixel-shuffle, as mmediting/mmagic's
    MSRResNet (``PixelShufflePack`` modules) does; BasicSR applies it.
    """

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_block: int = 16,
                 upscale: int = 4, upsample_act: bool = True) -> None:
        super().__init__()
        if upscale not in (2, 3, 4):
            raise ValueError(f"MSRResNet supports upscale 2, 3 or 4, got {upscale}")
        self.upscale = upscale
        self.upsample_act = upsample_act
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(num_feat) for _ in range(num_block)])
        step = 2 if upscale == 4 else upscale
        self.upconv1 = nn.Conv2d(num_feat, num_feat * step * step, 3, 1, 1)
        if upscale == 4:
            self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(step)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.body(self.lrelu(self.conv_first(x)))
        act = self.lrelu if self.upsample_act else _identity
        feat = act(self.pixel_shuffle(self.upconv1(feat)))
        if self.upscale == 4:
            feat = act(self.pixel_shuffle(self.upconv2(feat)))
        out = self.conv_last(self.lrelu(self.conv_hr(feat)))
        return out + F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)
