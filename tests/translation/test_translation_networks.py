"""Our networks against upstream's state_dict layout (reference dumps) and forward semantics."""

from __future__ import annotations

import pytest
import torch
from junyanz_helpers import build, config_from_title, randomize
from torch import nn

from zoo_translation.networks import (NLayerDiscriminator, PixelDiscriminator, ResnetBlock, ResnetGenerator,
                                      UnetGenerator)


def test_every_reference_section_matches_keys_shapes_and_counts(junyanz_key_sections):
    titles = [s.title for s in junyanz_key_sections]
    assert len(titles) >= 8, titles
    for section in junyanz_key_sections:
        name, kwargs = config_from_title(section.title)
        with torch.device("meta"):
            net = build(name, **kwargs)
        state = net.state_dict()
        n_params = sum(p.numel() for p in net.parameters())
        assert (len(state), n_params) == (section.n_keys, section.n_params), section.title
        if section.keys:  # the full listing, in state_dict order
            assert [(k, tuple(v.shape)) for k, v in state.items()] == section.keys, section.title


def test_reference_dump_covers_the_official_configs(junyanz_key_sections):
    configs = {(name, kw.get("norm"), kw.get("n_blocks"), kw.get("num_downs"))
               for name, kw in (config_from_title(s.title) for s in junyanz_key_sections)}
    assert ("resnet_generator", "instance", 9, None) in configs  # CycleGAN
    assert ("unet_generator", "batch", None, 8) in configs  # pix2pix


def conv_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


@pytest.mark.parametrize("norm,biased", [("instance", True), ("batch", False), ("none", False)])
def test_bias_follows_upstream_norm_rule(norm, biased):
    resnet = ResnetGenerator(3, 3, ngf=4, norm=norm, n_blocks=2)
    convs = conv_layers(resnet)
    *inner, (last_name, last) = convs
    assert last_name == "model.19" and last.bias is not None  # the output conv always has a bias
    assert all((m.bias is not None) == biased for _, m in inner)

    unet = UnetGenerator(3, 3, num_downs=5, ngf=4, norm=norm)
    outer_up = unet.model.model[3]
    assert isinstance(outer_up, nn.ConvTranspose2d) and outer_up.bias is not None
    assert all((m.bias is not None) == biased for n, m in conv_layers(unet) if n != "model.model.3")

    patch = NLayerDiscriminator(3, ndf=4, n_layers=3, norm=norm)
    first, *middle, final = conv_layers(patch)
    assert first[1].bias is not None and final[1].bias is not None
    assert all((m.bias is not None) == biased for _, m in middle)

    pixel = PixelDiscriminator(3, ndf=4, norm=norm)
    assert [m.bias is not None for _, m in conv_layers(pixel)] == [True, biased, biased]


def test_norm_layers_are_upstreams():
    inst = [m for m in ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=1).modules()
            if isinstance(m, nn.InstanceNorm2d)]
    assert inst and all(not m.affine and not m.track_running_stats for m in inst)
    bn = [m for m in UnetGenerator(3, 3, 5, ngf=4, norm="batch").modules() if isinstance(m, nn.BatchNorm2d)]
    assert bn and all(m.affine and m.track_running_stats for m in bn)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))
                   for m in ResnetGenerator(3, 3, ngf=4, norm="none", n_blocks=1).modules())


def test_resnet_dropout_sits_between_the_convs_and_shifts_keys():
    plain = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=9).state_dict()
    dropout_net = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=9, use_dropout=True)
    with_dropout = dropout_net.state_dict()
    assert len(set(plain) ^ set(with_dropout)) == 36  # 9 blocks x (weight, bias) at conv_block.5 vs .6
    assert "model.10.conv_block.6.weight" in with_dropout and "model.10.conv_block.5.weight" in plain
    block = dropout_net.model[10].conv_block
    assert isinstance(block[4], nn.Dropout) and block[4].p == 0.5


def test_unet_dropout_keeps_keys_and_follows_the_up_path():
    net = UnetGenerator(3, 3, num_downs=8, ngf=4, norm="batch", use_dropout=True)
    assert list(net.state_dict()) == list(UnetGenerator(3, 3, 8, ngf=4, norm="batch").state_dict())
    dropouts = [n for n, m in net.named_modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 3  # num_downs - 5 middle levels
    assert all(n.endswith("model.7") for n in dropouts)  # appended after up-conv + norm


def test_padding_types_layout():
    zero = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=1, padding_type="zero").model[10].conv_block
    assert isinstance(zero[0], nn.Conv2d) and zero[0].padding == (1, 1) and isinstance(zero[3], nn.Conv2d)
    rep = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=1, padding_type="replicate").model[10].conv_block
    assert isinstance(rep[0], nn.ReplicationPad2d) and isinstance(rep[5], nn.Conv2d) and rep[5].padding == (0, 0)


@pytest.mark.parametrize("bad", [{"norm": "group"}, {"padding_type": "circular"}, {"n_blocks": -1}])
def test_resnet_rejects_bad_options_with_a_clear_message(bad):
    with pytest.raises(ValueError) as info:
        ResnetGenerator(3, 3, ngf=4, **bad)
    assert str(next(iter(bad.values()))) in str(info.value)


def test_unet_rejects_too_few_levels_and_bad_sizes():
    with pytest.raises(ValueError, match="num_downs must be >= 5"):
        UnetGenerator(3, 3, num_downs=4)
    net = UnetGenerator(3, 3, num_downs=5, ngf=4).eval()
    with pytest.raises(ValueError, match=r"divisible by 32, got 48x40"):
        net(torch.zeros(1, 3, 48, 40))


@pytest.mark.parametrize("size,expected", [((32, 32), (32, 32)), ((30, 34), (32, 36)), ((17, 21), (20, 24))])
def test_resnet_output_rounds_size_up_to_multiple_of_four(size, expected):
    net = ResnetGenerator(3, 2, ngf=4, norm="instance", n_blocks=1).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, *size))
    assert out.shape == (1, 2, *expected)


def test_generators_end_in_tanh_range():
    resnet = randomize(ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=2)).eval()
    unet = randomize(UnetGenerator(3, 3, num_downs=5, ngf=4, norm="batch")).eval()
    with torch.no_grad():
        for net in (resnet, unet):
            last_conv = conv_layers(net)[-1][1]
            last_conv.weight.mul_(1000)  # drive the pre-activation far outside [-1, 1]
            out = net(torch.rand(2, 3, 32, 32) * 2 - 1)
            assert out.abs().max() <= 1.0 and out.abs().max() > 0.999


def test_resnet_block_is_residual_without_final_activation():
    block = ResnetBlock(4, "reflect", "instance")
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
    x = torch.randn(1, 4, 8, 8)  # negative values must survive: no ReLU after the addition
    assert torch.equal(block(x), x)


def test_unet_output_matches_input_size_and_channels():
    net = UnetGenerator(1, 2, num_downs=6, ngf=4, norm="instance").eval()
    with torch.no_grad():
        assert net(torch.rand(1, 1, 64, 128)).shape == (1, 2, 64, 128)


@pytest.mark.parametrize("size,patches", [(256, 30), (286, 33), (64, 6)])
def test_patchgan_output_size(size, patches):
    net = NLayerDiscriminator(3, ndf=4, n_layers=3, norm="instance").eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, size, size)).shape == (1, 1, patches, patches)


def test_pixel_discriminator_is_per_pixel():
    net = randomize(PixelDiscriminator(6, ndf=4, norm="batch")).eval()
    x = torch.rand(1, 6, 5, 7)
    with torch.no_grad():
        out = net(x)
        single = net(x[..., 2:3, 4:5])
    assert out.shape == (1, 1, 5, 7) and torch.allclose(out[..., 2:3, 4:5], single)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
@pytest.mark.parametrize("make", [
    lambda: ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=2),
    lambda: UnetGenerator(3, 3, num_downs=5, ngf=4, norm="batch", use_dropout=True),
], ids=["resnet", "unet"])
def test_generators_script_and_export(make):
    """Export is a top upstream request (ONNX / TorchScript); both graph capturers must reproduce eager."""
    net = randomize(make()).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        eager = net(x)
        assert torch.equal(torch.jit.script(net)(x), eager)
        assert torch.allclose(torch.export.export(net, (x,)).module()(x), eager, atol=1e-6)
