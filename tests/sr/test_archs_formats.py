"""Weight formats basicsr / esrgan-original / mmedit: synthetic checkpoints in each upstream layout load strictly
through the zoo's loader (registered format -> adapter -> strict load) and give identical outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from zoo.weights.loading import load_weights
from zoo.registry.catalog import Entry, WeightSpec
from zoo.errors import WeightsError
from zoo.weights.hub import ResolvedWeights
from zoo_sr.adapters import adapt_basicsr, adapt_esrgan_original
from zoo_sr.archs import MSRResNet, RRDBNet, SRVGGNetCompact

torch.set_num_threads(2)
X = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def _tiny_rrdb(seed: int = 0) -> RRDBNet:
    torch.manual_seed(seed)
    return RRDBNet(3, 3, scale=4, num_feat=8, num_block=2, num_grow_ch=4).eval()


def _tiny_msrresnet(seed: int = 0, **kwargs) -> MSRResNet:
    torch.manual_seed(seed)
    return MSRResNet(3, 3, num_feat=8, num_block=2, upscale=4, **kwargs).eval()


def _load(model: torch.nn.Module, checkpoint: object, path: Path, fmt: str) -> torch.nn.Module:
    """Save ``checkpoint`` with torch.save and load it into ``model`` the way zoo.load does."""
    torch.save(checkpoint, path)
    entry = Entry(name="test-entry", task="super-resolution", architecture="rrdbnet")
    resolved = ResolvedWeights(path, WeightSpec(uri=str(path), format=fmt), "explicit")
    return load_weights(model, entry, resolved)


def _same_output(a: torch.nn.Module, b: torch.nn.Module) -> None:
    with torch.no_grad():
        assert torch.equal(a(X), b(X))


# --- basicsr -------------------------------------------------------------------------------------------------
def test_basicsr_prefers_params_ema(tmp_path, zoo_manager):
    ema, raw = _tiny_rrdb(1), _tiny_rrdb(2)
    checkpoint = {"params": raw.state_dict(), "params_ema": ema.state_dict()}
    loaded = _load(_tiny_rrdb(3), checkpoint, tmp_path / "net_g.pth", "basicsr")
    _same_output(loaded, ema)


@pytest.mark.parametrize("layout", ["params", "bare", "module-prefixed"])
def test_basicsr_other_layouts(tmp_path, zoo_manager, layout):
    source = SRVGGNetCompact(num_feat=4, num_conv=2).eval()
    sd = source.state_dict()
    checkpoint = {"params": sd} if layout == "params" else dict(sd) if layout == "bare" else \
        {"params": {f"module.{k}": v for k, v in sd.items()}}
    torch.manual_seed(9)
    loaded = _load(SRVGGNetCompact(num_feat=4, num_conv=2).eval(), checkpoint, tmp_path / "x.pth", "basicsr")
    _same_output(loaded, source)


def test_basicsr_wrong_architecture_names_the_keys(tmp_path, zoo_manager):
    checkpoint = {"params_ema": SRVGGNetCompact(num_feat=4, num_conv=2).state_dict()}
    with pytest.raises(WeightsError, match=r"missing: conv_first\.weight.*unexpected: body\.0\.weight"):
        _load(_tiny_rrdb(), checkpoint, tmp_path / "x.pth", "basicsr")


def test_basicsr_refuses_unknown_wrappers():
    with pytest.raises(WeightsError, match="no 'params_ema' or 'params'.*keys: optimizer, state_dict"):
        adapt_basicsr({"state_dict": {"a": torch.zeros(1)}, "optimizer": {"lr": 1}})


# --- esrgan-original ---------------------------------------------------------------------------------------
def _to_esrgan_2019(sd: dict) -> dict:
    """BasicSR RRDBNet names -> xinntao/ESRGAN RRDBNet_arch.py names (the inverse of the adapter, written separately)."""
    out = {}
    for k, v in sd.items():
        k = re.sub(r"^body\.(\d+)\.rdb(\d)\.", r"RRDB_trunk.\1.RDB\2.", k)
        k = {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}.get(
            k.rsplit(".", 1)[0], k.rsplit(".", 1)[0]) + "." + k.rsplit(".", 1)[1]
        out[k] = v
    return out


def _to_esrgan_2018(sd: dict, num_block: int) -> dict:
    """BasicSR RRDBNet names -> the 2018 sequential ``model.N`` names."""
    top = {"conv_first": "model.0", "conv_body": f"model.1.sub.{num_block}", "conv_up1": "model.3",
           "conv_up2": "model.6", "conv_hr": "model.8", "conv_last": "model.10"}
    out = {}
    for k, v in sd.items():
        module, param = k.rsplit(".", 1)
        if m := re.match(r"^body\.(\d+)\.rdb(\d)\.(conv\d)$", module):
            out[f"model.1.sub.{m.group(1)}.RDB{m.group(2)}.{m.group(3)}.0.{param}"] = v
        else:
            out[f"{top[module]}.{param}"] = v
    return out


def test_esrgan_2019_names(tmp_path, zoo_manager):
    source = _tiny_rrdb(5)
    old = _to_esrgan_2019(source.state_dict())
    assert "RRDB_trunk.1.RDB3.conv5.weight" in old and "HRconv.bias" in old and "upconv2.weight" in old
    _same_output(_load(_tiny_rrdb(6), old, tmp_path / "RRDB_ESRGAN_x4.pth", "esrgan-original"), source)


def test_esrgan_2018_names(tmp_path, zoo_manager):
    source = _tiny_rrdb(7)
    old = _to_esrgan_2018(source.state_dict(), num_block=2)
    assert "model.1.sub.2.weight" in old and "model.1.sub.0.RDB1.conv1.0.weight" in old
    _same_output(_load(_tiny_rrdb(8), old, tmp_path / "old.pth", "esrgan-original"), source)


def test_esrgan_original_msrresnet_names(tmp_path, zoo_manager):
    """xinntao's MSRResNet (mmsr era): recon_trunk / upconvK / HRconv."""
    source = _tiny_msrresnet(1)
    old = {k.replace("body.", "recon_trunk.").replace("conv_hr.", "HRconv."): v for k, v in source.state_dict().items()}
    _same_output(_load(_tiny_msrresnet(2), old, tmp_path / "msr.pth", "esrgan-original"), source)


def test_esrgan_original_keeps_unknown_keys_for_the_strict_load():
    sd = _to_esrgan_2019(_tiny_rrdb().state_dict())
    sd["extra.weight"] = torch.zeros(1)
    assert "extra.weight" in adapt_esrgan_original(sd, _tiny_rrdb())


# --- mmedit ----------------------------------------------------------------------------------------------------
def test_mmedit_msrresnet(tmp_path, zoo_manager):
    source = _tiny_msrresnet(3, upsample_act=False)
    renamed = {}
    for k, v in source.state_dict().items():
        k = k.replace("body.", "trunk_net.")
        k = re.sub(r"^upconv(\d)\.", r"upsample\1.upsample_conv.", k)
        renamed[f"generator.{k}"] = v
    renamed["discriminator.conv0.weight"] = torch.zeros(1)  # GAN checkpoints also hold the discriminator
    checkpoint = {"meta": {"iter": 300000, "mmedit_version": "0.1.0"}, "state_dict": renamed}
    loaded = _load(_tiny_msrresnet(4, upsample_act=False), checkpoint, tmp_path / "mm.pth", "mmedit")
    _same_output(loaded, source)


def test_mmedit_prefers_ema_generator(tmp_path, zoo_manager):
    ema, raw = _tiny_rrdb(10), _tiny_rrdb(11)
    sd = {f"generator.{k}": v for k, v in raw.state_dict().items()}
    sd.update({f"generator_ema.{k}": v for k, v in ema.state_dict().items()})
    _same_output(_load(_tiny_rrdb(12), {"state_dict": sd}, tmp_path / "mm.pth", "mmedit"), ema)
