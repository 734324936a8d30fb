"""GAN / cycle / identity losses and the gradient penalty against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from zoo_translation.losses import CycleConsistencyLoss, GANLoss, IdentityLoss, gradient_penalty


def test_lsgan_of_a_constant_prediction():
    loss = GANLoss("lsgan")
    pred = torch.full((2, 1, 30, 30), 0.3)
    assert loss(pred, True).item() == pytest.approx(0.49)  # (0.3 - 1)^2
    assert loss(pred, False).item() == pytest.approx(0.09)  # (0.3 - 0)^2


def test_lsgan_with_smoothed_labels():
    loss = GANLoss("lsgan", target_real_label=0.9, target_fake_label=0.1)
    pred = torch.tensor([[0.0, 1.0]])
    assert loss(pred, True).item() == pytest.approx((0.81 + 0.01) / 2)
    assert loss(pred, False).item() == pytest.approx((0.01 + 0.81) / 2)


def test_vanilla_is_bce_with_logits():
    loss = GANLoss("vanilla")
    assert loss(torch.zeros(4), True).item() == pytest.approx(math.log(2))
    assert loss(torch.full((3,), 2.0), True).item() == pytest.approx(math.log1p(math.exp(-2)))
    assert loss(torch.full((3,), 2.0), False).item() == pytest.approx(math.log1p(math.exp(2)))


def test_wgangp_is_the_signed_mean():
    loss = GANLoss("wgangp")
    pred = torch.tensor([1.0, 2.0, 6.0])
    assert loss(pred, True).item() == pytest.approx(-3.0)
    assert loss(pred, False).item() == pytest.approx(3.0)


def test_labels_are_buffers_that_follow_the_module_and_the_prediction_dtype():
    loss = GANLoss("lsgan", target_real_label=0.75)
    assert set(loss.state_dict()) == {"real_label", "fake_label"}
    loss = loss.double()
    pred = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    value = loss(pred, True)
    assert value.dtype == torch.float64 and value.item() == pytest.approx(0.5625)
    value.backward()
    assert torch.allclose(pred.grad, torch.full((2, 2), 2 * (0 - 0.75) / 4, dtype=torch.float64))
    half = GANLoss("lsgan")(torch.zeros(3, dtype=torch.float16), True)
    assert half.dtype == torch.float16 and half.item() == 1.0


def test_unknown_gan_mode():
    with pytest.raises(ValueError, match="hinge"):
        GANLoss("hinge")


class LinearCritic(nn.Module):
    """D(x) = <w, x> per sample: its input gradient is w everywhere, so the penalty is known exactly."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.arange(1, math.prod(shape) + 1, dtype=torch.float32).reshape(shape) / 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1)


@pytest.mark.parametrize("mode", ["real", "fake", "mixed"])
def test_gradient_penalty_of_a_linear_critic(mode):
    critic = LinearCritic((2, 3, 3))
    real, fake = torch.rand(4, 2, 3, 3), torch.rand(4, 2, 3, 3, requires_grad=True)
    norm = critic.w.detach().norm().item()
    penalty = gradient_penalty(critic, real, fake, mode=mode, lambda_gp=10.0, constant=1.0)
    assert penalty.item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-5)
    penalty.backward()  # create_graph: the penalty trains the critic ...
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0
    assert fake.grad is None and not real.requires_grad  # ... and never the generator or the inputs


def test_gradient_penalty_constant_lambda_and_seeded_interpolation():
    critic = LinearCritic((1, 2, 2))
    real, fake = torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    norm = critic.w.detach().norm().item()
    assert gradient_penalty(critic, real, fake, constant=2.0, lambda_gp=1.0).item() == pytest.approx((norm - 2.0) ** 2)
    assert gradient_penalty(critic, real, fake, lambda_gp=0.0).item() == 0.0
    with pytest.raises(ValueError, match="unknown gradient penalty mode"):
        gradient_penalty(critic, real, fake, mode="both")

    seen = []
    def spy(x):
        seen.append(x.detach().clone())
        return critic(x)
    for _ in range(2):
        gradient_penalty(spy, real, fake, generator=torch.Generator().manual_seed(7))
    assert torch.equal(seen[0], seen[1])
    alpha = (seen[0] - fake) / (real - fake)  # one interpolation weight per sample
    assert torch.allclose(alpha, alpha[:, :1, :1, :1].expand_as(alpha), atol=1e-4)


def test_cycle_consistency_weights_each_direction():
    loss = CycleConsistencyLoss(lambda_a=10.0, lambda_b=5.0)
    real_a, rec_a = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    real_b, rec_b = torch.ones(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.8)
    cycle_a, cycle_b = loss.terms(real_a, rec_a, real_b, rec_b)
    assert cycle_a.item() == pytest.approx(5.0) and cycle_b.item() == pytest.approx(1.0)
    assert loss(real_a, rec_a, real_b, rec_b).item() == pytest.approx(6.0)


def test_identity_loss_uses_the_other_domains_lambda_and_can_be_disabled():
    loss = IdentityLoss(lambda_a=10.0, lambda_b=4.0, lambda_identity=0.5)
    real_a, same_a = torch.zeros(2, 3, 2, 2), torch.full((2, 3, 2, 2), 0.2)
    real_b, same_b = torch.zeros(2, 3, 2, 2), torch.full((2, 3, 2, 2), -0.5)
    idt_a, idt_b = loss.terms(real_a, same_a, real_b, same_b)
    assert idt_a.item() == pytest.approx(0.5 * 4.0 * 0.5)  # G_A on B images, weighted by lambda_B
    assert idt_b.item() == pytest.approx(0.2 * 10.0 * 0.5)  # G_B on A images, weighted by lambda_A
    assert loss(real_a, same_a, real_b, same_b).item() == pytest.approx(2.0)
    assert IdentityLoss(lambda_identity=0.0)(real_a, same_a, real_b, same_b).item() == 0.0


def test_losses_are_registered(zoo_manager):
    table = zoo_manager.components("loss")
    assert table.get("junyanz_gan").load("factory") is GANLoss
    assert table.get("junyanz_gradient_penalty").load("factory") is gradient_penalty
    assert table.get("cycle_consistency").load("factory") is CycleConsistencyLoss
    assert table.get("cycle_identity").load("factory") is IdentityLoss
    assert table.get("junyanz_gan").provider == "translation"
