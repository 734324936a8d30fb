"""The core's own plugin: the zoo's catalog (``registry.yaml``) and the components that belong to no model family
(the ``hf://`` weight source, :mod:`zoo.weights.hf`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Callable

from zoo.registry.hookspecs import hookimpl
from zoo.registry.records import Dataset, DataSource, Loss, WeightSource


def registry_path() -> Path:
    return Path(str(resources.files("zoo") / "registry.yaml"))


@hookimpl
def zoo_register_catalogs(register: Callable) -> None:
    register(registry_path())


@hookimpl
def zoo_register_weight_sources(register: Callable) -> None:
    register(WeightSource(
        scheme="hf", resolver="zoo.weights.hf:resolve_hf_uri",
        description="Hugging Face Hub model repositories: hf://owner/repo[@revision]/path via huggingface_hub "
                    "(its cache, HF_HUB_CACHE/HF_HOME; HF_HUB_OFFLINE=1 or ZOO_OFFLINE=1: cache only)"))


_LOSSES = "zoo.losses"


@hookimpl
def zoo_register_losses(register: Callable) -> None:
    """Generic losses (``zoo.losses``), registered by import path so ``import zoo`` stays torch-free."""
    random_vgg = {"arch": "vgg16", "weights": None}
    register(Loss(name="gan", factory=f"{_LOSSES}.gan:GANLoss",
                  description="adversarial loss: gan_type vanilla|lsgan|hinge|wgan|wgan-gp|wgan_softplus|ragan; "
                              "loss(pred, target_is_real, for_discriminator=...)",
                  example_kwargs={"gan_type": "hinge"}, example_inputs=f"{_LOSSES}.gan:example_gan_inputs"))
    register(Loss(name="gradient_penalty", factory=f"{_LOSSES}.gan:gradient_penalty",
                  description="WGAN-GP penalty lambda*(||grad D(x)||-1)^2 at interpolated/real/fake points",
                  example_kwargs={"mode": "mixed", "lambda_gp": 10.0},
                  example_inputs=f"{_LOSSES}.gan:example_gradient_penalty_inputs"))
    register(Loss(name="l1", factory=f"{_LOSSES}.pixel:L1Loss", description="mean absolute error",
                  example_kwargs={"loss_weight": 1.0, "reduction": "mean"}))
    register(Loss(name="l2", factory=f"{_LOSSES}.pixel:MSELoss", description="mean squared error (MSE)",
                  example_kwargs={"loss_weight": 1.0, "reduction": "mean"}))
    register(Loss(name="charbonnier", factory=f"{_LOSSES}.pixel:CharbonnierLoss",
                  description="sqrt((pred-target)^2 + eps^2), eps 1e-3 (BasicSR's eps is our eps^2)",
                  example_kwargs={"eps": 1e-3}))
    register(Loss(name="tv", factory=f"{_LOSSES}.pixel:TotalVariationLoss",
                  description="total variation of one image batch, loss(pred); power 1 (abs) or 2 (squared)",
                  example_kwargs={"power": 1}, example_inputs=f"{_LOSSES}.pixel:example_tv_inputs"))
    register(Loss(name="vgg_perceptual", factory=f"{_LOSSES}.vgg:VGGPerceptualLoss",
                  description="VGG16/19 feature distance at named layers (default ESRGAN's vgg19 conv5_4, L1)",
                  example_kwargs={**random_vgg, "layer_weights": {"relu2_2": 1.0, "conv3_3": 0.5}}))
    register(Loss(name="gram_style", factory=f"{_LOSSES}.vgg:GramStyleLoss",
                  description="Gram-matrix style loss on VGG features, Gram / (c*h*w) (default Johnson's vgg16 "
                              "relu1_2..relu4_3, MSE); loss(pred, style)",
                  example_kwargs={**random_vgg, "layer_weights": {"relu1_2": 1.0, "relu2_2": 1.0}}))
    register(Loss(name="lpips", factory=f"{_LOSSES}.lpips_loss:LPIPSLoss",
                  description="LPIPS distance as a loss (zoo.metrics LPIPS, default vgg trunk), inputs in [-1,1] "
                              "or [0,1] (input_range)",
                  example_kwargs={"net": "squeeze", "pretrained": False}))
    register(Loss(name="timm_feature", factory=f"{_LOSSES}.timm_features:TimmFeatureLoss",
                  description="feature distance on any timm backbone by name (features_only=True)",
                  example_kwargs={"model_name": "resnet18", "pretrained": False, "out_indices": [1, 2]}))


#: Images that ship with the zoo or its dependencies: quality runs with no dataset folder and no network.
EMBEDDED_IMAGES = (
    "package://zoo/assets/astronaut_hr.png",            # scikit-image's astronaut (NASA, public domain), 256 crop
    "package://skimage/data/chelsea.png",               # scikit-image (CC0 / public domain per its README)
    "package://skimage/data/coffee.png",
    "package://matplotlib/mpl-data/sample_data/grace_hopper.jpg",  # matplotlib sample data (public domain)
)


@hookimpl
def zoo_register_datasets(register: Callable) -> None:
    register(Dataset(
        name="embedded", task="any", layout="images",
        sources=tuple(DataSource(url=url) for url in EMBEDDED_IMAGES),
        description="the default evaluation images: the zoo's bundled astronaut crop, scikit-image's chelsea and "
                    "coffee, matplotlib's grace_hopper (those installed), centre-cropped to 256x256",
        license="public domain / CC0 (see each package)", options={"center_crop": 256}))
