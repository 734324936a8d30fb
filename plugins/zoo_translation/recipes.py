"""The training recipes of junyanz/pytorch-CycleGAN-and-pix2pix, as ``zoo train`` options.

Values are upstream's option defaults (``options/base_options.py``, ``options/train_options.py``) and the
model-specific ones set in ``models/cycle_gan_model.py`` / ``models/pix2pix_model.py``; the catalog's CycleGAN and
pix2pix entries name these recipes (``recipe: cyclegan`` / ``recipe: pix2pix``).
"""

from __future__ import annotations

from zoo.registry import Recipe

UPSTREAM = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
_COMMON = {"lr": 2e-4, "betas": [0.5, 0.999], "epochs": 100, "epochs_decay": 100, "lr_policy": "linear",
           "batch_size": 1, "preprocess": "resize_and_crop", "load_size": 286, "crop_size": 256, "flip": True,
           "init_type": "normal", "init_gain": 0.02, "discriminator": "nlayer_discriminator",
           "discriminator_kwargs": {"ndf": 64, "n_layers": 3}}
_DIFFERENCES = (
    "upstream decays the learning rate once per epoch; so does zoo train when steps=0 (with steps=N the decay is "
    "linear over steps after decay_start)",
)


def recipes() -> list[Recipe]:
    return [
        Recipe(name="cyclegan", task="unpaired-translation",
               options={**_COMMON, "gan_type": "lsgan", "pool_size": 50, "lambda_A": 10.0, "lambda_B": 10.0,
                        "lambda_identity": 0.5},
               source=f"{UPSTREAM}: options/base_options.py, options/train_options.py, models/cycle_gan_model.py",
               description="CycleGAN (Zhu et al. 2017): LSGAN, image pools of 50, cycle 10, identity 0.5, Adam 2e-4 "
                           "(0.5, 0.999), batch 1, 100 + 100 epochs with linear decay, resize 286 / crop 256 / flip",
               differences=_DIFFERENCES),
        Recipe(name="pix2pix", task="paired-translation",
               options={**_COMMON, "gan_type": "vanilla", "pool_size": 0, "lambda_L1": 100.0},
               source=f"{UPSTREAM}: options/base_options.py, options/train_options.py, models/pix2pix_model.py",
               description="pix2pix (Isola et al. 2017): vanilla GAN + 100 x L1, conditional PatchGAN, no image pool, "
                           "Adam 2e-4 (0.5, 0.999), batch 1, 100 + 100 epochs with linear decay, resize 286 / crop "
                           "256 / flip",
               differences=_DIFFERENCES),
    ]
