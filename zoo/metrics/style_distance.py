"""Content and style distances in VGG16 feature space, as the fast style transfer losses define them.

Johnson et al. (and pytorch/examples ``fast_neural_style``) train with a content loss on VGG16 ``relu2_2``
and a style loss on Gram matrices of ``relu1_2, relu2_2, relu3_3, relu4_3``; evaluated on a stylised output
they say how much of the photo's structure is kept and how close its textures are to the style image:

* input: RGB 0..255 -> /255 -> ImageNet mean/std (pytorch/examples ``normalize_batch``);
* content distance: mean squared difference of ``relu2_2`` maps of output and content image;
* style distance: sum over the four taps of the mean squared difference of Gram matrices
  ``F F^T / (C H W)`` of output and style image (the style image at its own size);
* weights: torchvision's ImageNet VGG16 (``vgg16-397923af.pth``) through the zoo hub, sha256 prefix checked.

Values are unweighted (pytorch/examples multiplies them by 1e5 and 1e10 for training).
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import nn

from zoo.errors import ImageInputError
from zoo.metrics import weights as metric_weights
from zoo.metrics.inception import default_device, reference_precision
from zoo.weights.serialization import load_checkpoint

TAPS = {3: "relu1_2", 8: "relu2_2", 15: "relu3_3", 22: "relu4_3"}  # indices into torchvision vgg16.features
CONTENT_TAP = "relu2_2"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def gram(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


class StyleDistance:
    """VGG16 trunk up to ``relu4_3``; ``distances(outputs, contents, style)`` per image, ``mean_distances`` averaged."""

    def __init__(self, *, device: str | torch.device | None = None, weights: str | os.PathLike[str] | None = None,
                 offline: bool | None = None, state_dict=None) -> None:
        import torchvision  # heavy

        self.device = torch.device(device) if device is not None else default_device()
        self.trunk: nn.Sequential = torchvision.models.vgg16(weights=None).features[: max(TAPS) + 1]
        if state_dict is None:
            resolved = metric_weights.resolve(metric_weights.BACKBONES["vgg"], weights, offline=offline,
                                              override_hint="metric_weights={'vgg16': PATH} in zoo.evaluation")
            full = load_checkpoint(resolved.path)
            state_dict = {k[len("features."):]: v for k, v in full.items() if k.startswith("features.")}
            self.weights = {"file": resolved.path.name, "sha256": resolved.sha256, "verified": resolved.verified}
        else:
            self.weights = {"file": "<state_dict>", "sha256": None, "verified": False}
        own = self.trunk.state_dict()
        self.trunk.load_state_dict({k: state_dict[k] for k in own}, strict=True)
        self.trunk.eval().requires_grad_(False).to(self.device)
        self.mean = torch.tensor(MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(STD, device=self.device).view(1, 3, 1, 1)

    @torch.inference_mode()
    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """uint8 (3,H,W) or (1,3,H,W) -> {tap: map}."""
        x = image.unsqueeze(0) if image.ndim == 3 else image
        if x.dtype != torch.uint8 or x.shape[1] != 3:
            raise ImageInputError(f"style distances need uint8 RGB images, got {x.dtype} {tuple(x.shape)}")
        x = (x.to(self.device).float() / 255 - self.mean) / self.std
        out = {}
        with reference_precision(self.device):
            for index, layer in enumerate(self.trunk):
                x = layer(x)
                if index in TAPS:
                    out[TAPS[index]] = x.double()
        return out

    def distances(self, output: torch.Tensor, content: torch.Tensor,
                  style_grams: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        fo, fc = self.features(output), self.features(content)
        if fo[CONTENT_TAP].shape != fc[CONTENT_TAP].shape:
            raise ImageInputError(f"output {tuple(output.shape)} and content {tuple(content.shape)} differ in size")
        result = {"content": float(((fo[CONTENT_TAP] - fc[CONTENT_TAP]) ** 2).mean())}
        if style_grams is not None:
            result["style"] = float(sum(((gram(fo[t]) - style_grams[t]) ** 2).mean() for t in TAPS.values()))
        return result

    def mean_distances(self, outputs: Sequence[torch.Tensor], contents: Sequence[torch.Tensor],
                       style: torch.Tensor | None = None) -> dict[str, float]:
        grams = {t: gram(f) for t, f in self.features(style).items()} if style is not None else None
        rows = [self.distances(o, c, grams) for o, c in zip(outputs, contents, strict=True)]
        if not rows:
            raise ValueError("style distances: no images")
        return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
