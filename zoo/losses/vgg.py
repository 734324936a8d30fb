"""VGG feature losses: perceptual (Johnson et al., SRGAN/ESRGAN) and Gram-matrix style (Gatys et al.).

Layers are named after VGG's blocks: ``conv{b}_{i}`` (before the ReLU), ``relu{b}_{i}`` (after it),
``bn{b}_{i}`` for the ``_bn`` variants and ``pool{b}``; e.g. VGG16's ``relu2_2`` is torchvision's
``features[8]`` and VGG19's ``conv5_4`` is ``features[34]`` (BasicSR's naming). The trunk is cut after the
deepest requested layer and its ReLUs are made out-of-place, so a ``conv*`` tap is the true pre-activation.

Weights: ``weights="imagenet"`` (default) is torchvision's official ImageNet checkpoint, fetched through the
zoo's weights hub (``https://download.pytorch.org/models/vgg19-dcbb9e9d.pth`` etc., checked against the
sha256 prefix in its name; offline, a missing file raises the hub's WeightsUnavailableError saying where to
put it); ``weights=PATH`` loads a local torchvision-layout file; ``weights=None`` is a seeded random init
(tests, conformance).
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import torch
from torch import nn

from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.losses.backbone import (FrozenBackbone, InputNormalizer, check_criterion, check_images, feature_distance,
                                 seeded, torch_hub_prefix)
from zoo.losses.pixel import LossConfigError
from zoo.metrics.weights import WeightFile, resolve
from zoo.weights.serialization import load_checkpoint

VGG_ARCHS = ("vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn")
JOHNSON_STYLE_LAYERS = {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0}


def vgg_layer_names(features: nn.Sequential) -> list[str]:
    """Block-style names of the modules of a torchvision VGG ``.features``, in order."""
    names, block, conv = [], 1, 0
    for module in features:
        if isinstance(module, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(module, nn.BatchNorm2d):
            names.append(f"bn{block}_{conv}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        elif isinstance(module, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, conv = block + 1, 0
        else:  # pragma: no cover - torchvision's VGG has no other layer types
            names.append(f"{type(module).__name__.lower()}{block}_{conv}")
    return names


def init_vgg_features(features: nn.Sequential, seed: int) -> None:
    """torchvision's VGG init (He-normal fan_out convs, zero biases, unit BN), drawn from ``seed``."""
    with seeded(seed), torch.no_grad():
        for module in features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
                module.reset_running_stats()


def vgg_weights_url(arch: str) -> str:
    """torchvision's official ImageNet checkpoint URL for ``arch`` (read from torchvision's weights enum)."""
    import torchvision  # heavy

    return torchvision.models.get_model_weights(arch).IMAGENET1K_V1.url


def _check_arch(arch: str) -> str:
    if arch not in VGG_ARCHS:
        raise LossConfigError(f"unknown VGG {arch!r}; expected one of {', '.join(VGG_ARCHS)}")
    return arch


def load_vgg_state_dict(arch: str, weights: str | os.PathLike[str], *, offline: bool | None = None,
                        what: str = "VGG loss") -> Mapping[str, torch.Tensor]:
    """The torchvision checkpoint for ``arch``: ``"imagenet"`` through the hub, or a local path."""

    url = vgg_weights_url(arch)
    spec = WeightFile(arch, url, torch_hub_prefix(url) or "", f"torchvision {arch} ImageNet weights ({what})")
    path = None if str(weights) == "imagenet" else weights
    try:
        resolved = resolve(spec, path, offline=offline)
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError(f"{exc}\n  for this loss ({what}): weights=PATH to a torchvision {arch} "
                                      f"checkpoint, or weights=None for a random backbone (tests only)") from exc
    return load_checkpoint(resolved.path)


class VGGFeatures(FrozenBackbone):
    """A frozen torchvision VGG trunk returning ``{layer name: activation}`` for the requested layers."""

    def __init__(self, layers: Sequence[str], arch: str = "vgg19", *,
                 weights: str | os.PathLike[str] | None = "imagenet", input_range: Sequence[float] = (0.0, 1.0),
                 normalize: bool = True, seed: int = 0, offline: bool | None = None) -> None:
        super().__init__()
        import torchvision  # heavy

        self.arch = _check_arch(arch)
        with torch.device("meta"):  # the classifier (120M parameters) is never materialised
            full = getattr(torchvision.models, arch)(weights=None)
        names = vgg_layer_names(full.features)
        unknown = [name for name in layers if name not in names]
        if unknown or not layers:
            raise LossConfigError(f"{arch} has no layer(s) {unknown or '(none given)'}; its layers are "
                                  f"{', '.join(names)}")
        self.layers = tuple(dict.fromkeys(layers))
        depth = max(names.index(name) for name in self.layers) + 1
        self.backbone = full.features[:depth].to_empty(device="cpu")  # keeps torchvision's indices as names
        init_vgg_features(self.backbone, seed)
        self.names = names[:depth]
        for module in self.backbone:
            if isinstance(module, nn.ReLU):
                module.inplace = False  # an in-place ReLU would overwrite a conv* tap
        self.input_norm = InputNormalizer(input_range, normalize)
        self.weights_source = "random" if weights is None else str(weights)
        if weights is not None:
            state = load_vgg_state_dict(arch, weights, offline=offline, what=type(self).__name__)
            self.load_torchvision_state_dict(state)
        self.freeze()

    def load_torchvision_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load a torchvision VGG checkpoint (``features.*``; ``classifier.*`` is ignored) into the cut trunk."""
        own = self.backbone.state_dict()
        trunk = {k[len("features."):]: v for k, v in state_dict.items() if k.startswith("features.")}
        missing = [f"features.{k}" for k in own if k not in trunk]
        bad = [f"features.{k}: expected {tuple(own[k].shape)}, got {tuple(trunk[k].shape)}"
               for k in own if k in trunk and trunk[k].shape != own[k].shape]
        if missing or bad:
            raise WeightsError(f"checkpoint does not fit torchvision {self.arch}: "
                               + "; ".join((bad + [f"missing {k}" for k in missing])[:6]))
        self.backbone.load_state_dict({k: trunk[k] for k in own}, strict=True)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        check_images(x, f"{self.arch} feature loss")
        out, taps, wanted = self.input_norm(x), {}, set(self.layers)
        for name, module in zip(self.names, self.backbone):
            out = module(out)
            if name in wanted:
                taps[name] = out
        return taps


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``F F^T / (c*h*w)`` per sample with ``F`` the ``c x (h*w)`` feature matrix (Johnson et al.'s convention).

    Half-precision features are multiplied in float32 (also under autocast): the sums overflow fp16.
    """
    if features.dtype in (torch.float16, torch.bfloat16):  # c x c sums of h*w products overflow fp16
        with torch.autocast(device_type=features.device.type, enabled=False):
            return gram_matrix(features.float())
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat.bmm(flat.transpose(1, 2)) / (c * h * w)


def _layer_weights(layer_weights: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    if isinstance(layer_weights, Mapping):
        return {str(k): float(v) for k, v in layer_weights.items()}
    return {str(k): 1.0 for k in layer_weights}


class VGGPerceptualLoss(FrozenBackbone):
    """``loss_weight * sum_l w_l * criterion(phi_l(pred), phi_l(target))`` on a frozen VGG.

    Defaults are ESRGAN's (BasicSR ``PerceptualLoss``): VGG19 ``conv5_4`` (before ReLU), L1, ImageNet
    normalisation of [0, 1] inputs. Johnson et al.'s content loss is ``arch="vgg16",
    layer_weights={"relu2_2": 1}, criterion="l2"``. ``layer_weights`` may also be a list of names (weight 1).
    Target features are computed without a graph (the target is data). Call: ``loss(pred, target)``.
    """

    def __init__(self, layer_weights: Mapping[str, float] | Sequence[str] | None = None, arch: str = "vgg19", *,
                 criterion: str = "l1", loss_weight: float = 1.0, input_range: Sequence[float] = (0.0, 1.0),
                 normalize: bool = True, weights: str | os.PathLike[str] | None = "imagenet", seed: int = 0,
                 offline: bool | None = None) -> None:
        super().__init__()
        self.layer_weights = _layer_weights(layer_weights if layer_weights is not None else {"conv5_4": 1.0})
        self.criterion = check_criterion(criterion)
        self.loss_weight = float(loss_weight)
        self.backbone = VGGFeatures(list(self.layer_weights), arch, weights=weights, input_range=input_range,
                                    normalize=normalize, seed=seed, offline=offline)
        self.freeze()

    def extra_repr(self) -> str:
        return f"layer_weights={self.layer_weights}, criterion={self.criterion!r}, loss_weight={self.loss_weight}"

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred_features = self.backbone(pred)
        with torch.no_grad():
            target_features = self.backbone(target.detach())
        total = pred.new_zeros(())
        for name, weight in self.layer_weights.items():
            total = total + weight * feature_distance(self.criterion, pred_features[name], target_features[name])
        return self.loss_weight * total


class GramStyleLoss(FrozenBackbone):
    """``loss_weight * sum_l w_l * criterion(gram(phi_l(pred)), gram(phi_l(style)))``, Gram normalised by c*h*w.

    Defaults are Johnson et al.'s (pytorch/examples ``fast_neural_style``): VGG16 ``relu1_2, relu2_2,
    relu3_3, relu4_3`` with weight 1 each and MSE. Call ``loss(pred, style)``; a style batch of one is
    broadcast to ``pred``'s batch. For a fixed style image, :meth:`set_style` computes its Grams once and
    ``loss(pred)`` reuses them.
    """

    def __init__(self, layer_weights: Mapping[str, float] | Sequence[str] | None = None, arch: str = "vgg16", *,
                 criterion: str = "l2", loss_weight: float = 1.0, input_range: Sequence[float] = (0.0, 1.0),
                 normalize: bool = True, weights: str | os.PathLike[str] | None = "imagenet", seed: int = 0,
                 offline: bool | None = None) -> None:
        super().__init__()
        self.layer_weights = _layer_weights(layer_weights if layer_weights is not None else JOHNSON_STYLE_LAYERS)
        self.criterion = check_criterion(criterion)
        self.loss_weight = float(loss_weight)
        self.backbone = VGGFeatures(list(self.layer_weights), arch, weights=weights, input_range=input_range,
                                    normalize=normalize, seed=seed, offline=offline)
        self.freeze()
        self._style_set = False

    def extra_repr(self) -> str:
        return f"layer_weights={self.layer_weights}, criterion={self.criterion!r}, loss_weight={self.loss_weight}"

    @torch.no_grad()
    def style_grams(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(style.detach())
        return {name: gram_matrix(features[name]) for name in self.layer_weights}

    def set_style(self, style: torch.Tensor) -> None:
        """Cache the Grams of a fixed style image (buffers, so they follow ``.to(device)``; not saved)."""
        for name, gram in self.style_grams(style).items():
            self.register_buffer(f"style_gram_{name}", gram, persistent=False)
        self._style_set = True

    def forward(self, pred: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        if style is not None:
            grams = self.style_grams(style)
        elif self._style_set:
            grams = {name: getattr(self, f"style_gram_{name}") for name in self.layer_weights}
        else:
            raise LossConfigError("gram_style: no style given; call loss(pred, style) or loss.set_style(style) first")
        features = self.backbone(pred)
        total = pred.new_zeros(())
        for name, weight in self.layer_weights.items():
            target = grams[name]
            if target.shape[0] not in (1, pred.shape[0]):
                raise LossConfigError(f"gram_style: style batch of {target.shape[0]} does not broadcast to "
                                      f"a prediction batch of {pred.shape[0]}; pass 1 or {pred.shape[0]} style images")
            gram = gram_matrix(features[name])
            total = total + weight * feature_distance(self.criterion, gram, target.to(gram.dtype))
        return self.loss_weight * total

