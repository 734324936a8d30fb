"""LPIPS: equal to lpips.LPIPS 0.1.4 with the same (seeded random) trunk and the packaged heads; errors and weights."""

from __future__ import annotations

import functools
import os

import pytest
import torch

from zoo.errors import ImageInputError, WeightsError, WeightsUnavailableError
from zoo.metrics.lpips import LPIPS
from zoo.metrics.random_weights import random_trunk_state_dict
from zoo.metrics.weights import BACKBONES, packaged_lpips_head
from zoo.weights.serialization import load_checkpoint

lpips_ref = pytest.importorskip("lpips")

TORCHVISION = {"alex": "alexnet", "vgg": "vgg16", "squeeze": "squeezenet1_1"}


@functools.lru_cache(maxsize=None)
def _seeded_trunk_cached(net: str, seed: int) -> dict[str, torch.Tensor]:
    return random_trunk_state_dict(TORCHVISION[net], seed)


def _seeded_trunk(net: str, seed: int = 0) -> dict[str, torch.Tensor]:
    return dict(_seeded_trunk_cached(net, seed))


def _pair(shape, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g) * 2 - 1
    y = torch.rand(shape, generator=g) * 2 - 1
    y[0] = (x[0] + 0.1 * torch.randn(shape[1:], generator=g)).clamp(-1, 1)  # one near pair, others far apart
    return x, y


@pytest.fixture(scope="module")
def seeded_hub(tmp_path_factory):
    """A private TORCH_HOME (module-wide) holding seeded random trunks under their official file names."""
    home = tmp_path_factory.mktemp("torch_home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    for net in TORCHVISION:
        torch.save(_seeded_trunk(net), home / "hub" / "checkpoints" / BACKBONES[net].file_name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(home))
        yield home


@functools.lru_cache(maxsize=None)
def _ours(net: str, version: str, input_range=(-1, 1)) -> LPIPS:
    model = LPIPS(net, version, input_range=input_range, pretrained=False)
    model.load_backbone_state_dict(_seeded_trunk(net))
    model.load_head_state_dict(load_checkpoint(packaged_lpips_head(net, version)))
    return model


@functools.lru_cache(maxsize=None)
def _ref(net: str, version: str, spatial: bool = False):
    """lpips' own constructor down its default path (the trunk comes from the seeded hub cache)."""
    assert os.environ["TORCH_HOME"]
    return lpips_ref.LPIPS(net=net, version=version, spatial=spatial, verbose=False)


@pytest.mark.parametrize("net,version", [("alex", "0.1"), ("vgg", "0.1"), ("squeeze", "0.1"), ("alex", "0.0"),
                                         ("vgg", "0.0"), ("squeeze", "0.0")])
def test_values_and_layers_match_lpips(net, version, seeded_hub):
    ref, ours = _ref(net, version), _ours(net, version)
    for shape in [(3, 3, 64, 64), (2, 3, 48, 80)]:
        x, y = _pair(shape)
        with torch.no_grad():
            ref_total, ref_layers = ref(x, y, retPerLayer=True)
            total, layers = ours(x, y, per_layer=True)
        assert len(layers) == len(ref_layers) == len(ours.spec.taps)
        torch.testing.assert_close(total, ref_total.flatten(), rtol=1e-6, atol=1e-7)
        for mine, theirs in zip(layers, ref_layers):
            torch.testing.assert_close(mine, theirs.flatten(), rtol=1e-6, atol=1e-7)
        assert float(total.max() - total.min()) > 1e-3  # the pairs really differ, so the check is not vacuous


@pytest.mark.parametrize("net", ["alex", "vgg", "squeeze"])
def test_spatial_maps_and_unit_range_input_match(net, seeded_hub):
    ref, ours, ours01 = _ref(net, "0.1"), _ours(net, "0.1"), _ours(net, "0.1", (0, 1))
    ref_spatial = _ref(net, "0.1", spatial=True)
    x, y = _pair((2, 3, 40, 56), seed=5)
    x01, y01 = (x + 1) / 2, (y + 1) / 2
    with torch.no_grad():
        torch.testing.assert_close(ours(x, y, spatial=True), ref_spatial(x, y), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(ours01(x01, y01), ref(x01, y01, normalize=True).flatten(), rtol=1e-6, atol=1e-7)


def test_gradients_match_lpips(seeded_hub):
    ref, ours = _ref("alex", "0.1"), _ours("alex", "0.1")
    x, y = _pair((2, 3, 64, 64))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref(xa, y).sum().backward()
    ours(xb, y).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=1e-5, atol=1e-9)


def test_input_checks():
    model = LPIPS("squeeze", input_range=(0, 1), pretrained=False)
    with pytest.raises(TypeError):
        LPIPS("alex", pretrained=False)  # the input range must be stated
    with pytest.raises(ValueError, match="input_range"):
        LPIPS("alex", input_range=(0, 255), pretrained=False)
    with pytest.raises(ValueError, match="unknown LPIPS net"):
        LPIPS("resnet", input_range=(0, 1), pretrained=False)
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ImageInputError, match=r"input_range=\(0.0, 1.0\)"):
        model(x * 2 - 1, x)
    with pytest.raises(ImageInputError, match="differ in shape"):
        model(x, x[..., :30])
    with pytest.raises(ImageInputError, match="at least 17x17"):
        model(x[..., :16, :16], x[..., :16, :16])
    assert torch.equal(model(x, x), torch.zeros(1))


def test_weight_files_are_checked(tmp_path):
    model = LPIPS("alex", input_range=(-1, 1), pretrained=False)
    heads = dict(load_checkpoint(packaged_lpips_head("alex", "0.1")))
    heads.pop("lin4.model.1.weight")
    with pytest.raises(WeightsError, match="missing.*lin4"):
        model.load_head_state_dict(heads)
    with pytest.raises(WeightsError, match="features.0.weight: expected shape"):
        model.load_backbone_state_dict(_seeded_trunk("squeeze"))  # another net's trunk
    broken = {k: v for k, v in _seeded_trunk("alex").items() if k != "features.3.bias"}
    with pytest.raises(WeightsError, match="missing features.3.bias"):
        model.load_backbone_state_dict(broken)


def test_missing_backbone_is_actionable(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as info:
        LPIPS("vgg", input_range=(-1, 1))
    text = str(info.value)
    assert "vgg16-397923af.pth" in text and "https://download.pytorch.org/models/vgg16-397923af.pth" in text


def test_pretrained_load_from_cache_checks_the_hash(tmp_path):
    """A cached file under the official name must have a sha256 starting with the name's digits."""
    from zoo.weights.hub import cache_path_for

    spec = BACKBONES["alex"]
    dest = cache_path_for(spec.url)
    dest.parent.mkdir(parents=True)
    torch.save(_seeded_trunk("alex"), dest)  # random weights are not the official file
    with pytest.raises(WeightsError, match="expected one starting with 7be5be79"):
        LPIPS("alex", input_range=(-1, 1))
    explicit = tmp_path / "mine.pth"
    torch.save(_seeded_trunk("alex"), explicit)
    model = LPIPS("alex", input_range=(-1, 1), backbone_weights=explicit)  # explicit files are trusted, flagged
    assert model.weights_info["backbone"]["verified"] is False
    assert model.weights_info["head"]["verified"] is True
