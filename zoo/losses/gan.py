"""Adversarial objectives on a discriminator's raw output (no sigmoid in the network), in one module.

Call convention (the same for every ``gan_type``)::

    gan = GANLoss("lsgan")
    d_loss = gan(d_real, True, for_discriminator=True) + gan(d_fake.detach(), False, for_discriminator=True)
    g_loss = gan(d_fake, True)                      # generator side: fakes labelled real
    # or the two helpers, which also cover the relativistic objective:
    d_loss = gan.discriminator_loss(d_real, d_fake_detached)   # 0.5 * (real term + fake term)
    g_loss = gan.generator_loss(d_fake, d_real)                 # d_real is only read by "ragan"

``gan_type``:

* ``vanilla`` -- BCE with logits against the real/fake label (pix2pix, ESRGAN's base criterion).
* ``lsgan`` -- MSE to the label (CycleGAN).
* ``hinge`` -- discriminator ``mean(relu(1 - x))`` on reals, ``mean(relu(1 + x))`` on fakes; generator ``-mean(x)``.
* ``wgan`` / ``wgan-gp`` -- signed mean (``-mean(x)`` for real, ``mean(x)`` for fake); ``wgan-gp`` is the same
  objective, to be paired with :func:`gradient_penalty` on the discriminator side.
* ``wgan_softplus`` -- ``softplus(-x)`` for real, ``softplus(x)`` for fake (StyleGAN2's logistic / non-saturating).
* ``ragan`` -- relativistic average GAN (ESRGAN): each term compares a prediction with the *mean* prediction on the
  other kind, ``base(x_real - mean(x_fake), True)``, ``base(x_fake - mean(x_real), False)``, with ``ragan_base``
  (default ``vanilla``) as the criterion. ``forward`` needs ``reference=`` (the other kind's predictions).

``loss_weight`` scales the generator side only (``for_discriminator=False``), as BasicSR does; junyanz's
GANLoss has no weight (use 1.0). The default label values are 1 and 0, stored as buffers.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.losses.backbone import seeded
from zoo.losses.pixel import LossConfigError

GAN_TYPES = ("vanilla", "lsgan", "hinge", "wgan", "wgan-gp", "wgan_softplus", "ragan")
GAN_TYPE_ALIASES = {"wgangp": "wgan-gp", "wgan_gp": "wgan-gp", "bce": "vanilla", "ls": "lsgan",
                    "relativistic": "ragan", "rgan_avg": "ragan"}
RAGAN_BASES = ("vanilla", "lsgan", "hinge", "wgan", "wgan_softplus")


class GANConfigError(LossConfigError):
    """A GAN loss built or called with arguments it cannot use."""


def canonical_gan_type(gan_type: str) -> str:
    name = GAN_TYPE_ALIASES.get(gan_type, gan_type)
    if name not in GAN_TYPES:
        raise GANConfigError(f"unknown gan_type {gan_type!r}; expected one of {', '.join(GAN_TYPES)}")
    return name


class GANLoss(nn.Module):
    """Adversarial loss of discriminator logits; see the module docstring for the call convention."""

    def __init__(self, gan_type: str = "vanilla", *, real_label: float = 1.0, fake_label: float = 0.0,
                 loss_weight: float = 1.0, ragan_base: str = "vanilla") -> None:
        super().__init__()
        self.gan_type = canonical_gan_type(gan_type)
        if ragan_base not in RAGAN_BASES:
            raise GANConfigError(f"unknown ragan_base {ragan_base!r}; expected one of {', '.join(RAGAN_BASES)}")
        self.ragan_base = ragan_base
        self.loss_weight = float(loss_weight)
        self.register_buffer("real_label", torch.tensor(float(real_label)))
        self.register_buffer("fake_label", torch.tensor(float(fake_label)))

    @property
    def relativistic(self) -> bool:
        return self.gan_type == "ragan"

    def extra_repr(self) -> str:
        base = f", ragan_base={self.ragan_base!r}" if self.relativistic else ""
        return f"gan_type={self.gan_type!r}{base}, loss_weight={self.loss_weight}"

    def target_tensor(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """The label broadcast to the prediction's shape and dtype."""
        label = self.real_label if target_is_real else self.fake_label
        return label.to(prediction.dtype).expand_as(prediction)

    def _criterion(self, kind: str, prediction: torch.Tensor, target_is_real: bool,
                   for_discriminator: bool) -> torch.Tensor:
        if kind == "vanilla":
            return F.binary_cross_entropy_with_logits(prediction, self.target_tensor(prediction, target_is_real))
        if kind == "lsgan":
            return F.mse_loss(prediction, self.target_tensor(prediction, target_is_real))
        if kind == "hinge":
            if not for_discriminator:
                return -prediction.mean()
            return F.relu(1.0 - prediction).mean() if target_is_real else F.relu(1.0 + prediction).mean()
        if kind in ("wgan", "wgan-gp"):
            return -prediction.mean() if target_is_real else prediction.mean()
        if kind == "wgan_softplus":
            return F.softplus(-prediction).mean() if target_is_real else F.softplus(prediction).mean()
        raise AssertionError(kind)  # unreachable: the type was validated in __init__

    def forward(self, prediction: torch.Tensor | Sequence[torch.Tensor], target_is_real: bool, *,
                for_discriminator: bool = False, reference: torch.Tensor | None = None) -> torch.Tensor:
        """One term: the loss of ``prediction`` against the real (``True``) or fake label.

        A list of predictions (a multi-scale discriminator) gives the mean of the per-scale losses.

        ``reference`` (``ragan`` only) holds the other kind's predictions; ``prediction - mean(reference)``
        is scored. It is used as given: detach it where the other network must not be trained.
        """
        if isinstance(prediction, (list, tuple)):
            return self._multiscale(prediction, target_is_real, for_discriminator, reference)
        if not isinstance(target_is_real, bool):
            raise GANConfigError(f"target_is_real must be True or False, got {type(target_is_real).__name__}; "
                                 f"call loss(prediction, True/False, for_discriminator=...)")
        if self.relativistic:
            if reference is None:
                raise GANConfigError("gan_type 'ragan' scores a prediction against the mean of the other kind: "
                                     "pass reference=<the other predictions>, or use generator_loss / "
                                     "discriminator_loss")
            prediction = prediction - reference.mean()
            loss = self._criterion(self.ragan_base, prediction, target_is_real, for_discriminator)
        else:
            if reference is not None:
                raise GANConfigError(f"reference= is only used by gan_type 'ragan', not {self.gan_type!r}")
            loss = self._criterion(self.gan_type, prediction, target_is_real, for_discriminator)
        return loss if for_discriminator else loss * self.loss_weight

    def _multiscale(self, predictions, target_is_real: bool, for_discriminator: bool,
                    reference: torch.Tensor | None) -> torch.Tensor:
        """Mean over the scales of a multi-scale discriminator (pix2pixHD / BasicSR ``MultiScaleGANLoss``);
        a scale given as a list (its intermediate features) is scored by its last element."""
        if not predictions:
            raise GANConfigError("empty list of discriminator predictions")
        if reference is not None:
            raise GANConfigError("multi-scale predictions take no reference=; call the loss once per scale")
        terms = [self(p[-1] if isinstance(p, (list, tuple)) else p, target_is_real,
                      for_discriminator=for_discriminator) for p in predictions]
        return torch.stack(terms).mean()

    @staticmethod
    def _check_single_scale(*predictions: object) -> None:
        if any(isinstance(p, (list, tuple)) for p in predictions):
            raise GANConfigError("gan_type 'ragan' takes one prediction tensor per side, not per-scale lists; "
                                 "call it once per discriminator scale")

    def discriminator_loss(self, real_prediction: torch.Tensor, fake_prediction: torch.Tensor) -> torch.Tensor:
        """``0.5 * (real term + fake term)`` (junyanz's and ESRGAN's halving; pass detached fakes).

        For ``ragan`` each term's reference is detached, so each term trains through its own prediction only.
        """
        if self.relativistic:
            self._check_single_scale(real_prediction, fake_prediction)
            real = self(real_prediction, True, for_discriminator=True, reference=fake_prediction.detach())
            fake = self(fake_prediction, False, for_discriminator=True, reference=real_prediction.detach())
        else:
            real = self(real_prediction, True, for_discriminator=True)
            fake = self(fake_prediction, False, for_discriminator=True)
        return 0.5 * (real + fake)

    def generator_loss(self, fake_prediction: torch.Tensor,
                       real_prediction: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's adversarial loss, weighted by ``loss_weight``.

        ``ragan`` needs ``real_prediction`` (detached here: the generator step never trains D) and returns
        ESRGAN's ``(base(real - mean(fake), False) + base(fake - mean(real), True)) / 2``.
        """
        if not self.relativistic:
            return self(fake_prediction, True)
        if real_prediction is None:
            raise GANConfigError("gan_type 'ragan' needs the discriminator's predictions on real images: "
                                 "generator_loss(fake_prediction, real_prediction)")
        self._check_single_scale(real_prediction, fake_prediction)
        real_prediction = real_prediction.detach()
        real_term = self(real_prediction, False, reference=fake_prediction)
        fake_term = self(fake_prediction, True, reference=real_prediction)
        return 0.5 * (real_term + fake_term)


def gradient_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     *, mode: str = "mixed", constant: float = 1.0, lambda_gp: float = 10.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty ``lambda_gp * mean((||grad_x D(x)||_2 - constant)^2)`` at ``x`` chosen by ``mode``.

    ``mode``: ``"real"``, ``"fake"`` or ``"mixed"`` (per-sample uniform interpolation, as Gulrajani et al. and
    junyanz's ``cal_gradient_penalty``). The norm is over all of a sample's elements. Inputs are detached:
    the penalty trains the discriminator only; the graph is kept (``create_graph``) so it can be
    back-propagated. ``lambda_gp <= 0`` gives 0.
    """
    if lambda_gp <= 0.0:
        return real.new_zeros(())
    if real.shape != fake.shape:
        raise GANConfigError(f"gradient_penalty: real and fake batches differ in shape: "
                             f"{tuple(real.shape)} vs {tuple(fake.shape)}")
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
        raise GANConfigError(f"unknown gradient penalty mode {mode!r}; expected 'real', 'fake' or 'mixed'")
    points.requires_grad_(True)
    scores = discriminator(points)
    (grads,) = torch.autograd.grad(outputs=scores, inputs=points, grad_outputs=torch.ones_like(scores),
                                   create_graph=True, retain_graph=True)
    norms = (grads.reshape(grads.shape[0], -1) + 1e-16).norm(2, dim=1)  # the epsilon keeps the norm differentiable at 0
    return ((norms - constant) ** 2).mean() * lambda_gp


# --- example inputs for the conformance check (each returns (args, kwargs)) -------------------------------

def example_gan_inputs() -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    """A PatchGAN-shaped logit map, scored as real on the discriminator side."""
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2, 1, 6, 6, generator=g).requires_grad_(True), True), {"for_discriminator": True}


def example_ragan_inputs() -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(2, 1, 6, 6, generator=g), torch.randn(2, 1, 6, 6, generator=g)
    return (fake.requires_grad_(True), True), {"reference": real}


class _TinyCritic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        with seeded(0):
            self.conv = nn.Conv2d(3, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x)).flatten(1).mean(1)


def example_gradient_penalty_inputs() -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    g = torch.Generator().manual_seed(0)
    real, fake = torch.rand(2, 3, 16, 16, generator=g), torch.rand(2, 3, 16, 16, generator=g)
    return (_TinyCritic(), real, fake), {"generator": torch.Generator().manual_seed(1)}
