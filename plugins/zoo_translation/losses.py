"""Training losses of CycleGAN and pix2pix, with upstream's definitions and default weights.

* :class:`GANLoss` -- ``lsgan`` (MSE to the label, CycleGAN's default), ``vanilla`` (BCE with logits,
  pix2pix's default) or ``wgangp`` (signed mean); labels are buffers broadcast to the prediction.
  A thin junyanz-signature subclass of the core :class:`zoo.losses.gan.GANLoss` (no duplicate logic).
* :func:`gradient_penalty` -- WGAN-GP's ``lambda * (||grad D(x_hat)|| - c)^2``, re-exported from
  :mod:`zoo.losses.gan`.
* :class:`CycleConsistencyLoss` -- ``lambda_A * |F(G(a)) - a|_1 + lambda_B * |G(F(b)) - b|_1``.
* :class:`IdentityLoss` -- ``lambda_idt * (lambda_B * |G(b) - b|_1 + lambda_A * |F(a) - a|_1)``.

Discriminator losses are usually ``0.5 * (gan(D(real), True) + gan(D(fake), False))``; pix2pix adds
``lambda_L1 = 100`` times the L1 distance between output and target to the generator's GAN loss.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from zoo.losses import GANConfigError, gradient_penalty
from zoo.losses import GANLoss as CoreGANLoss

__all__ = ["GANLoss", "gradient_penalty", "CycleConsistencyLoss", "IdentityLoss", "GAN_MODES"]

GAN_MODES = ("lsgan", "vanilla", "wgangp")


class GANLoss(CoreGANLoss):
    """junyanz's ``GANLoss(gan_mode, target_real_label, target_fake_label)`` on the core's implementation.

    ``loss(prediction, target_is_real)``; the labels are registered buffers (``real_label``,
    ``fake_label``) so they follow the module's device, and are broadcast to the prediction's shape
    and dtype. ``wgangp`` is the core's ``wgan-gp`` (signed mean). Only junyanz's three modes are
    accepted here; the core ``gan`` loss has the others.
    """

    def __init__(self, gan_mode: str = "lsgan", target_real_label: float = 1.0, target_fake_label: float = 0.0) -> None:
        if gan_mode not in GAN_MODES:
            raise GANConfigError(f"unknown gan_mode {gan_mode!r}; expected one of {', '.join(GAN_MODES)} "
                                 f"(the core 'gan' loss also has hinge, wgan_softplus and ragan)")
        super().__init__("wgan-gp" if gan_mode == "wgangp" else gan_mode,
                         real_label=target_real_label, fake_label=target_fake_label)
        self.gan_mode = gan_mode


class CycleConsistencyLoss(nn.Module):
    """``lambda_a * L1(rec_a, real_a) + lambda_b * L1(rec_b, real_b)`` with ``rec_a = F(G(real_a))``.

    :meth:`terms` returns the two weighted terms separately (upstream logs them as ``cycle_A``/``cycle_B``).
    """

    def __init__(self, lambda_a: float = 10.0, lambda_b: float = 10.0) -> None:
        super().__init__()
        self.lambda_a, self.lambda_b = float(lambda_a), float(lambda_b)

    def terms(self, real_a: torch.Tensor, rec_a: torch.Tensor, real_b: torch.Tensor,
              rec_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.l1_loss(rec_a, real_a) * self.lambda_a, F.l1_loss(rec_b, real_b) * self.lambda_b

    def forward(self, real_a: torch.Tensor, rec_a: torch.Tensor, real_b: torch.Tensor,
                rec_b: torch.Tensor) -> torch.Tensor:
        loss_a, loss_b = self.terms(real_a, rec_a, real_b, rec_b)
        return loss_a + loss_b


class IdentityLoss(nn.Module):
    """CycleGAN's identity term: each generator should leave images of its *target* domain unchanged.

    ``same_b = G_A(real_b)`` (the A->B generator fed a B image) and ``same_a = G_B(real_a)``.
    Weighted as upstream: ``L1(same_b, real_b) * lambda_b * lambda_identity`` +
    ``L1(same_a, real_a) * lambda_a * lambda_identity``; ``lambda_identity = 0`` disables it.
    """

    def __init__(self, lambda_a: float = 10.0, lambda_b: float = 10.0, lambda_identity: float = 0.5) -> None:
        super().__init__()
        self.lambda_a, self.lambda_b, self.lambda_identity = float(lambda_a), float(lambda_b), float(lambda_identity)

    def terms(self, real_a: torch.Tensor, same_a: torch.Tensor, real_b: torch.Tensor,
              same_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss_idt_A, loss_idt_B)`` in upstream's naming: idt_A is G_A's term (on B images)."""
        if self.lambda_identity <= 0:
            zero = real_a.new_zeros(())
            return zero, zero
        idt_a = F.l1_loss(same_b, real_b) * self.lambda_b * self.lambda_identity
        idt_b = F.l1_loss(same_a, real_a) * self.lambda_a * self.lambda_identity
        return idt_a, idt_b

    def forward(self, real_a: torch.Tensor, same_a: torch.Tensor, real_b: torch.Tensor,
                same_b: torch.Tensor) -> torch.Tensor:
        idt_a, idt_b = self.terms(real_a, same_a, real_b, same_b)
        return idt_a + idt_b


def example_cycle_inputs() -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    """``(real_a, rec_a, real_b, rec_b)`` (or ``same_*`` for the identity loss) for conformance checks."""
    g = torch.Generator().manual_seed(0)
    real_a, out_a, real_b, out_b = (torch.rand(2, 3, 16, 16, generator=g) * 2 - 1 for _ in range(4))
    return (real_a, out_a.requires_grad_(True), real_b, out_b.requires_grad_(True)), {}
