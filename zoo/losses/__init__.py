"""Training losses that belong to no model family, registered by the core plugin (``zoo/core_plugin.py``).

Registered names and call conventions are listed in ``docs/losses.md``; build one with
``zoo.registry.manager.components("loss").get(name).load("factory")(**kwargs)``. Submodules: :mod:`.gan`
(adversarial objectives, gradient penalty), :mod:`.pixel` (L1, L2, Charbonnier, TV), :mod:`.vgg`
(perceptual and Gram style), :mod:`.lpips_loss`, :mod:`.timm_features`.
Importing this package imports torch; ``import zoo`` does not import it.
"""

from __future__ import annotations

from zoo.losses.gan import GANConfigError, GANLoss, gradient_penalty
from zoo.losses.lpips_loss import LPIPSLoss
from zoo.losses.pixel import (
           CharbonnierLoss,
           L1Loss,
           LossConfigError,
           MSELoss,
           TotalVariationLoss,
)
from zoo.losses.timm_features import TimmFeatureLoss
from zoo.losses.vgg import GramStyleLoss, VGGFeatures, VGGPerceptualLoss, gram_matrix

__all__ = ["LossConfigError", "GANConfigError", "GANLoss", "gradient_penalty", "L1Loss", "MSELoss", "CharbonnierLoss",
           "TotalVariationLoss", "VGGFeatures", "VGGPerceptualLoss", "GramStyleLoss", "gram_matrix", "LPIPSLoss",
           "TimmFeatureLoss"]
