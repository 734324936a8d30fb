"""zoo built-in plugin: fast style transfer.

Registers two networks, their checkpoint formats and the ml5 weight source:

- ``transformer_net``: pytorch/examples ``fast_neural_style`` TransformerNet (official candy, mosaic,
  rain-princess, udnie checkpoints; format ``fast-neural-style``).
- ``engstrom_style_net``: Engstrom's TensorFlow fast style transfer network, as ml5.js runs it
  (format ``ml5-style-transfer``: a deeplearn.js ``manifest.json`` + raw float32 variable files,
  fetched by the ``ml5+https://`` / ``ml5+file://`` weight source).

Only records are defined here; the networks live in submodules imported on first use.
"""

from __future__ import annotations

from typing import Callable

from zoo import Architecture, Task, WeightFormat, WeightSource, hookimpl

PACKAGE = __name__


@hookimpl
def zoo_register_architectures(register: Callable) -> None:
    register(Architecture(
        name="transformer_net", factory=f"{PACKAGE}.transformer_net:TransformerNet",
        description="pytorch/examples fast_neural_style TransformerNet (Johnson et al. 2016, instance norm); "
                    "RGB [0,255] in and out",
        example_input=(1, 3, 16, 16)))
    register(Architecture(
        name="engstrom_style_net", factory=f"{PACKAGE}.engstrom_net:EngstromStyleNet",
        description="Engstrom's TensorFlow fast style transfer network (TF SAME padding, instance norm eps 1e-3, "
                    "tanh*150+127.5 output), as used by ml5.js; RGB [0,255] in and out",
        example_input=(1, 3, 16, 16)))


@hookimpl
def zoo_register_tasks(register: Callable) -> None:
    register(Task(name="style-transfer",
                  description="re-render a photo in the style of the painting a network was trained on",
                  evaluation={"kind": "style", "dataset": "style-content", "style_dataset": "style-images",
                              "max_side": 512},
                  trainer=f"{PACKAGE}.training:StyleTransferTrainer"))


@hookimpl
def zoo_register_datasets(register: Callable) -> None:
    """pytorch/examples' content photos and style paintings (:mod:`.datasets`)."""
    from .datasets import datasets

    for dataset in datasets():
        register(dataset)


@hookimpl
def zoo_register_weight_formats(register: Callable) -> None:
    register(WeightFormat(
        name="fast-neural-style", adapter=f"{PACKAGE}.transformer_net:adapt_fast_neural_style",
        sniff=f"{PACKAGE}.adapters:sniff_fast_neural_style",
        description="pytorch/examples fast_neural_style .pth state_dict; drops the deprecated "
                    "InstanceNorm running_mean/var keys of pre-0.4 saves"))
    register(WeightFormat(
        name="ml5-style-transfer", reader=f"{PACKAGE}.ml5_checkpoint:read_ml5_checkpoint",
        description="ml5.js/deeplearn.js checkpoint: manifest.json + little-endian float32 files "
                    "Variable, Variable_1, ... beside it (path: the manifest or its folder)"))


@hookimpl
def zoo_register_weight_sources(register: Callable) -> None:
    for scheme in ("ml5+https", "ml5+http", "ml5+file"):
        register(WeightSource(
            scheme=scheme, resolver=f"{PACKAGE}.ml5_checkpoint:resolve_ml5_uri",
            locate=f"{PACKAGE}.ml5_checkpoint:locate_ml5_uri", digest_files=f"{PACKAGE}.ml5_checkpoint:digest_files",
            description="ml5.js multi-file checkpoint: fetches <url>/manifest.json and every file it lists "
                        "into one cache folder"))


@hookimpl
def zoo_register_recipes(register: Callable) -> None:
    """The training recipes the catalog's entries name (``recipe:``), with their upstream sources (:mod:`.recipes`)."""
    from .recipes import recipes

    for recipe in recipes():
        register(recipe)
