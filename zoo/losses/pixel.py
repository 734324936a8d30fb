"""Pixel losses: L1, L2 (MSE), Charbonnier and total variation, with BasicSR's ``loss_weight`` / ``reduction``.

Every class is called ``loss(pred, target)`` (``tv`` takes ``loss(pred)``) and accepts an optional
element-wise ``weight`` broadcastable to the inputs; with ``reduction="mean"`` a weighted loss is divided
by the sum of the (broadcast) weights, so a 0/1 mask averages over the masked elements only.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ImageInputError, ZooError

REDUCTIONS = ("mean", "sum", "none")


class LossConfigError(ZooError, ValueError):
    """A loss built with an argument it cannot use."""


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise LossConfigError(f"unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}")
    return reduction


def reduce_loss(values: torch.Tensor, reduction: str, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Apply an optional element-wise weight, then reduce (weighted mean divides by the weight sum)."""
    if weight is not None:
        weight = weight.to(values.dtype).expand_as(values)
        values = values * weight
        if reduction == "mean":
            return values.sum() / weight.sum().clamp_min(torch.finfo(values.dtype).tiny)
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _check_pair(pred: torch.Tensor, target: torch.Tensor, what: str) -> None:
    if pred.shape != target.shape:
        raise ImageInputError(f"{what}: prediction and target differ in shape: "
                              f"{tuple(pred.shape)} vs {tuple(target.shape)}")


class _PixelLoss(nn.Module):
    name = "pixel"

    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.reduction = check_reduction(reduction)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, reduction={self.reduction!r}"

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        _check_pair(pred, target, self.name)
        return self.loss_weight * reduce_loss(self.elementwise(pred, target), self.reduction, weight)


class L1Loss(_PixelLoss):
    """Mean absolute error ``|pred - target|``."""

    name = "l1"

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(pred, target, reduction="none")


class MSELoss(_PixelLoss):
    """Mean squared error ``(pred - target)^2`` (the "L2" loss of SR papers; no square root)."""

    name = "l2"

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred, target, reduction="none")


class CharbonnierLoss(_PixelLoss):
    """Charbonnier (smooth L1) ``sqrt((pred - target)^2 + eps^2)`` (LapSRN).

    ``eps`` is the epsilon itself, squared under the root (default 1e-3, as LapSRN/MPRNet/Restormer).
    BasicSR's ``CharbonnierLoss(eps=...)`` adds its ``eps`` *unsquared*: BasicSR's default ``eps=1e-12`` is
    ``eps=1e-6`` here.
    """

    name = "charbonnier"

    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", eps: float = 1e-3) -> None:
        super().__init__(loss_weight, reduction)
        if not eps > 0:
            raise LossConfigError(f"charbonnier eps must be > 0, got {eps}")
        self.eps = float(eps)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}"

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((pred - target) ** 2 + self.eps * self.eps)


class TotalVariationLoss(nn.Module):
    """Total variation of an image batch: differences between vertical and horizontal neighbours.

    ``power=1`` (anisotropic, BasicSR's ``WeightedTVLoss``): ``mean|dy| + mean|dx|``;
    ``power=2``: ``mean(dy^2) + mean(dx^2)``. ``reduction="sum"`` sums instead (Johnson et al.'s Torch
    ``TotalVariation`` module sums squared differences and scales by its ``strength``, here ``loss_weight``).
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", power: int = 1) -> None:
        super().__init__()
        if power not in (1, 2):
            raise LossConfigError(f"tv power must be 1 or 2, got {power!r}")
        self.loss_weight = float(loss_weight)
        self.reduction = check_reduction(reduction)
        if self.reduction == "none":
            raise LossConfigError("tv reduction must be 'mean' or 'sum' (the two differences have different shapes)")
        self.power = power

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}, reduction={self.reduction!r}, power={self.power}"

    def forward(self, pred: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        if pred.ndim < 2 or min(pred.shape[-2:]) < 2:
            raise ImageInputError(f"tv: needs images of at least 2x2 pixels, got shape {tuple(pred.shape)}")
        dy = pred[..., 1:, :] - pred[..., :-1, :]
        dx = pred[..., :, 1:] - pred[..., :, :-1]
        dy, dx = (dy.abs(), dx.abs()) if self.power == 1 else (dy * dy, dx * dx)
        wy = wx = None
        if weight is not None:
            weight = weight.expand_as(pred)
            wy, wx = weight[..., :-1, :], weight[..., :, :-1]
        return self.loss_weight * (reduce_loss(dy, self.reduction, wy) + reduce_loss(dx, self.reduction, wx))


def example_tv_inputs() -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    g = torch.Generator().manual_seed(0)
    return (torch.rand(2, 3, 32, 32, generator=g).requires_grad_(True),), {}
