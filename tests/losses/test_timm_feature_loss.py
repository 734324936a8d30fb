"""Feature loss on a timm backbone by name: seeded random backbones, official weights through the hub."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from zoo.errors import WeightsUnavailableError
from zoo.weights.hub import cache_path_for
from zoo.losses.pixel import LossConfigError
from zoo.losses.timm_features import TimmFeatureLoss, official_weight_urls

timm = pytest.importorskip("timm")

HF_RESNET18 = "https://huggingface.co/timm/resnet18.a1_in1k/resolve/main/model.safetensors"


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    """A seeded resnet18 checkpoint in timm's layout (safetensors) and its state dict."""
    from safetensors.torch import save_file

    torch.manual_seed(7)
    state = timm.create_model("resnet18", pretrained=False).state_dict()
    path = tmp_path_factory.mktemp("timm") / "resnet18-random.safetensors"
    save_file(state, str(path))
    return path, state


def reference_resnet18_loss(state, pred, target, weights=(1.0, 0.5)):
    """resnet18's layer1 and layer2 outputs (timm feature indices 1 and 2) from the full model, L1 each."""
    model = timm.create_model("resnet18", pretrained=False)
    model.load_state_dict(state)
    model.eval()
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)

    def levels(x):
        x = model.maxpool(model.act1(model.bn1(model.conv1((x - mean) / std))))
        f1 = model.layer1(x)
        return f1, model.layer2(f1)

    with torch.no_grad():
        t1, t2 = levels(target)
    p1, p2 = levels(pred)
    return weights[0] * F.l1_loss(p1, t1) + weights[1] * F.l1_loss(p2, t2)


def test_loaded_weights_give_the_reference_value(resnet18_file):
    path, state = resnet18_file
    loss = TimmFeatureLoss("resnet18", out_indices=(1, 2), layer_weights=(1.0, 0.5), weights=path)
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 3, 32, 32, generator=g).requires_grad_(True), torch.rand(2, 3, 32, 32, generator=g)
    value = loss(pred, target)
    assert value.item() == pytest.approx(reference_resnet18_loss(state, pred, target).item(), rel=1e-5)
    value.backward()
    assert pred.grad.abs().sum() > 0 and all(p.grad is None for p in loss.parameters())


def test_official_weights_come_through_the_hub_cache(resnet18_file, monkeypatch):
    path, state = resnet18_file
    cached = cache_path_for(HF_RESNET18)  # a user seeding the hub cache by hand, offline
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(path.read_bytes())
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    loss = TimmFeatureLoss("resnet18", out_indices=(1, 2))
    assert loss.weights_source == str(cached)
    assert torch.equal(loss.backbone.layer2[0].conv1.weight, state["layer2.0.conv1.weight"])


def test_missing_weights_name_every_official_source(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as info:
        TimmFeatureLoss("resnet18")
    message = str(info.value)
    assert HF_RESNET18 in message and str(cache_path_for(HF_RESNET18)) in message
    assert "resnet18_a1_0-d63eafa0.pth" in message and "pretrained=False" in message


def test_official_urls_follow_the_pretrained_cfg():
    cfg = timm.models.get_pretrained_cfg("resnet18").to_dict()
    urls = official_weight_urls(cfg)
    assert urls[0] == (HF_RESNET18, None)
    assert urls[-1][1] == "d63eafa0"  # torch.hub's sha256 prefix from the release file name
    assert official_weight_urls({"hf_hub_id": "org/repo", "hf_hub_filename": "w.bin"}) == \
        [("https://huggingface.co/org/repo/resolve/main/w.bin", None)]


def test_random_backbone_is_frozen_seeded_and_uses_the_model_statistics():
    a = TimmFeatureLoss("resnet18", pretrained=False, out_indices=(1,), seed=1)
    b = TimmFeatureLoss("resnet18", pretrained=False, out_indices=(1,), seed=1)
    assert torch.equal(a.backbone.conv1.weight, b.backbone.conv1.weight)
    a.train()
    assert not any(m.training for m in a.backbone.modules())
    assert not any(p.requires_grad for p in a.parameters())
    assert a.input_norm.mean.flatten().tolist() == pytest.approx([0.485, 0.456, 0.406])
    x = torch.rand(1, 3, 32, 32)
    assert a(x, x).item() == 0.0
    signed = TimmFeatureLoss("resnet18", pretrained=False, out_indices=(1,), seed=1, input_range=(-1, 1))
    y = torch.rand(1, 3, 32, 32)
    assert signed(2 * x - 1, 2 * y - 1).item() == pytest.approx(a(x, y).item(), rel=1e-5)


def test_bad_arguments():
    with pytest.raises(LossConfigError, match="timm has no model 'resnet_nope'"):
        TimmFeatureLoss("resnet_nope", pretrained=False)
    with pytest.raises(LossConfigError, match="layer_weights has 1 values but 'resnet18' gives 2"):
        TimmFeatureLoss("resnet18", pretrained=False, out_indices=(1, 2), layer_weights=[1.0])
    with pytest.raises(LossConfigError, match="cannot be built as a feature extractor"):
        TimmFeatureLoss("resnet18", pretrained=False, out_indices=(9,))
