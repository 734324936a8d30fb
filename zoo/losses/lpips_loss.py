"""LPIPS as a training loss, on the zoo's own LPIPS network (:mod:`zoo.metrics.lpips`).

The default trunk is ``vgg``: the lpips authors recommend it when LPIPS is optimised as a "perceptual loss"
(``alex`` is their choice as a metric). Trunk and linear heads are frozen; gradients reach the prediction.
"""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import nn

from zoo.errors import WeightsUnavailableError
from zoo.losses.backbone import FrozenBackbone, parse_input_range, seeded
from zoo.losses.pixel import check_reduction
from zoo.metrics.lpips import LPIPS, TRUNKS, canonical_net


class LPIPSLoss(FrozenBackbone):
    """``loss_weight * reduce(LPIPS(pred, target))`` with the per-pair distances reduced by ``reduction``.

    ``pretrained=True`` loads the ImageNet trunk through the weights hub (``backbone_weights=PATH`` for a
    local torchvision file) and the linear heads shipped with the lpips wheel. ``pretrained=False`` is for
    tests: a trunk with torchvision's random init drawn from ``seed`` and uniform heads ``1/C`` (so the value
    is the channel-averaged squared distance of unit-normalised features: non-negative, zero for equal inputs).
    ``check_range=True`` refuses inputs outside ``input_range`` (off by default: a generator may overshoot).
    """

    def __init__(self, net: str = "vgg", version: str = "0.1", *, input_range: Sequence[float] = (-1.0, 1.0),
                 pretrained: bool = True, backbone_weights: str | os.PathLike[str] | None = None,
                 loss_weight: float = 1.0, reduction: str = "mean", check_range: bool = False, seed: int = 0,
                 offline: bool | None = None) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.reduction = check_reduction(reduction)
        try:
            with seeded(seed):
                self.backbone = LPIPS(canonical_net(net), version, input_range=parse_input_range(input_range),
                                      pretrained=pretrained, backbone_weights=backbone_weights, offline=offline,
                                      check_range=check_range)
        except WeightsUnavailableError as exc:
            raise WeightsUnavailableError(f"{exc}\n  for this loss: LPIPSLoss(backbone_weights=PATH), or "
                                          f"pretrained=False for a random network (tests only)") from exc
        if not pretrained:
            with torch.no_grad():
                for lin, channels in zip(self.backbone.lins, TRUNKS[self.backbone.net].channels):
                    nn.init.constant_(lin.weight, 1.0 / channels)
        self.freeze()

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, reduction={self.reduction!r}"

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        distances = self.backbone(pred, target.detach())
        if self.reduction == "mean":
            distances = distances.mean()
        elif self.reduction == "sum":
            distances = distances.sum()
        return self.loss_weight * distances
