"""CycleGAN / pix2pix networks with the state_dict layout of junyanz/pytorch-CycleGAN-and-pix2pix.

Every module sits at the same index of the same ``nn.Sequential`` as in the upstream code, so an
official checkpoint loads with ``strict=True`` (after :mod:`zoo_translation.adapters` drops the
InstanceNorm buffers that pre-0.4 PyTorch saved). Upstream conventions reproduced on purpose:

* ``norm`` is a string: ``"batch"`` (affine, running stats), ``"instance"`` (no affine, no running
  stats) or ``"none"``. Convolutions that feed a norm layer carry a bias only for ``"instance"``
  (BatchNorm's shift makes it redundant); with ``"none"`` they carry no bias either, as upstream.
* Parameter-free layers (padding, activations, dropout, identity norms) still occupy an index,
  which is why dropout in a ResNet block moves the second convolution from ``conv_block.5`` to ``.6``.
* Generators end in ``Tanh`` (outputs in [-1, 1]); discriminators output raw logits.

Defaults follow upstream's class signatures (BatchNorm, 6 ResNet blocks); catalog entries state
every argument explicitly. Activations here are not in-place: upstream's in-place LeakyReLU also
rewrites the U-Net skip tensor, but a ReLU follows every concatenation, so results are identical.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

NORM_TYPES = ("batch", "instance", "none")
PADDING_TYPES = ("reflect", "replicate", "zero")


def norm_layer_factory(norm: str) -> tuple[Callable[[int], nn.Module], bool]:
    """``(make_norm(channels), conv_bias)`` for a norm name, with upstream's bias rule."""
    if norm == "batch":
        return (lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)), False
    if norm == "instance":
        return (lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)), True
    if norm == "none":
        return (lambda channels: nn.Identity()), False
    raise ValueError(f"unknown norm {norm!r}; expected one of {', '.join(NORM_TYPES)}")


def _padding(padding_type: str) -> tuple[list[nn.Module], int]:
    """The explicit padding layer(s) and the conv's own padding for a 3x3 convolution."""
    if padding_type == "reflect":
        return [nn.ReflectionPad2d(1)], 0
    if padding_type == "replicate":
        return [nn.ReplicationPad2d(1)], 0
    if padding_type == "zero":
        return [], 1
    raise ValueError(f"unknown padding_type {padding_type!r}; expected one of {', '.join(PADDING_TYPES)}")


class ResnetBlock(nn.Module):
    """``x + conv_block(x)``: pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3, norm (no final activation)."""

    def __init__(self, dim: int, padding_type: str = "reflect", norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        make_norm, bias = norm_layer_factory(norm)
        layers: list[nn.Module] = []
        pad_layers, conv_padding = _padding(padding_type)
        layers += [*pad_layers, nn.Conv2d(dim, dim, kernel_size=3, padding=conv_padding, bias=bias),
                   make_norm(dim), nn.ReLU()]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        pad_layers, conv_padding = _padding(padding_type)
        layers += [*pad_layers, nn.Conv2d(dim, dim, kernel_size=3, padding=conv_padding, bias=bias), make_norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Johnson-style encoder / ResNet blocks / decoder generator (CycleGAN's ``resnet_9blocks``/``resnet_6blocks``).

    Two stride-2 downsamplings and two transposed-conv upsamplings: any input size works and the
    output size is the input size rounded up to a multiple of 4.
    """

    #: index in ``model`` of the first ResNet block (pad, conv, norm, relu, 2 x (conv, norm, relu))
    FIRST_BLOCK_INDEX = 10

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, norm: str = "batch",
                 use_dropout: bool = False, n_blocks: int = 6, padding_type: str = "reflect") -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        _padding(padding_type)  # validate early, even with n_blocks=0
        make_norm, bias = norm_layer_factory(norm)
        self.input_nc, self.output_nc, self.ngf = input_nc, output_nc, ngf
        self.norm, self.use_dropout, self.n_blocks, self.padding_type = norm, use_dropout, n_blocks, padding_type

        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=bias),
                                   make_norm(ngf), nn.ReLU()]
        channels = ngf
        for _ in range(2):  # downsampling
            layers += [nn.Conv2d(channels, channels * 2, kernel_size=3, stride=2, padding=1, bias=bias),
                       make_norm(channels * 2), nn.ReLU()]
            channels *= 2
        layers += [ResnetBlock(channels, padding_type, norm, use_dropout) for _ in range(n_blocks)]
        for _ in range(2):  # upsampling; output_padding=1 makes each stage exactly double the size
            layers += [nn.ConvTranspose2d(channels, channels // 2, kernel_size=3, stride=2, padding=1,
                                          output_padding=1, bias=bias),
                       make_norm(channels // 2), nn.ReLU()]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: ``[x, up(sub(down(x)))]`` concatenated on channels (the outermost level returns no skip).

    ``model`` layouts (indices matter for checkpoints):
    outermost ``[conv, sub, relu, convT, tanh]``; innermost ``[lrelu, conv, relu, convT, norm]``;
    otherwise ``[lrelu, conv, norm, sub, relu, convT, norm(, dropout)]``.
    """

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        if outermost and innermost:
            raise ValueError("a U-Net block cannot be both the outermost and the innermost one")
        if not innermost and submodule is None:
            raise ValueError("a U-Net block needs a submodule unless it is the innermost one")
        make_norm, bias = norm_layer_factory(norm)
        self.outermost = outermost
        in_channels = outer_nc if input_nc is None else input_nc
        down_conv = nn.Conv2d(in_channels, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias)
        if outermost:
            assert submodule is not None
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)  # always biased
            layers: list[nn.Module] = [down_conv, submodule, nn.ReLU(), up_conv, nn.Tanh()]
        elif innermost:
            up_conv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down_conv, nn.ReLU(), up_conv, make_norm(outer_nc)]
        else:
            assert submodule is not None
            up_conv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2), down_conv, make_norm(inner_nc), submodule,
                      nn.ReLU(), up_conv, make_norm(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix's U-Net generator: ``num_downs`` stride-2 levels (8 = ``unet_256``, 7 = ``unet_128``).

    Built from the innermost level outwards; the ``num_downs - 5`` levels next to the bottleneck
    have ``8 * ngf`` channels and (with ``use_dropout``) dropout after their up-path. Height and
    width must be multiples of ``2 ** num_downs``.
    """

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (the fixed outer levels), got {num_downs}")
        norm_layer_factory(norm)  # validate the name before building anything
        self.input_nc, self.output_nc, self.ngf = input_nc, output_nc, ngf
        self.num_downs, self.norm, self.use_dropout = num_downs, norm, use_dropout
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
        for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
            block = UnetSkipConnectionBlock(outer, inner, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                             outermost=True, norm=norm)

    @property
    def size_multiple(self) -> int:
        return 1 << self.num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = self.size_multiple
        h, w = x.shape[-2:]
        if not torch.jit.is_tracing() and (h % multiple or w % multiple):
            raise ValueError(f"UnetGenerator(num_downs={self.num_downs}) needs height and width divisible by "
                             f"{multiple}, got {h}x{w}; pad or resize the input (zoo pipelines pad to "
                             f"processing.size_multiple)")
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator: ``n_layers`` stride-2 convs, one stride-1 conv, then a 1-channel logit map.

    ``n_layers=3`` is the 70x70 PatchGAN (``--netD basic``): a 256x256 input gives a 30x30 map.
    """

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        make_norm, bias = norm_layer_factory(norm)
        self.input_nc, self.ndf, self.n_layers, self.norm = input_nc, ndf, n_layers, norm
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        channels = ndf
        for n in range(1, n_layers + 1):
            out_channels = ndf * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1  # the last feature conv keeps the resolution
            layers += [nn.Conv2d(channels, out_channels, kernel_size=4, stride=stride, padding=1, bias=bias),
                       make_norm(out_channels), nn.LeakyReLU(0.2)]
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN ("PixelGAN"): per-pixel real/fake logits from 1x1 convolutions.

    As upstream, the last conv's bias follows the norm rule too, and the attribute is ``net``.
    """

    def __init__(self, input_nc: int = 3, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        make_norm, bias = norm_layer_factory(norm)
        self.input_nc, self.ndf, self.norm = input_nc, ndf, norm
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1, stride=1, padding=0), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, stride=1, padding=0, bias=bias), make_norm(ndf * 2),
            nn.LeakyReLU(0.2), nn.Conv2d(ndf * 2, 1, kernel_size=1, stride=1, padding=0, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
