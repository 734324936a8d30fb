"""pix2pix's paper test mode: batch statistics + dropout, explicit, reversible, without touching the buffers."""

from __future__ import annotations

import copy

import pytest
import torch
from junyanz_helpers import randomize
from torch import nn

from zoo_translation.modes import apply_paper_test_mode, paper_test_mode
from zoo_translation.networks import ResnetGenerator, UnetGenerator


@pytest.fixture
def unet() -> nn.Module:
    return randomize(UnetGenerator(3, 3, num_downs=6, ngf=8, norm="batch", use_dropout=True), seed=2).eval()


def x64() -> torch.Tensor:
    """A 64x64 input (the fixture's U-Net has one dropout level and needs sides divisible by 64)."""
    return torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_eval_is_deterministic_and_uses_running_stats(unet):
    assert sum(isinstance(m, nn.Dropout) for m in unet.modules()) == 1
    with torch.no_grad():
        assert torch.equal(unet(x64()), unet(x64()))


def test_paper_mode_matches_plain_train_mode_and_leaves_buffers_alone(unet):
    before = copy.deepcopy(unet.state_dict())
    upstream = copy.deepcopy(unet).train()  # what upstream test.py runs: never eval()
    with torch.no_grad():
        torch.manual_seed(4)
        expected = upstream(x64())
        with paper_test_mode(unet):
            torch.manual_seed(4)
            got = unet(x64())
            assert unet.training is False  # only the norm / dropout layers switch
    assert torch.equal(got, expected)
    assert all(torch.equal(before[k], v) for k, v in unet.state_dict().items())
    assert not any(m.training for m in unet.modules())
    assert all(m.track_running_stats for m in unet.modules() if isinstance(m, nn.BatchNorm2d))
    with torch.no_grad():
        eval_out = unet(x64())
    assert not torch.allclose(eval_out, got)  # the modes really differ on this model


def test_paper_mode_is_stochastic_unless_seeded(unet):
    with torch.no_grad():
        with paper_test_mode(unet):
            a, b = unet(x64()), unet(x64())
        with paper_test_mode(unet, seed=3):
            c = unet(x64())
        torch.manual_seed(99)
        state = torch.random.get_rng_state()
        with paper_test_mode(unet, seed=3):
            d = unet(x64())
        assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched by seed=
    assert not torch.equal(a, b) and torch.equal(c, d)


def test_batch_statistics_without_dropout_is_deterministic(unet):
    reference = copy.deepcopy(unet).train()
    for module in reference.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    with torch.no_grad(), paper_test_mode(unet, dropout=False):
        first, second = unet(x64()), unet(x64())
        expected = reference(x64())
    assert torch.equal(first, second) and torch.equal(first, expected)


def test_update_running_stats_reproduces_upstreams_side_effect(unet):
    upstream = copy.deepcopy(unet).train()
    with torch.no_grad():
        torch.manual_seed(8)
        upstream(x64())
        restore = apply_paper_test_mode(unet, update_running_stats=True)
        torch.manual_seed(8)  # same dropout masks: the statistics below the dropout level match too
        unet(x64())
        restore()
    for key, value in upstream.state_dict().items():
        assert torch.equal(unet.state_dict()[key], value), key


def test_restores_on_error_and_accepts_a_pipeline_like_object(unet):
    class Holder:
        model = unet
    with pytest.raises(RuntimeError):
        with paper_test_mode(Holder()):
            raise RuntimeError("boom")
    assert not any(m.training for m in unet.modules())
    with pytest.raises(TypeError, match="nn.Module or a zoo pipeline"):
        with paper_test_mode(object()):
            pass


def test_cyclegan_generators_are_unaffected():
    net = randomize(ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=2), seed=1).eval()
    with torch.no_grad():
        eval_out = net(x64())
        with paper_test_mode(net):
            assert torch.equal(net(x64()), eval_out)
