"""zoo built-in plugin: image-to-image translation (CycleGAN, pix2pix).

Registers the junyanz/pytorch-CycleGAN-and-pix2pix networks (``resnet_generator``,
``unet_generator``, ``nlayer_discriminator``, ``pixel_discriminator``), their training losses, the
``unpaired-translation`` / ``paired-translation`` / ``colorization`` tasks (trainers in :mod:`.trainers` and
:mod:`.colorization`) and the ``junyanz`` checkpoint format.
Catalog entries live in the ``translation`` section of the zoo's ``registry.yaml``.

Loss names carry a prefix (``junyanz_gan``, ``junyanz_gradient_penalty``, ``cycle_consistency``,
``cycle_identity``) because loss names are shared by all plugins.

Everything is named by import path, so importing this package does not import torch.
Submodules: :mod:`.networks`, :mod:`.adapters`, :mod:`.losses`, :mod:`.training`, :mod:`.modes`
(pix2pix's paper test mode, an explicit opt-in).
"""

from __future__ import annotations

from typing import Callable

from zoo.registry import Architecture, Loss, Task, WeightFormat, hookimpl

_NETWORKS = "zoo_translation.networks"
_LOSSES = "zoo_translation.losses"


@hookimpl
def zoo_register_architectures(register: Callable) -> None:
    register(Architecture(
        name="resnet_generator", factory=f"{_NETWORKS}:ResnetGenerator",
        description="CycleGAN ResNet generator (resnet_9blocks / resnet_6blocks); output size = input rounded up to x4",
        example_kwargs={"input_nc": 3, "output_nc": 3, "ngf": 8, "norm": "instance", "n_blocks": 2},
        example_input=(1, 3, 32, 32)))
    register(Architecture(
        name="unet_generator", factory=f"{_NETWORKS}:UnetGenerator",
        description="pix2pix U-Net generator (num_downs 8 = unet_256, 7 = unet_128); sides divisible by 2**num_downs",
        example_kwargs={"input_nc": 3, "output_nc": 3, "num_downs": 5, "ngf": 8, "norm": "batch", "use_dropout": True},
        example_input=(1, 3, 32, 32)))
    register(Architecture(
        name="nlayer_discriminator", factory=f"{_NETWORKS}:NLayerDiscriminator",
        description="PatchGAN discriminator (n_layers=3: 70x70 patches), raw logits",
        example_kwargs={"input_nc": 3, "ndf": 8, "n_layers": 3, "norm": "instance"},
        example_input=(1, 3, 32, 32)))
    register(Architecture(
        name="pixel_discriminator", factory=f"{_NETWORKS}:PixelDiscriminator",
        description="1x1 PatchGAN (PixelGAN) discriminator, raw logits",
        example_kwargs={"input_nc": 6, "ndf": 8, "norm": "batch"},
        example_input=(2, 6, 16, 16)))


@hookimpl
def zoo_register_losses(register: Callable) -> None:
    # junyanz_gan / junyanz_gradient_penalty keep junyanz's argument names on the core zoo.losses.gan code.
    register(Loss(name="junyanz_gan", factory=f"{_LOSSES}:GANLoss",
                  description="adversarial loss: lsgan (CycleGAN), vanilla (pix2pix) or wgangp",
                  example_kwargs={"gan_mode": "lsgan"}, example_inputs="zoo.losses:example_gan_inputs"))
    register(Loss(name="junyanz_gradient_penalty", factory=f"{_LOSSES}:gradient_penalty",
                  description="WGAN-GP gradient penalty lambda*(||grad D||-1)^2 at real/fake/interpolated points",
                  example_inputs="zoo.losses:example_gradient_penalty_inputs"))
    register(Loss(name="cycle_consistency", factory=f"{_LOSSES}:CycleConsistencyLoss",
                  description="CycleGAN cycle loss lambda_A*L1(F(G(a)),a) + lambda_B*L1(G(F(b)),b)",
                  example_kwargs={"lambda_a": 10.0, "lambda_b": 10.0},
                  example_inputs=f"{_LOSSES}:example_cycle_inputs"))
    register(Loss(name="cycle_identity", factory=f"{_LOSSES}:IdentityLoss",
                  description="CycleGAN identity loss lambda_idt*(lambda_B*L1(G(b),b) + lambda_A*L1(F(a),a))",
                  example_kwargs={"lambda_a": 10.0, "lambda_b": 10.0, "lambda_identity": 0.5},
                  example_inputs=f"{_LOSSES}:example_cycle_inputs"))


@hookimpl
def zoo_register_tasks(register: Callable) -> None:
    register(Task(name="unpaired-translation",
                  description="translate an image to another domain, learnt from unpaired collections (CycleGAN)",
                  trainer="zoo_translation.trainers:CycleGANTrainer",
                  evaluation={"kind": "unpaired", "split": "test", "fid_flavour": "clean"}))
    register(Task(name="paired-translation",
                  description="translate an image to another depiction, learnt from aligned pairs (pix2pix); "
                              "deterministic eval by default, zoo_translation.modes.paper_test_mode for the paper's",
                  trainer="zoo_translation.trainers:Pix2PixTrainer",
                  evaluation={"kind": "paired", "split": "test", "fid_flavour": "clean"}))
    register(Task(name="colorization",
                  description="colour a photo: its Lab lightness in, a and b out (pix2pix-style, trained on any photos)",
                  pipeline="zoo_translation.colorization:ColorizationPipeline",
                  trainer="zoo_translation.colorization:ColorizationTrainer"))


@hookimpl
def zoo_register_datasets(register: Callable) -> None:
    """pix2pix and CycleGAN archives on the authors' server, and two small local sets (:mod:`.datasets`)."""
    from .datasets import datasets

    for dataset in datasets():
        register(dataset)


@hookimpl
def zoo_register_weight_formats(register: Callable) -> None:
    register(WeightFormat(name="junyanz", adapter="zoo_translation.adapters:adapt_junyanz_state_dict",
                          sniff="zoo_translation.adapters:sniff_junyanz",
                          infer_kwargs="zoo_translation.adapters:infer_kwargs",
                          description="junyanz/pytorch-CycleGAN-and-pix2pix latest_net_G.pth state_dicts (drops "
                                      "_metadata, module. prefixes and pre-0.4 InstanceNorm running stats)"))


@hookimpl
def zoo_register_recipes(register: Callable) -> None:
    """The training recipes the catalog's entries name (``recipe:``), with their upstream sources (:mod:`.recipes`)."""
    from .recipes import recipes

    for recipe in recipes():
        register(recipe)
