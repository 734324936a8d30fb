"""Example inputs of the translation losses, for the zoo's conformance check (``Loss.example_inputs``).

Each function returns ``(args, kwargs)`` for one call of the built loss, with tensors that require
grad where the loss trains something, so the check can see gradients flow.
"""

from __future__ import annotations

from typing import Any

import torch


def _image(requires_grad: bool = False) -> torch.Tensor:
    return (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(requires_grad)


def gan_loss_inputs() -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A PatchGAN's raw logits and the target label (``loss(prediction, target_is_real)``)."""
    return (torch.randn(2, 1, 6, 6, requires_grad=True), True), {}


def gradient_penalty_inputs() -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A tiny discriminator with real and fake batches; the penalty trains the discriminator's parameters."""
    discriminator = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.LeakyReLU(0.2),
                                        torch.nn.Conv2d(4, 1, 3, padding=1))
    return (discriminator, _image(), _image()), {}


def cycle_inputs() -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(real_a, rec_a, real_b, rec_b)``: reconstructions require grad (they come from the generators)."""
    return (_image(), _image(True), _image(), _image(True)), {}
