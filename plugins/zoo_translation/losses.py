"""Training losses of CycleGAN and pix2pix, with upstream's definitions and default weights.

* :class:`GANLoss` -- ``lsgan`` (MSE to the label, CycleGAN's default), ``vanilla`` (BCE with logits,
  pix2pix's default) or ``wgangp`` (signed mean); labels are buffers broadcast to the prediction.
* :func:`gradient_penalty` -- WGAN-GP's ``lambda * (||grad D(x_hat)|| - c)^2``.
* :class:`CycleConsistencyLoss` -- ``lambda_A * |F(G(a)) - a|_1 + lambda_B * |G(F(b)) - b|_1``.
* :class:`IdentityLoss` -- ``lambda_idt * (lambda_B * |G(b) - b|_1 + lambda_A * |F(a) - a|_1)``.

Discriminator losses are usually ``0.5 * (gan(D(real), True) + gan(D(fake), False))``; pix2pix adds
``lambda_L1 = 100`` times the L1 distance between output and target to the generator's GAN loss.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

GAN_MODES = ("lsgan", "vanilla", "wgangp")


class GANLoss(nn.Module):
    """Adversarial loss of a discriminator's raw output (no sigmoid in the network).

    ``loss(prediction, target_is_real)``; the labels are registered buffers (``real_label``,
    ``fake_label``) so they follow the module's device, and are broadcast to the prediction's shape
    and dtype.
    """

    def __init__(self, gan_mode: str = "lsgan", target_real_label: float = 1.0, target_fake_label: float = 0.0) -> None:
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"unknown gan_mode {gan_mode!r}; expected one of {', '.join(GAN_MODES)}")
        self.gan_mode = gan_mode
        self.register_buffer("real_label", torch.tensor(float(target_real_label)))
        self.register_buffer("fake_label", torch.tensor(float(target_fake_label)))

    def target_tensor(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        label = self.real_label if target_is_real else self.fake_label
        return label.to(prediction.dtype).expand_as(prediction)

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        if self.gan_mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        target = self.target_tensor(prediction, target_is_real)
        if self.gan_mode == "lsgan":
            return F.mse_loss(prediction, target)
        return F.binary_cross_entropy_with_logits(prediction, target)


def gradient_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     *, mode: str = "mixed", constant: float = 1.0, lambda_gp: float = 10.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty ``lambda_gp * mean((||grad_x D(x)||_2 - constant)^2)`` at ``x`` from ``mode``.

    ``mode``: ``"real"``, ``"fake"`` or ``"mixed"`` (per-sample uniform interpolation, as upstream).
    Inputs are detached: the penalty trains the discriminator only. The graph is kept
    (``create_graph``) so the result can be back-propagated. ``lambda_gp <= 0`` gives 0.
    """
    if lambda_gp <= 0.0:
        return real.new_zeros(())
    real, fake = real.detach(), fake.detach()
    if mode == "real":
        points = real.clone()
    elif mode == "fake":
        points = fake.clone()
    elif mode == "mixed":
        alpha = torch.rand(real.shape[0], 1, device=real.device, generator=generator, dtype=real.dtype)
        alpha = alpha.view(real.shape[0], *([1] * (real.ndim - 1)))
        points = alpha * real + (1 - alpha) * fake
    else:
        raise ValueError(f"unknown gradient penalty mode {mode!r}; expected 'real', 'fake' or 'mixed'")
    points.requires_grad_(True)
    scores = discriminator(points)
    (grads,) = torch.autograd.grad(outputs=scores, inputs=points, grad_outputs=torch.ones_like(scores),
                                   create_graph=True, retain_graph=True)
    norms = (grads.reshape(grads.shape[0], -1) + 1e-16).norm(2, dim=1)  # the epsilon keeps the norm differentiable at 0
    return ((norms - constant) ** 2).mean() * lambda_gp


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
