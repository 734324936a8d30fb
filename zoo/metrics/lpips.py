"""LPIPS (Zhang et al. 2018): learned perceptual distance with alex / vgg / squeeze trunks.

Numerically the same network as the ``lpips`` package 0.1.4: torchvision trunk ``.features`` tapped at
the ReLU / Fire outputs, channel-wise unit normalisation (eps 1e-10 outside the sqrt), squared
difference, a 1x1 non-negative linear head per tap, spatial mean (or bilinear upsampling to the input
size for maps), summed over taps. Version 0.1 scales inputs by ImageNet statistics expressed for
[-1, 1]; version 0.0 (the original release) does not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ImageInputError, WeightsError
from zoo.metrics import weights as metric_weights
from zoo.weights.serialization import load_checkpoint

# ImageNet mean/std re-expressed for inputs in [-1, 1]: (2*mean - 1) and 2*std, rounded as lpips does.
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10


@dataclass(frozen=True)
class TrunkSpec:
    torchvision_name: str
    taps: tuple[int, ...]  # indices into torchvision's ``.features`` whose outputs are compared
    channels: tuple[int, ...]
    min_size: int  # smallest H and W the truncated trunk accepts


TRUNKS: dict[str, TrunkSpec] = {
    "alex": TrunkSpec("alexnet", (1, 4, 7, 9, 11), (64, 192, 384, 256, 256), 31),
    "vgg": TrunkSpec("vgg16", (3, 8, 15, 22, 29), (64, 128, 256, 512, 512), 16),
    "squeeze": TrunkSpec("squeezenet1_1", (1, 4, 7, 9, 10, 11, 12), (64, 128, 256, 384, 384, 512, 512), 17),
}
NET_ALIASES = {"alexnet": "alex", "vgg16": "vgg", "squeezenet": "squeeze", "squeezenet1_1": "squeeze"}
VERSIONS = ("0.1", "0.0")
RANGES = {(-1.0, 1.0), (0.0, 1.0)}


def canonical_net(net: str) -> str:
    name = NET_ALIASES.get(net, net)
    if name not in TRUNKS:
        raise ValueError(f"unknown LPIPS net {net!r}; choose one of {sorted(TRUNKS)}")
    return name


def _build_trunk(spec: TrunkSpec) -> nn.Sequential:
    import torchvision  # heavy

    full = getattr(torchvision.models, spec.torchvision_name)(weights=None)
    return full.features[: spec.taps[-1] + 1]  # keeps torchvision's indices as module names


class LPIPS(nn.Module):
    """LPIPS distance between two image batches.

    ``input_range`` is required and explicit: ``(-1, 1)`` (the lpips convention) or ``(0, 1)``.
    ``pretrained=True`` loads the ImageNet trunk through the zoo hub (or ``backbone_weights=PATH``) and
    the linear heads shipped with the lpips wheel; ``pretrained=False`` leaves both random, for tests
    that copy weights in with :meth:`load_backbone_state_dict` / :meth:`load_head_state_dict`.
    """

    def __init__(self, net: str = "alex", version: str = "0.1", *, input_range: Sequence[float],
                 pretrained: bool = True, backbone_weights: str | os.PathLike[str] | None = None,
                 offline: bool | None = None, check_range: bool = True) -> None:
        super().__init__()
        self.net = canonical_net(net)
        if version not in VERSIONS:
            raise ValueError(f"unknown LPIPS version {version!r}; choose one of {VERSIONS}")
        rng = tuple(float(v) for v in input_range)
        if rng not in RANGES:
            raise ValueError(f"input_range must be (-1, 1) or (0, 1), got {tuple(input_range)}")
        self.version = version
        self.input_range = rng
        self.check_range = check_range
        self.spec = TRUNKS[self.net]
        self.features = _build_trunk(self.spec)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in self.spec.channels)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.weights_info: dict[str, object] = {"backbone": None, "head": None}
        for p in self.parameters():
            p.requires_grad_(False)
        if pretrained:
            trunk = metric_weights.resolve(
                metric_weights.BACKBONES[self.net], backbone_weights, offline=offline,
                override_hint="LPIPS(..., backbone_weights=PATH) or `zoo metric lpips --backbone-weights PATH`")
            self.load_backbone_state_dict(_read_state_dict(trunk.path))
            self.weights_info["backbone"] = {"path": str(trunk.path), "sha256": trunk.sha256, "verified": trunk.verified}
            head = metric_weights.resolve_lpips_head(self.net, version, offline=offline)
            self.load_head_state_dict(_read_state_dict(head.path))
            self.weights_info["head"] = {"path": str(head.path), "sha256": head.sha256, "verified": True}
        self.eval()

    @property
    def name(self) -> str:
        return f"lpips-{self.net}-v{self.version}"

    def load_backbone_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load a torchvision checkpoint of the trunk (``features.*``; ``classifier.*`` is ignored)."""
        trunk_sd = {k[len("features."):]: v for k, v in state_dict.items() if k.startswith("features.")}
        stray = sorted(k for k in state_dict if not k.startswith(("features.", "classifier.")))
        if stray:
            raise WeightsError(f"{self.spec.torchvision_name} checkpoint has unexpected keys {stray[:5]}; "
                               f"expected torchvision's features.* / classifier.* layout")
        _load_strict(self.features, trunk_sd, f"{self.spec.torchvision_name} trunk", "features.")

    def load_head_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load the lpips heads file layout (``lin{k}.model.1.weight``, the 1 skipping the Dropout slot)."""
        wanted = {f"lin{k}.model.1.weight": f"{k}.weight" for k in range(len(self.lins))}
        missing = sorted(set(wanted) - set(state_dict))
        extra = sorted(k for k in state_dict if k not in wanted and not k.startswith("lins."))
        if missing or extra:
            raise WeightsError(f"LPIPS {self.net} head weights: missing {missing}, unexpected {extra}")
        _load_strict(self.lins, {wanted[k]: state_dict[k] for k in wanted}, f"LPIPS {self.net} heads", "lins.")

    def _validate(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ImageInputError(f"LPIPS expects N x 3 x H x W RGB batches, got shape {tuple(x.shape)}")
        if x.shape != y.shape:
            raise ImageInputError(f"LPIPS inputs differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
        if min(x.shape[-2:]) < self.spec.min_size:
            raise ImageInputError(f"LPIPS-{self.net} needs images of at least {self.spec.min_size}x"
                                  f"{self.spec.min_size} pixels, got {x.shape[-1]}x{x.shape[-2]}")
        if self.check_range:
            lo, hi = self.input_range
            low = min(float(x.detach().min()), float(y.detach().min()))
            high = max(float(x.detach().max()), float(y.detach().max()))
            if low < lo - 1e-3 or high > hi + 1e-3:
                raise ImageInputError(f"LPIPS was told input_range={self.input_range} but got values in "
                                      f"[{low:.4g}, {high:.4g}]; pass the matching input_range")

    def taps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Trunk activations at the LPIPS taps, for inputs already in the network's range."""
        out, taps, wanted = images, [], set(self.spec.taps)
        for index, layer in enumerate(self.features):
            out = layer(out)
            if index in wanted:
                taps.append(out)
        return taps

    def forward(self, x: torch.Tensor, y: torch.Tensor, *, per_layer: bool = False, spatial: bool = False):
        """Distance per pair: shape ``[N]``, or ``[N, 1, H, W]`` maps with ``spatial=True``.

        With ``per_layer=True`` returns ``(total, [per-tap values])`` in the same shape.
        """
        self._validate(x, y)
        if self.input_range == (0.0, 1.0):
            x, y = 2 * x - 1, 2 * y - 1
        if self.version == "0.1":
            x, y = (x - self.shift) / self.scale, (y - self.shift) / self.scale
        feats = self.taps(torch.cat([x, y]))
        n = x.shape[0]
        layers = []
        for lin, f in zip(self.lins, feats):
            f0, f1 = _unit_normalize(f[:n]), _unit_normalize(f[n:])
            d = lin((f0 - f1) ** 2)
            if spatial:
                layers.append(F.interpolate(d, size=x.shape[-2:], mode="bilinear", align_corners=False))
            else:
                layers.append(d.mean(dim=(2, 3)).flatten())
        total = layers[0]
        for value in layers[1:]:
            total = total + value
        return (total, layers) if per_layer else total


def _unit_normalize(f: torch.Tensor) -> torch.Tensor:
    return f / (torch.sqrt(torch.sum(f ** 2, dim=1, keepdim=True)) + EPS)


def _read_state_dict(path) -> Mapping[str, torch.Tensor]:
    return load_checkpoint(path)


def _load_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str, prefix: str) -> None:
    own = module.state_dict()
    problems = [f"{prefix}{k}: expected shape {tuple(own[k].shape)}, got {tuple(v.shape)}"
                for k, v in state_dict.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    problems += [f"missing {prefix}{k}" for k in own if k not in state_dict]
    problems += [f"unexpected {prefix}{k}" for k in state_dict if k not in own]
    if problems:
        raise WeightsError(f"{what} weights do not fit: " + "; ".join(problems[:8])
                           + (f" (+{len(problems) - 8} more)" if len(problems) > 8 else ""))
    module.load_state_dict(dict(state_dict), strict=True)
