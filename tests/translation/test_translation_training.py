"""ImagePool and the upstream weight initialisation."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

from zoo_translation.networks import NLayerDiscriminator, UnetGenerator
from zoo_translation.training import ImagePool, init_weights


def test_pool_of_size_zero_passes_through():
    images = torch.rand(3, 3, 4, 4)
    assert ImagePool(0).query(images) is images


def test_pool_fills_first_then_returns_history_half_the_time():
    pool = ImagePool(4, rng=random.Random(0))
    first = torch.arange(3, dtype=torch.float32).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 3
    second = torch.arange(3, 6, dtype=torch.float32).view(3, 1, 1, 1)
    out = pool.query(second)
    assert len(pool) == 4  # one image filled the last slot and came back unchanged
    assert out[0].item() == 3.0
    assert out.shape == second.shape

    from_history = 0
    draws = 2000
    for step in range(draws):
        value = 100.0 + step
        stored_before = {t.item() for t in pool.images}
        got = pool.query(torch.tensor([value]).view(1, 1, 1, 1)).item()
        if got != value:
            assert got in stored_before  # an old image, replaced by the new one
            assert value in {t.item() for t in pool.images}
            from_history += 1
        assert len(pool) == 4
    assert 0.45 < from_history / draws < 0.55


def test_pool_is_reproducible_with_a_seeded_rng_and_detaches():
    def run(seed):
        pool = ImagePool(2, rng=random.Random(seed))
        return [pool.query(torch.full((2, 1), float(i), requires_grad=True)) for i in range(20)]
    a, b = run(5), run(5)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not any(x.requires_grad for x in a)
    with pytest.raises(ValueError):
        ImagePool(-1)


def test_init_weights_normal():
    torch.manual_seed(0)
    net = init_weights(UnetGenerator(3, 3, num_downs=5, ngf=16, norm="batch"), "normal", 0.02)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05) and abs(weights.mean().item()) < 1e-3
    assert all(m.bias is None or not m.bias.any() for m in convs)
    bn = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    gammas = torch.cat([m.weight for m in bn])
    assert gammas.mean().item() == pytest.approx(1.0, abs=0.01) and not torch.cat([m.bias for m in bn]).any()


@pytest.mark.parametrize("kind", ["xavier", "kaiming", "orthogonal"])
def test_init_weights_alternatives_and_errors(kind):
    net = init_weights(NLayerDiscriminator(3, ndf=8, norm="instance"), kind, 0.02)
    assert all(torch.isfinite(p).all() for p in net.parameters())
    with pytest.raises(ValueError, match="uniform"):
        init_weights(net, "uniform")
