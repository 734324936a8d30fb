"""Pixel losses against their definitions (BasicSR's L1/MSE/Charbonnier/WeightedTVLoss conventions)."""

from __future__ import annotations

import pytest
import torch

from zoo.losses.pixel import CharbonnierLoss, L1Loss, LossConfigError, MSELoss, TotalVariationLoss


def pair(seed: int = 0, shape=(2, 3, 16, 16)):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=torch.float64), torch.rand(shape, generator=g, dtype=torch.float64)


def test_l1_and_l2_definitions_and_weight():
    pred, target = pair()
    d = pred - target
    assert L1Loss()(pred, target).item() == pytest.approx(d.abs().mean().item())
    assert MSELoss(loss_weight=0.5)(pred, target).item() == pytest.approx(0.5 * (d ** 2).mean().item())
    assert L1Loss(reduction="sum")(pred, target).item() == pytest.approx(d.abs().sum().item())
    assert L1Loss(reduction="none")(pred, target).shape == pred.shape
    mask = torch.zeros(2, 1, 16, 16, dtype=torch.float64)
    mask[:, :, :8] = 1  # a 0/1 mask averages over the masked elements only
    assert L1Loss()(pred, target, weight=mask).item() == pytest.approx(d[:, :, :8].abs().mean().item())


def test_charbonnier_eps_convention_against_basicsr():
    pred, target = pair(1)
    d2 = (pred - target) ** 2
    # LapSRN / our convention: sqrt(d^2 + eps^2), eps = 1e-3 by default
    assert CharbonnierLoss()(pred, target).item() == pytest.approx(torch.sqrt(d2 + 1e-6).mean().item(), rel=1e-12)
    # BasicSR adds its eps unsquared: CharbonnierLoss(eps=1e-12) there is eps=1e-6 here
    basicsr = torch.sqrt(d2 + 1e-12).mean()
    assert CharbonnierLoss(eps=1e-6)(pred, target).item() == pytest.approx(basicsr.item(), rel=1e-12)
    zero = torch.zeros(1, 3, 4, 4, requires_grad=True)
    value = CharbonnierLoss()(zero, torch.zeros(1, 3, 4, 4))
    value.backward()
    assert value.item() == pytest.approx(1e-3) and torch.isfinite(zero.grad).all()  # smooth at 0, unlike L1
    with pytest.raises(ValueError, match="eps must be > 0"):
        CharbonnierLoss(eps=0)


def test_tv_matches_basicsr_weighted_tv_and_the_example_plugin():
    x, _ = pair(2)
    dy, dx = x[..., 1:, :] - x[..., :-1, :], x[..., :, 1:] - x[..., :, :-1]
    # BasicSR WeightedTVLoss: L1 between shifted copies, y-difference plus x-difference, mean reduction
    assert TotalVariationLoss()(x).item() == pytest.approx((dy.abs().mean() + dx.abs().mean()).item())
    assert TotalVariationLoss(power=2, reduction="sum", loss_weight=1e-6)(x).item() == pytest.approx(
        1e-6 * ((dy ** 2).sum() + (dx ** 2).sum()).item())
    constant = torch.full((1, 3, 8, 8), 0.3)
    assert TotalVariationLoss()(constant).item() == 0.0
    with pytest.raises(ValueError, match="power must be 1 or 2"):
        TotalVariationLoss(power=3)
    with pytest.raises(ValueError, match="at least 2x2"):
        TotalVariationLoss()(torch.zeros(1, 3, 1, 8))


def test_bad_arguments():
    with pytest.raises(LossConfigError, match="reduction 'avg'"):
        L1Loss(reduction="avg")
    with pytest.raises(ValueError, match=r"differ in shape: \(1, 3, 4, 4\) vs \(1, 3, 4, 5\)"):
        L1Loss()(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))
