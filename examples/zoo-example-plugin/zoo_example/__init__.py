"""An example third-party zoo plugin (entry point ``example`` in group ``zoo``): one hook of each kind."""

from __future__ import annotations

from pathlib import Path

import zoo


@zoo.hookimpl
def zoo_register_architectures(register):
    register(zoo.Architecture(name="unsharp_mask_net", factory="zoo_example.network:UnsharpMaskNet",
                              description="3x3 depthwise sharpening, the classic unsharp mask as a conv",
                              example_kwargs={"channels": 3}, example_input=(1, 3, 16, 16)))


@zoo.hookimpl
def zoo_register_tasks(register):
    # evaluation: restore images blurred by blur_3x3 and compare with the originals (zoo.evaluation)
    register(zoo.Task(name="enhancement", description="same-size image enhancement",
                      evaluation={"kind": "restoration", "dataset": "example-blurred", "scale": 1,
                                  "degrade": "zoo_example.network:blur_3x3", "metrics": ["psnr", "ssim", "lpips"]}))


@zoo.hookimpl
def zoo_register_datasets(register):
    register(zoo.Dataset(name="example-blurred", task="enhancement", layout="images",
                         sources=(zoo.DataSource(url="package://zoo/assets/astronaut_hr.png"),
                                  zoo.DataSource(url="package://skimage/data/coffee.png")),
                         description="sharp images that the evaluation blurs (blur_3x3) as the model's inputs",
                         options={"center_crop": 128}))
    register(zoo.Dataset(name="example-own-photos", task="enhancement", layout="images",
                         description="a folder of your own photos to sharpen: --data example-own-photos=DIR"))


@zoo.hookimpl
def zoo_register_losses(register):
    # total_variation takes one image, not (prediction, target): example_inputs says how to call it
    register(zoo.Loss(name="total_variation", factory="zoo_example.network:total_variation",
                      description="anisotropic total variation of an image batch (a smoothness regulariser)",
                      example_inputs="zoo_example.network:total_variation_example_inputs"))


@zoo.hookimpl
def zoo_register_weight_formats(register):
    register(zoo.WeightFormat(name="unsharp-json", reader="zoo_example.network:read_unsharp_json",
                              adapter="zoo_example.network:adapt_unsharp_kernel",
                              description="a JSON file {sigma, amount}: read as a 3x3 kernel, expanded to the "
                                          "model's channels"))


@zoo.hookimpl
def zoo_register_weight_sources(register):
    register(zoo.WeightSource(scheme="unsharp", resolver="zoo_example.network:resolve_unsharp_weights",
                              description="computes unsharp-mask weights locally: unsharp://sigma=1.0,amount=1.0",
                              example_uri="unsharp://sigma=2.0,amount=0.5"))


@zoo.hookimpl
def zoo_register_catalogs(register):
    register(Path(__file__).with_name("catalog.yaml"))
