"""Checkpoint format detection and architecture inference (zoo.weights.formats) through zoo.load."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
from zoo import WeightFormat, WeightsError, hookimpl

torch.set_num_threads(2)


# --- xinntao/ESRGAN's own network, written from its documented layout (RRDBNet_arch.py names) -----------------
class _OriginalRDB(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        x1 = act(self.conv1(x))
        x2 = act(self.conv2(torch.cat((x, x1), 1)))
        x3 = act(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = act(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class _OriginalRRDB(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        self.RDB1, self.RDB2, self.RDB3 = _OriginalRDB(nf, gc), _OriginalRDB(nf, gc), _OriginalRDB(nf, gc)

    def forward(self, x):
        return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x


class OriginalESRGAN(nn.Module):
    """xinntao/ESRGAN ``RRDBNet(in_nc, out_nc, nf, nb, gc)``: conv_first, RRDB_trunk, trunk_conv, upconv1/2, HRconv, conv_last."""

    def __init__(self, nf: int = 64, nb: int = 23, gc: int = 32) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*[_OriginalRRDB(nf, gc) for _ in range(nb)])
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)

    def forward(self, x):
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
        fea = F.leaky_relu(self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest")), 0.2)
        fea = F.leaky_relu(self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.HRconv(fea), 0.2))


def test_esrgan_release_file_loads_from_the_file_alone(tmp_path):
    """The issue's case: RRDB_ESRGAN_x4.pth (RRDB_trunk names) into esrgan-x4, whose entry format is basicsr."""
    torch.manual_seed(0)
    official = OriginalESRGAN().eval()
    path = tmp_path / "RRDB_ESRGAN_x4.pth"
    torch.save(official.state_dict(), path)
    assert len(official.state_dict()) == 702
    model = zoo.load("esrgan-x4", weights=path, device="cpu")
    weights = model.metadata["weights"]
    assert weights["format"] == "esrgan-original" and weights["format_detected"] is True
    assert weights["entry_format"] == "basicsr"
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model.model(x), official(x))
    # the whole pipeline too: [0,1] in, clamped x4 out
    out = model(x[0])
    assert out.shape == (3, 48, 40)
    with torch.no_grad():
        assert torch.allclose(out, official(x)[0].clamp(0, 1))


def test_named_format_turns_detection_off(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "RRDB_ESRGAN_x4.pth"
    torch.save(OriginalESRGAN(nf=8, nb=1, gc=4).state_dict(), path)
    with pytest.raises(WeightsError, match=r"format 'basicsr'.*missing: conv_first.bias|format 'basicsr'.*unexpected"):
        zoo.load("esrgan-x4", weights=path, weights_format="basicsr")


def test_file_fitting_no_format_says_why_for_the_formats_that_matter(tmp_path):
    """The entry's format and the core's say why in full; the unrelated ones are one line each (issue 17.8)."""
    path = tmp_path / "mystery.pth"
    torch.save({"encoder.weight": torch.zeros(4, 3, 3, 3), "encoder.bias": torch.zeros(4)}, path)
    with pytest.raises(WeightsError) as info:
        zoo.load("realesrgan-x4plus", weights=path)
    text = str(info.value)
    assert "mystery.pth" in text and "fit no known format" in text and "encoder.bias" in text
    lines = {line.split(":", 1)[0].strip(" -"): line for line in text.splitlines()[1:] if line.startswith("  - ")}
    assert {"basicsr", "state_dict"} <= set(lines)
    assert "the entry's format" in lines["basicsr"] and "missing" in lines["basicsr"]
    unrelated = next(line for line in text.splitlines() if "layout not recognised by" in line)
    assert all(f in unrelated for f in ("junyanz", "esrgan-original", "mmedit", "fast-neural-style"))
    never = next(line for line in text.splitlines() if "never guessed" in line)
    assert "ml5-style-transfer" in never and "vdsr-legacy-pickle" in never and "weights_format=NAME" in never
    assert len(text.splitlines()) <= 6
    assert "infer_architecture" not in text  # nothing here says "another block count"


def test_a_misspelt_key_is_named_not_blamed_on_the_architecture(tmp_path):
    """A typo in a file's (or an adapter's) key names: the error pairs the names; no infer_architecture hint."""
    from zoo_sr.archs import SRVGGNetCompact

    state = SRVGGNetCompact(num_feat=64, num_conv=16).state_dict()
    state["bdy.0.weight"] = state.pop("body.0.weight")
    path = tmp_path / "typo.pth"
    torch.save({"params_ema": state}, path)
    with pytest.raises(WeightsError) as info:
        zoo.load("realesr-animevideov3", weights=path)
    text = str(info.value)
    assert "the file names 'bdy.0.weight' for 'body.0.weight': a misspelt key" in text
    assert "infer_architecture" not in text and "layout not recognised by" in text


def test_recognised_but_wrong_shapes_says_what_did_not_fit(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "small.pth"
    torch.save(OriginalESRGAN(nf=8, nb=2, gc=4).state_dict(), path)
    with pytest.raises(WeightsError, match=r"esrgan-original: recognised, but does not fit RRDBNet: .*another shape"):
        zoo.load("esrgan-x4", weights=path)


def test_ambiguous_formats_are_an_error(tmp_path, register_plugin):
    class TwoGuessers:
        @hookimpl
        def zoo_register_weight_formats(self, register):
            for name, sign in (("guess-plus", 1.0), ("guess-minus", -1.0)):
                register(WeightFormat(
                    name=name, sniff=lambda sd, model: "w" in sd,
                    adapter=lambda sd, model, s=sign: {k: v * s for k, v in model.state_dict().items()}))

    register_plugin(TwoGuessers(), name="two-guessers")
    path = tmp_path / "w.pth"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(WeightsError, match="ambiguous checkpoint, formats guess-minus, guess-plus"):
        zoo.load("realesr-animevideov3", weights=path)


def test_equivalent_formats_are_not_ambiguous(tmp_path):
    """A bare BasicSR state_dict is both 'basicsr' and a plain state_dict: same tensors, loads."""
    from zoo_sr.archs import SRVGGNetCompact

    net = SRVGGNetCompact(num_feat=64, num_conv=16)
    path = tmp_path / "bare.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    model = zoo.load("realesr-animevideov3", weights=path)
    assert model.metadata["weights"]["format"] == "basicsr" and not model.metadata["weights"]["format_detected"]


# --- infer_architecture --------------------------------------------------------------------------------------
def _save(obj, path):
    torch.save(obj, path)
    return path


def test_infer_architecture_rrdbnet_blocks_and_widths(tmp_path):
    from zoo_sr.archs import RRDBNet

    torch.manual_seed(0)
    small = RRDBNet(scale=4, num_feat=8, num_block=2, num_grow_ch=4).eval()
    path = _save({"params_ema": small.state_dict()}, tmp_path / "tiny_x4.pth")
    with pytest.raises(WeightsError, match="infer_architecture=True"):
        zoo.load("realesrgan-x4plus", weights=path)
    model = zoo.load("realesrgan-x4plus", weights=path, infer_architecture=True, device="cpu")
    inferred = model.metadata["weights"]["inferred_kwargs"]
    assert inferred == {"num_feat": 8, "num_block": 2, "num_grow_ch": 4}
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.model(x), small(x))


def test_infer_architecture_with_detected_esrgan_layout(tmp_path):
    torch.manual_seed(0)
    official = OriginalESRGAN(nf=8, nb=3, gc=4).eval()
    path = _save(official.state_dict(), tmp_path / "RRDB_small.pth")
    model = zoo.load("esrgan-x4", weights=path, infer_architecture=True, device="cpu")
    meta = model.metadata["weights"]
    assert meta["format"] == "esrgan-original" and meta["inferred_kwargs"]["num_block"] == 3
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        assert torch.equal(model.model(x), official(x))


def test_infer_architecture_srvgg_conv_count(tmp_path):
    from zoo_sr.archs import SRVGGNetCompact

    net = SRVGGNetCompact(num_feat=4, num_conv=3).eval()
    path = _save({"params": net.state_dict()}, tmp_path / "compact.pth")
    model = zoo.load("realesr-general-x4v3", weights=path, infer_architecture=True)
    assert model.metadata["weights"]["inferred_kwargs"] == {"num_feat": 4, "num_conv": 3}


def test_infer_architecture_resnet_blocks_and_unet_depth(tmp_path):
    from zoo_translation.networks import ResnetGenerator, UnetGenerator

    resnet = ResnetGenerator(3, 3, ngf=8, norm="instance", n_blocks=2)
    path = _save(resnet.state_dict(), tmp_path / "latest_net_G.pth")
    model = zoo.load("cyclegan-horse2zebra", weights=path, infer_architecture=True)
    assert model.metadata["weights"]["inferred_kwargs"] == {"ngf": 8, "n_blocks": 2}
    unet = UnetGenerator(3, 3, num_downs=6, ngf=4, norm="batch", use_dropout=True)
    path = _save(unet.state_dict(), tmp_path / "unet.pth")
    model = zoo.load("pix2pix-facades-label2photo", weights=path, infer_architecture=True)
    assert model.metadata["weights"]["inferred_kwargs"] == {"ngf": 4, "num_downs": 6}
    assert model(torch.rand(3, 20, 30)).shape == (3, 20, 30)
    # a ResNet checkpoint offered to a U-Net entry names both architectures
    with pytest.raises(WeightsError, match="resnet_generator but the entry builds a unet_generator"):
        zoo.load("pix2pix-facades-label2photo", weights=tmp_path / "latest_net_G.pth", infer_architecture=True,
                 weights_format="junyanz")


def test_infer_architecture_needs_weights():
    with pytest.raises(ValueError, match="needs weights"):
        zoo.load("cyclegan-horse2zebra", pretrained=False, infer_architecture=True)


@pytest.mark.parametrize("wrap", [lambda sd: {"state_dict": sd, "epoch": 3},
                                  lambda sd: {"model." + k: v for k, v in sd.items()}],
                         ids=["state_dict-wrapper", "model-prefix"])
def test_plain_checkpoints_in_a_trainer_wrapper_or_with_a_shared_prefix_load(tmp_path, wrap):
    import zoo

    reference = zoo.build_model("espcn-x3-t91").state_dict()
    torch.save(wrap(reference), tmp_path / "mine.pth")
    loaded = zoo.load("espcn-x3-t91", weights=tmp_path / "mine.pth").model.state_dict()
    assert all(torch.equal(loaded[k], reference[k]) for k in reference)
