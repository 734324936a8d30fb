"""BasicSR / Real-ESRGAN architectures: state_dict keys and shapes, parameter counts, output shapes and forward semantics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from zoo_sr.archs import MSRResNet, RRDBNet, SRVGGNetCompact, pixel_unshuffle
from zoo_sr.discriminators import UNetDiscriminatorSN, VGGStyleDiscriminator

torch.set_num_threads(2)

# keys_basicsr.txt section -> our module built with the same configuration
KEY_DUMPS = {
    "RRDBNet_x4_nb23": lambda: RRDBNet(3, 3, scale=4, num_feat=64, num_block=23, num_grow_ch=32),
    "RRDBNet_x2_nb23": lambda: RRDBNet(3, 3, scale=2, num_feat=64, num_block=23, num_grow_ch=32),
    "MSRResNet_x4": lambda: MSRResNet(3, 3, num_feat=64, num_block=16, upscale=4),
    "VGGStyleDiscriminator_128": lambda: VGGStyleDiscriminator(3, 64, input_size=128),
    "UNetDiscriminatorSN": lambda: UNetDiscriminatorSN(3, 64),
    "SRVGGNetCompact_general_x4v3": lambda: SRVGGNetCompact(3, 3, num_feat=64, num_conv=32, upscale=4, act_type="prelu"),
}
HEADER = re.compile(r"^### (\S+) (\d+) keys (\d+) params$")


def _read_dumps(path: Path) -> dict[str, tuple[int, int, list[tuple[str, tuple[int, ...]]]]]:
    sections: dict[str, tuple[int, int, list[tuple[str, tuple[int, ...]]]]] = {}
    current = None
    for line in path.read_text().splitlines():
        if m := HEADER.match(line):
            current = m.group(1)
            sections[current] = (int(m.group(2)), int(m.group(3)), [])
        elif line.strip():
            key, shape = line.strip().split(" ", 1)
            dims = tuple(int(d) for d in shape.strip("()").split(",") if d.strip())
            sections[current][2].append((key, dims))
    return sections


@pytest.fixture(scope="module")
def key_dumps(shared_dir) -> dict:
    path = shared_dir / "reference" / "keys" / "keys_basicsr.txt"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return _read_dumps(path)


def test_every_dump_section_is_covered(key_dumps):
    assert set(key_dumps) == set(KEY_DUMPS)


@pytest.mark.parametrize("section", sorted(KEY_DUMPS))
def test_state_dict_matches_upstream_dump(key_dumps, section):
    n_keys, n_params, expected = key_dumps[section]
    with torch.device("meta"):
        model = KEY_DUMPS[section]()
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert ours == expected  # same names, same shapes, same order
    assert len(ours) == n_keys
    assert sum(p.numel() for p in model.parameters()) == n_params


@pytest.mark.parametrize("factory,keys,params", [
    (lambda: RRDBNet(3, 3, scale=4, num_block=6), 192, 4_467_779),  # RealESRGAN_x4plus_anime_6B
    (lambda: SRVGGNetCompact(num_conv=16), 53, 621_424),  # realesr-animevideov3
    (lambda: RRDBNet(3, 3, scale=1, num_block=23), 702, 16_697_987 + 64 * 45 * 9),  # conv_first reads 48 channels
])
def test_other_configurations(factory, keys, params):
    with torch.device("meta"):
        model = factory()
    assert len(model.state_dict()) == keys
    assert sum(p.numel() for p in model.parameters()) == params


@pytest.mark.parametrize("scale,size", [(4, (9, 11)), (2, (10, 12)), (1, (12, 8))])
def test_rrdbnet_output_size(scale, size):
    model = RRDBNet(3, 3, scale=scale, num_feat=8, num_block=1, num_grow_ch=4).eval()
    out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)


def test_rrdbnet_refuses_sizes_it_cannot_unshuffle():
    model = RRDBNet(3, 3, scale=2, num_feat=8, num_block=1, num_grow_ch=4)
    with pytest.raises(ValueError, match="divisible by 2"):
        model(torch.rand(1, 3, 9, 10))
    with pytest.raises(ValueError, match="scale 1, 2 or 4"):
        RRDBNet(scale=3)


def test_pixel_unshuffle_channel_order():
    """Channel c*s*s + dy*s + dx holds pixel (s*i+dy, s*j+dx) of channel c (BasicSR's order)."""
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    y = pixel_unshuffle(x, 2)
    assert y.shape == (1, 8, 2, 3)
    for c in range(2):
        for dy in range(2):
            for dx in range(2):
                assert torch.equal(y[0, c * 4 + dy * 2 + dx], x[0, c, dy::2, dx::2])


def _rdb_reference(sd: dict, prefix: str, x: torch.Tensor) -> torch.Tensor:
    feats = [x]
    for i in range(1, 5):
        w, b = sd[f"{prefix}.conv{i}.weight"], sd[f"{prefix}.conv{i}.bias"]
        feats.append(F.leaky_relu(F.conv2d(torch.cat(feats, 1), w, b, padding=1), 0.2))
    return F.conv2d(torch.cat(feats, 1), sd[f"{prefix}.conv5.weight"], sd[f"{prefix}.conv5.bias"], padding=1) * 0.2 + x


def _conv(sd: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, sd[f"{name}.weight"], sd[f"{name}.bias"], padding=1)


@pytest.mark.parametrize("scale", [4, 2, 1])
def test_rrdbnet_forward_matches_functional_reference(scale):
    torch.manual_seed(0)
    model = RRDBNet(3, 3, scale=scale, num_feat=8, num_block=2, num_grow_ch=4).eval()
    sd = model.state_dict()
    x = torch.rand(1, 3, 8, 12)
    s = {4: 1, 2: 2, 1: 4}[scale]
    feat = x.reshape(1, 3, 8 // s, s, 12 // s, s).permute(0, 1, 3, 5, 2, 4).reshape(1, 3 * s * s, 8 // s, 12 // s)
    feat = _conv(sd, "conv_first", feat)
    trunk = feat
    for i in range(2):
        block_in = trunk
        for k in (1, 2, 3):
            trunk = _rdb_reference(sd, f"body.{i}.rdb{k}", trunk)
        trunk = trunk * 0.2 + block_in
    feat = feat + _conv(sd, "conv_body", trunk)
    feat = F.leaky_relu(_conv(sd, "conv_up1", feat.repeat_interleave(2, 2).repeat_interleave(2, 3)), 0.2)
    feat = F.leaky_relu(_conv(sd, "conv_up2", feat.repeat_interleave(2, 2).repeat_interleave(2, 3)), 0.2)
    expected = _conv(sd, "conv_last", F.leaky_relu(_conv(sd, "conv_hr", feat), 0.2))
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("upscale,upsample_act", [(4, True), (3, True), (2, True), (4, False)])
def test_msrresnet_forward_matches_functional_reference(upscale, upsample_act):
    torch.manual_seed(1)
    model = MSRResNet(3, 3, num_feat=8, num_block=2, upscale=upscale, upsample_act=upsample_act).eval()
    sd = model.state_dict()
    x = torch.rand(1, 3, 7, 9)
    act = (lambda t: F.leaky_relu(t, 0.1)) if upsample_act else (lambda t: t)
    feat = F.leaky_relu(_conv(sd, "conv_first", x), 0.1)
    for i in range(2):
        feat = feat + _conv(sd, f"body.{i}.conv2", F.relu(_conv(sd, f"body.{i}.conv1", feat)))
    if upscale == 4:
        feat = act(F.pixel_shuffle(_conv(sd, "upconv1", feat), 2))
        feat = act(F.pixel_shuffle(_conv(sd, "upconv2", feat), 2))
    else:
        feat = act(F.pixel_shuffle(_conv(sd, "upconv1", feat), upscale))
    out = _conv(sd, "conv_last", F.leaky_relu(_conv(sd, "conv_hr", feat), 0.1))
    expected = out + F.interpolate(x, scale_factor=upscale, mode="bilinear", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
    assert "upconv2.weight" in sd if upscale == 4 else "upconv2.weight" not in sd


def test_srvgg_forward_matches_functional_reference():
    torch.manual_seed(2)
    model = SRVGGNetCompact(num_feat=6, num_conv=3, upscale=3).eval()
    with torch.no_grad():  # distinct slopes so a mixed-up PReLU would show
        for i in range(1, 8, 2):
            model.body[i].weight.uniform_(-0.5, 0.5)
    sd = model.state_dict()
    x = torch.rand(1, 3, 5, 6)
    feat = x
    for i in range(0, 8, 2):
        feat = F.prelu(_conv(sd, f"body.{i}", feat), sd[f"body.{i + 1}.weight"])
    out = F.pixel_shuffle(_conv(sd, "body.8", feat), 3)
    expected = out + x.repeat_interleave(3, 2).repeat_interleave(3, 3)
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
    assert model(x).shape == (1, 3, 15, 18)


@pytest.mark.parametrize("act_type", ["relu", "leakyrelu"])
def test_srvgg_other_activations_have_no_parameters(act_type):
    model = SRVGGNetCompact(num_feat=4, num_conv=2, act_type=act_type)
    assert [k for k in model.state_dict() if k.startswith("body.1.")] == []
    with pytest.raises(ValueError, match="act_type"):
        SRVGGNetCompact(act_type="gelu")


@pytest.mark.parametrize("size", [128, 256])
def test_vgg_style_discriminator(size):
    model = VGGStyleDiscriminator(3, 4, input_size=size).eval()
    assert model(torch.rand(2, 3, size, size)).shape == (2, 1)
    assert ("conv5_0.weight" in model.state_dict()) == (size == 256)
    with pytest.raises(ValueError, match=f"{size}x{size}"):
        model(torch.rand(1, 3, 64, 64))


def test_unet_discriminator_sn_shapes_and_spectral_norm():
    torch.manual_seed(3)
    model = UNetDiscriminatorSN(3, 4).eval()
    assert model(torch.rand(1, 3, 32, 40)).shape == (1, 1, 32, 40)
    # spectral norm: the effective weight has largest singular value ~1 after power iterations
    model.train()
    for _ in range(30):
        model(torch.rand(1, 3, 16, 16))
    w = model.conv4.weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.rand(1, 3, 20, 16))


def test_unet_discriminator_without_skips_differs():
    torch.manual_seed(4)
    a = UNetDiscriminatorSN(3, 4, skip_connection=True).eval()
    b = UNetDiscriminatorSN(3, 4, skip_connection=False).eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))
