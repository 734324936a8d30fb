"""Training losses that belong to no model family, registered by the core plugin (``zoo/registry/core_plugin.py``).

Registered names and call conventions are listed in ``docs/losses.md``; build one with
``zoo.get_loss(name, **kwargs)``. Submodules: :mod:`.gan`
(adversarial objectives, gradient penalty), :mod:`.pixel` (L1, L2, Charbonnier, TV), :mod:`.vgg`
(perceptual and Gram style), :mod:`.lpips_loss`, :mod:`.timm_features`.
May import ``zoo.metrics`` (LPIPS, metric weights), ``zoo.weights`` and below. Importing this package imports
torch; ``import zoo`` does not import it.
"""

from __future__ import annotations

from zoo.losses.gan import (GANConfigError, GANLoss, example_gan_inputs, example_gradient_penalty_inputs,
                            example_ragan_inputs, gradient_penalty)
from zoo.losses.lpips_loss import LPIPSLoss
from zoo.losses.pixel import (CharbonnierLoss, L1Loss, LossConfigError, MSELoss, TotalVariationLoss)
from zoo.losses.timm_features import TimmFeatureLoss
from zoo.losses.vgg import GramStyleLoss, VGGFeatures, VGGPerceptualLoss, gram_matrix

__all__ = ["LossConfigError", "GANConfigError", "GANLoss", "gradient_penalty", "L1Loss", "MSELoss", "CharbonnierLoss",
           "TotalVariationLoss", "VGGFeatures", "VGGPerceptualLoss", "GramStyleLoss", "gram_matrix", "LPIPSLoss",
           "TimmFeatureLoss", "example_gan_inputs", "example_gradient_penalty_inputs", "example_ragan_inputs"]
