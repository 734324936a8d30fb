"""GAN objectives against references written from junyanz's and BasicSR's documented formulas, and ESRGAN's RaGAN."""

from __future__ import annotations

import pytest
import torch

from zoo.losses.gan import GANConfigError, GANLoss, gradient_penalty
from zoo_translation.losses import GANLoss as JunyanzGANLoss
from zoo_translation.losses import gradient_penalty as junyanz_gradient_penalty


def logits(seed: int, shape=(3, 1, 7, 7)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 2


def bce(x: torch.Tensor, label: float) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(x) against a constant label, in float64 from its definition."""
    p = torch.sigmoid(x.double())
    return -(label * torch.log(p) + (1 - label) * torch.log1p(-p)).mean()


# --- junyanz GANLoss(gan_mode, target_real_label, target_fake_label): labels expanded to the prediction ----

def junyanz_reference(mode: str, x: torch.Tensor, real: bool, real_label=1.0, fake_label=0.0) -> torch.Tensor:
    label = real_label if real else fake_label
    if mode == "lsgan":  # nn.MSELoss against the expanded label
        return ((x.double() - label) ** 2).mean()
    if mode == "vanilla":  # nn.BCEWithLogitsLoss against the expanded label
        return bce(x, label)
    return -x.double().mean() if real else x.double().mean()  # wgangp


@pytest.mark.parametrize("mode", ["lsgan", "vanilla", "wgangp"])
@pytest.mark.parametrize("labels", [(1.0, 0.0), (0.9, 0.1)])
def test_core_and_translation_equal_junyanz(mode, labels):
    core_type = {"wgangp": "wgan-gp"}.get(mode, mode)
    core = GANLoss(core_type, real_label=labels[0], fake_label=labels[1])
    junyanz = JunyanzGANLoss(mode, target_real_label=labels[0], target_fake_label=labels[1])
    for seed, real in [(0, True), (1, False), (2, True)]:
        x = logits(seed)
        expected = junyanz_reference(mode, x, real, *labels)
        for side in (True, False):  # junyanz's three modes do not depend on the side
            assert core(x, real, for_discriminator=side).double().item() == pytest.approx(expected.item(), rel=1e-5)
        assert junyanz(x, real).double().item() == pytest.approx(expected.item(), rel=1e-5)


def test_translation_gan_is_the_core_class_with_junyanz_arguments():
    loss = JunyanzGANLoss("wgangp")
    assert isinstance(loss, GANLoss) and loss.gan_type == "wgan-gp" and loss.gan_mode == "wgangp"
    assert junyanz_gradient_penalty is gradient_penalty
    with pytest.raises(ValueError, match="hinge"):
        JunyanzGANLoss("hinge")


# --- BasicSR GANLoss(gan_type, real_label_val, fake_label_val, loss_weight), forward(input, target_is_real, is_disc) --

def basicsr_reference(gan_type: str, x: torch.Tensor, real: bool, is_disc: bool, real_val=1.0, fake_val=0.0,
                      loss_weight=1.0) -> torch.Tensor:
    x = x.double()
    if gan_type == "vanilla":
        loss = bce(x, real_val if real else fake_val)
    elif gan_type == "lsgan":
        loss = ((x - (real_val if real else fake_val)) ** 2).mean()
    elif gan_type == "wgan":
        loss = -x.mean() if real else x.mean()
    elif gan_type == "wgan_softplus":  # log(1 + exp(-x)) for real, log(1 + exp(x)) for fake
        loss = torch.log1p(torch.exp(-x)).mean() if real else torch.log1p(torch.exp(x)).mean()
    elif gan_type == "hinge":
        if is_disc:
            loss = torch.clamp(1 - x, min=0).mean() if real else torch.clamp(1 + x, min=0).mean()
        else:
            loss = -x.mean()
    else:
        raise AssertionError(gan_type)
    return loss if is_disc else loss * loss_weight  # the weight is for generators only


@pytest.mark.parametrize("gan_type", ["vanilla", "lsgan", "wgan", "wgan_softplus", "hinge"])
@pytest.mark.parametrize("is_disc", [True, False])
@pytest.mark.parametrize("real", [True, False])
def test_equals_basicsr(gan_type, is_disc, real):
    kwargs = {"real_label": 0.95, "fake_label": 0.05} if gan_type in ("vanilla", "lsgan") else {}
    loss = GANLoss(gan_type, loss_weight=5e-3, **kwargs)
    x = logits(3 + int(real) + 2 * int(is_disc))
    expected = basicsr_reference(gan_type, x, real, is_disc, kwargs.get("real_label", 1.0),
                                 kwargs.get("fake_label", 0.0), loss_weight=5e-3)
    got = loss(x, real, for_discriminator=is_disc)
    assert got.shape == () and got.double().item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-9)


def test_gradients_match_the_reference():
    x = logits(7).requires_grad_(True)
    GANLoss("hinge")(x, False, for_discriminator=True).backward()
    x_ref = x.detach().double().requires_grad_(True)
    basicsr_reference("hinge", x_ref, False, True).backward()
    assert torch.allclose(x.grad.double(), x_ref.grad, atol=1e-7)


def test_helpers_halve_the_discriminator_terms():
    loss = GANLoss("lsgan")
    real, fake = logits(0), logits(1)
    expected = 0.5 * (junyanz_reference("lsgan", real, True) + junyanz_reference("lsgan", fake, False))
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss.generator_loss(fake).item() == pytest.approx(junyanz_reference("lsgan", fake, True).item(), rel=1e-5)


# --- ESRGAN relativistic average GAN (BasicSR esrgan_model.py), base criterion vanilla -------------------------

def test_ragan_generator_equals_esrgan():
    loss = GANLoss("ragan", loss_weight=5e-3)
    d_fake = logits(10).requires_grad_(True)
    d_real = logits(11).requires_grad_(True)
    # ESRGAN: l_g_real = cri(real - mean(fake), False); l_g_fake = cri(fake - mean(real), True); (sum) / 2,
    # each generator-side term weighted by loss_weight; D's real predictions are detached in the G step.
    real_d, fake_g = d_real.detach().double(), d_fake.detach().double()
    expected = 5e-3 * (bce(real_d - fake_g.mean(), 0.0) + bce(fake_g - real_d.mean(), 1.0)) / 2
    got = loss.generator_loss(d_fake, d_real)
    assert got.double().item() == pytest.approx(expected.item(), rel=1e-5)
    got.backward()
    assert d_fake.grad is not None and d_fake.grad.abs().sum() > 0
    assert d_real.grad is None  # the generator step never trains the discriminator


def test_ragan_discriminator_equals_esrgan():
    loss = GANLoss("ragan", loss_weight=5e-3)
    d_real = logits(12).requires_grad_(True)
    d_fake = logits(13).requires_grad_(True)
    r, f = d_real.detach().double(), d_fake.detach().double()
    # ESRGAN: 0.5 * cri(real - mean(fake.detach()), True) + 0.5 * cri(fake.detach() - mean(real.detach()), False)
    expected = 0.5 * bce(r - f.mean(), 1.0) + 0.5 * bce(f - r.mean(), 0.0)  # no loss_weight on the D side
    got = loss.discriminator_loss(d_real, d_fake)
    assert got.double().item() == pytest.approx(expected.item(), rel=1e-5)
    got.backward()
    # each term trains through its own prediction only (references detached): compare with that gradient
    r_ref, f_ref = r.clone().requires_grad_(True), f.clone().requires_grad_(True)
    (0.5 * bce(r_ref - f.mean(), 1.0) + 0.5 * bce(f_ref - r.mean(), 0.0)).backward()
    assert torch.allclose(d_real.grad.double(), r_ref.grad, atol=1e-7)
    assert torch.allclose(d_fake.grad.double(), f_ref.grad, atol=1e-7)


def test_ragan_with_lsgan_base_and_explicit_reference():
    loss = GANLoss("ragan", ragan_base="lsgan")
    a, b = logits(20), logits(21)
    expected = ((a.double() - b.double().mean() - 1.0) ** 2).mean()
    assert loss(a, True, reference=b).double().item() == pytest.approx(expected.item(), rel=1e-5)


def test_bad_arguments_name_the_problem():
    with pytest.raises(GANConfigError, match="gan_type 'nope'.*vanilla"):
        GANLoss("nope")
    with pytest.raises(GANConfigError, match="reference="):
        GANLoss("ragan")(logits(0), True)
    with pytest.raises(GANConfigError, match="only used by gan_type 'ragan'"):
        GANLoss("lsgan")(logits(0), True, reference=logits(1))
    with pytest.raises(GANConfigError, match="target_is_real must be True or False"):
        GANLoss("lsgan")(logits(0), torch.ones(3, 1, 7, 7))
    with pytest.raises(GANConfigError, match="real_prediction"):
        GANLoss("ragan").generator_loss(logits(0))
    with pytest.raises(ValueError, match="ragan_base"):
        GANLoss("ragan", ragan_base="ragan")
    assert GANLoss("wgangp").gan_type == "wgan-gp"


def test_gradient_penalty_of_an_interpolating_linear_critic_is_exact():
    w = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(0))

    def critic(x: torch.Tensor) -> torch.Tensor:
        return (x * w).flatten(1).sum(1)

    real, fake = torch.rand(5, 3, 4, 4), torch.rand(5, 3, 4, 4)
    value = gradient_penalty(critic, real, fake, lambda_gp=10.0, generator=torch.Generator().manual_seed(3))
    assert value.item() == pytest.approx(10.0 * (w.norm().item() - 1) ** 2, rel=1e-5)
    with pytest.raises(ValueError, match="differ in shape"):
        gradient_penalty(critic, real, fake[:2])


def test_multiscale_predictions_average_the_scales():
    loss = GANLoss("hinge")
    scales = [logits(30), logits(31, (3, 1, 4, 4)), [torch.zeros(3, 8, 4, 4), logits(32, (3, 1, 2, 2))]]
    expected = sum(basicsr_reference("hinge", s[-1] if isinstance(s, list) else s, True, True) for s in scales) / 3
    assert loss(scales, True, for_discriminator=True).double().item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(GANConfigError, match="empty list"):
        loss([], True)
    with pytest.raises(GANConfigError, match="per-scale lists"):
        GANLoss("ragan").discriminator_loss([logits(0)], [logits(1)])
