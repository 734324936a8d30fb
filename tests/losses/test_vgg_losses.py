"""VGG perceptual and Gram style losses.

Parity: a reference written from pytorch/examples ``fast_neural_style/neural_style`` conventions (a VGG16 cut
into four slices ending at relu1_2/relu2_2/relu3_3/relu4_3, ``normalize_batch`` on [0, 255] inputs, ``gram_matrix``
divided by ch*h*w, MSE content loss on relu2_2 and the style loss summed over the four layers against the
style image's Grams repeated over the batch), on the same seeded random VGG16 weights.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.weights.hub import cache_path_for
from zoo.losses.pixel import LossConfigError
from zoo.losses.vgg import GramStyleLoss, VGGFeatures, VGGPerceptualLoss, gram_matrix, vgg_layer_names

CONTENT_WEIGHT, STYLE_WEIGHT = 1e5, 1e10  # pytorch/examples' defaults


class ExamplesVgg16(nn.Module):
    """The fast_neural_style loss network's structure: four sequential slices of VGG16's ``features``."""

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.slices = nn.ModuleList([features[0:4], features[4:9], features[9:16], features[16:23]])
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for block in self.slices:
            x = block(x)
            outs.append(x)
        return outs  # relu1_2, relu2_2, relu3_3, relu4_3


def examples_gram(y: torch.Tensor) -> torch.Tensor:
    b, ch, h, w = y.shape
    f = y.view(b, ch, w * h)
    return f.bmm(f.transpose(1, 2)) / (ch * h * w)


def examples_normalize(batch_255: torch.Tensor) -> torch.Tensor:
    mean = batch_255.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch_255.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    return (batch_255 / 255.0 - mean) / std


@pytest.fixture(scope="module")
def vgg16_trunk(tmp_path_factory):
    """Seeded torchvision VGG16 weights up to relu4_3, as a torchvision-layout file and a reference network."""
    with torch.device("meta"):
        features = torchvision.models.vgg16(weights=None).features[:23]
    features = features.to_empty(device="cpu")
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for module in features:
            if isinstance(module, nn.Conv2d):  # He-scaled so activations stay O(1) through 10 layers
                scale = (2 / module.weight[0].numel()) ** 0.5
                module.weight.copy_(torch.randn(module.weight.shape, generator=g) * scale)
                module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.1)
    path = tmp_path_factory.mktemp("vgg") / "vgg16-random.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, path)
    return path, ExamplesVgg16(features).eval()


def images_255(seed: int, batch: int, size: int = 32) -> torch.Tensor:
    """8-bit images as float [0, 255] tensors (what ToTensor().mul(255) gives)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, 3, size, size), generator=g).float()


def test_perceptual_and_style_losses_equal_fast_neural_style(vgg16_trunk):
    path, reference = vgg16_trunk
    y255, x255, style255 = images_255(0, 2), images_255(1, 2), images_255(2, 1)
    y255.requires_grad_(True)
    # reference: the training step of neural_style.py
    features_y = reference(examples_normalize(y255))
    features_x = reference(examples_normalize(x255))
    gram_style = [examples_gram(f) for f in reference(examples_normalize(style255.repeat(2, 1, 1, 1)))]
    content_ref = CONTENT_WEIGHT * F.mse_loss(features_y[1], features_x[1])
    style_ref = 0.0
    for ft_y, gm_s in zip(features_y, gram_style):
        style_ref = style_ref + F.mse_loss(examples_gram(ft_y), gm_s[: y255.shape[0]])
    style_ref = STYLE_WEIGHT * style_ref
    (grad_ref,) = torch.autograd.grad(content_ref + style_ref, y255)

    content = VGGPerceptualLoss({"relu2_2": 1.0}, "vgg16", criterion="l2", loss_weight=CONTENT_WEIGHT, weights=path)
    style = GramStyleLoss(weights=path, loss_weight=STYLE_WEIGHT)  # defaults: vgg16 relu1_2..relu4_3, MSE
    y = (y255.detach() / 255.0).requires_grad_(True)
    content_value = content(y, x255 / 255.0)
    style_value = style(y, style255 / 255.0)  # one style image, broadcast over the batch
    assert content_value.item() == pytest.approx(content_ref.item(), rel=1e-6)
    assert style_value.item() == pytest.approx(style_ref.item(), rel=1e-6)
    (grad,) = torch.autograd.grad(content_value + style_value, y)
    assert torch.allclose(grad / 255.0, grad_ref, rtol=1e-4, atol=1e-6 * grad_ref.abs().max().item())

    style.set_style(style255 / 255.0)  # cached Grams give the same value
    assert style(y).item() == pytest.approx(style_ref.item(), rel=1e-6)


def test_gram_matrix_is_normalised_by_chw():
    f = torch.arange(24, dtype=torch.float64).reshape(1, 2, 3, 4)
    flat = f.reshape(2, 12)
    assert torch.allclose(gram_matrix(f)[0], flat @ flat.T / 24)


def test_layer_names_follow_torchvision_indices():
    with torch.device("meta"):
        names16 = vgg_layer_names(torchvision.models.vgg16(weights=None).features)
        names19 = vgg_layer_names(torchvision.models.vgg19(weights=None).features)
        names16bn = vgg_layer_names(torchvision.models.vgg16_bn(weights=None).features)
    assert [names16.index(n) for n in ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "conv5_3", "pool5")] == \
        [3, 8, 15, 22, 28, 30]
    assert names19.index("conv5_4") == 34 and names19.index("relu5_4") == 35  # BasicSR's indices
    assert names16bn[:4] == ["conv1_1", "bn1_1", "relu1_1", "conv1_2"]


def test_conv_taps_are_pre_activation():
    features = VGGFeatures(["conv2_2", "relu2_2"], "vgg16", weights=None)
    assert len(features.backbone) == 9  # cut after the deepest requested layer
    out = features(torch.rand(1, 3, 32, 32))
    assert out["conv2_2"].min() < 0  # an in-place ReLU would have clamped the conv tap
    assert torch.equal(out["relu2_2"], F.relu(out["conv2_2"]))


def test_input_range_and_normalisation_options():
    kwargs = {"layer_weights": {"relu1_2": 1.0, "conv3_1": 0.5}, "arch": "vgg16", "weights": None}
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    unit = VGGPerceptualLoss(**kwargs)(x, y)
    signed = VGGPerceptualLoss(**kwargs, input_range=(-1, 1))(2 * x - 1, 2 * y - 1)
    assert signed.item() == pytest.approx(unit.item(), rel=1e-5)
    assert VGGPerceptualLoss(**kwargs, input_range="-1,1").backbone.input_norm.input_range == (-1.0, 1.0)
    raw = VGGPerceptualLoss(**kwargs, normalize=False)(x, y)
    assert raw.item() != pytest.approx(unit.item(), rel=1e-3)
    with pytest.raises(ValueError, match=r"input_range must be \(0, 1\) or \(-1, 1\), got \(0, 255\)"):
        VGGPerceptualLoss(**kwargs, input_range=(0, 255))


def test_backbone_is_frozen_in_eval_mode_and_gradients_reach_the_prediction():
    loss = VGGPerceptualLoss({"bn2_1": 1.0, "relu3_1": 2.0}, "vgg11_bn", weights=None, criterion="fro")
    stats = loss.backbone.backbone[1].running_mean.clone()
    parent = nn.ModuleDict({"loss": loss}).train()  # a trainer's model.train() must not unfreeze it
    assert not any(m.training for m in loss.backbone.modules())
    assert not any(p.requires_grad for p in loss.parameters())
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    parent["loss"](pred, torch.rand(2, 3, 32, 32)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert torch.equal(loss.backbone.backbone[1].running_mean, stats)
    assert all(p.grad is None for p in loss.parameters())


def test_seeded_random_backbones_are_reproducible():
    a = VGGFeatures(["relu1_1"], "vgg19", weights=None, seed=3).backbone.state_dict()
    b = VGGFeatures(["relu1_1"], "vgg19", weights=None, seed=3).backbone.state_dict()
    c = VGGFeatures(["relu1_1"], "vgg19", weights=None, seed=4).backbone.state_dict()
    assert torch.equal(a["0.weight"], b["0.weight"]) and not torch.equal(a["0.weight"], c["0.weight"])


def test_imagenet_weights_come_through_the_hub(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError) as info:
        VGGPerceptualLoss({"relu1_2": 1.0}, "vgg16")
    message = str(info.value)
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in message
    assert str(cache_path_for("https://download.pytorch.org/models/vgg16-397923af.pth")) in message
    assert "weights=None" in message
    # a file seeded into the hub's cache is used, and checked against the sha256 prefix in its official name
    cached = cache_path_for("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth")
    cached.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, cached)
    with pytest.raises(WeightsError, match="dcbb9e9d"):
        GramStyleLoss({"relu1_1": 1.0}, "vgg19")


def test_bad_layers_arch_and_checkpoint(tmp_path):
    with pytest.raises(LossConfigError, match="vgg16 has no layer.*relu5_4.*relu1_1"):
        VGGFeatures(["relu5_4"], "vgg16", weights=None)
    with pytest.raises(LossConfigError, match="unknown VGG 'vgg17'"):
        VGGPerceptualLoss(arch="vgg17", weights=None)
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(8, 3, 3, 3), "features.0.bias": torch.zeros(8)}, bad)
    with pytest.raises(WeightsError, match=r"features.0.weight: expected \(64, 3, 3, 3\), got \(8, 3, 3, 3\)"):
        VGGFeatures(["conv1_1"], "vgg16", weights=bad)
    with pytest.raises(LossConfigError, match="no style given"):
        GramStyleLoss({"relu1_1": 1.0}, weights=None)(torch.rand(1, 3, 16, 16))
    with pytest.raises(LossConfigError, match="style batch of 2"):
        GramStyleLoss({"relu1_1": 1.0}, weights=None)(torch.rand(3, 3, 16, 16), torch.rand(2, 3, 16, 16))


def test_gram_of_half_precision_features_does_not_overflow():
    f = torch.full((1, 4, 64, 64), 60.0, dtype=torch.float16)  # 4096 products of 3600 overflow fp16's 65504
    gram = gram_matrix(f)
    assert gram.dtype == torch.float32 and torch.allclose(gram, torch.full((1, 4, 4), 900.0))


def test_perceptual_loss_equals_basicsr_conventions_on_vgg19():
    """BasicSR PerceptualLoss(layer_weights, vgg19, use_input_norm, range_norm=True): [-1, 1] -> [0, 1], ImageNet
    mean/std, ``vgg.features`` cut at the deepest layer (conv5_4 = index 34, before its ReLU), weighted sum."""
    with torch.device("meta"):
        features = torchvision.models.vgg19(weights=None).features[:35]
    features = features.to_empty(device="cpu")
    g = torch.Generator().manual_seed(9)
    with torch.no_grad():
        for module in features:
            if isinstance(module, nn.Conv2d):
                scale = (2 / module.weight[0].numel()) ** 0.5
                module.weight.copy_(torch.randn(module.weight.shape, generator=g) * scale)
                module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.1)
    taps = {"conv3_4": 16, "conv5_4": 34}  # BasicSR's NAMES['vgg19'] indices
    layer_weights = {"conv3_4": 0.5, "conv5_4": 1.0}
    x = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    gt = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def extract(img):
        out, found = ((img + 1) / 2 - mean) / std, {}
        for index, layer in enumerate(features):
            out = layer(out.clone()) if isinstance(layer, nn.ReLU) else layer(out)
            for name, tap in taps.items():
                if tap == index:
                    found[name] = out.clone()
        return found

    fx, fg = extract(x), extract(gt)
    expected = {"l1": sum(F.l1_loss(fx[k], fg[k]) * w for k, w in layer_weights.items()),
                "fro": sum(torch.norm(fx[k] - fg[k], p="fro") * w for k, w in layer_weights.items())}
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    for criterion, value in expected.items():
        ours = VGGPerceptualLoss(layer_weights, "vgg19", criterion=criterion, input_range=(-1, 1), weights=None,
                                 loss_weight=0.7)
        ours.backbone.load_torchvision_state_dict(state)
        assert ours(x, gt).item() == pytest.approx(0.7 * value.item(), rel=1e-5), criterion
