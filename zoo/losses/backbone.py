"""Shared pieces of the feature losses: frozen backbones, input ranges, criteria, seeded random init."""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ImageInputError
from zoo.losses.pixel import LossConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CRITERIA = ("l1", "l2", "mse", "fro")


def parse_input_range(value: Any) -> tuple[float, float]:
    """``(0, 1)`` or ``(-1, 1)`` from a sequence or a ``"-1,1"`` string (config files and ``key=value``)."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value.strip("()[] ")) if v]
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise LossConfigError(f"input_range must be (0, 1) or (-1, 1), got {value!r}") from None
    if (low, high) not in ((0.0, 1.0), (-1.0, 1.0)):
        raise LossConfigError(f"input_range must be (0, 1) or (-1, 1), got ({low:g}, {high:g})")
    return low, high


def feature_distance(criterion: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance between two feature (or Gram) tensors; ``b`` is broadcast to ``a``'s batch."""
    if b.shape != a.shape:
        b = b.expand_as(a)
    if criterion == "l1":
        return F.l1_loss(a, b)
    if criterion in ("l2", "mse"):
        return F.mse_loss(a, b)
    return torch.linalg.vector_norm(a - b)  # "fro": BasicSR's un-averaged Frobenius norm


def check_criterion(criterion: str) -> str:
    if criterion not in CRITERIA:
        raise LossConfigError(f"unknown criterion {criterion!r}; expected one of {', '.join(CRITERIA)}")
    return criterion


def check_images(x: torch.Tensor, what: str, min_size: int = 1) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ImageInputError(f"{what} expects N x 3 x H x W RGB batches, got shape {tuple(x.shape)}")
    if min(x.shape[-2:]) < min_size:
        raise ImageInputError(f"{what} needs images of at least {min_size}x{min_size} pixels, "
                              f"got {x.shape[-1]}x{x.shape[-2]}")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block (random init) under ``torch.manual_seed(seed)`` without disturbing the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class FrozenBackbone(nn.Module):
    """Base of the feature losses: the backbone never trains and stays in eval mode.

    ``.train()`` on a parent (a trainer calling ``model.train()``) leaves the backbone in eval, so batch-norm
    statistics and dropout never change; all its parameters have ``requires_grad=False``. Gradients still
    flow to the *inputs*.
    """

    backbone: nn.Module

    def freeze(self) -> None:
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.backbone.eval()

    def train(self, mode: bool = True) -> "FrozenBackbone":
        super().train(mode)
        self.backbone.eval()
        return self


class InputNormalizer(nn.Module):
    """Maps inputs from ``input_range`` to [0, 1], then (optionally) standardises by mean/std."""

    def __init__(self, input_range: Sequence[float], normalize: bool = True,
                 mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        super().__init__()
        self.input_range = parse_input_range(input_range)
        self.normalize = bool(normalize)
        self.register_buffer("mean", torch.tensor(tuple(mean), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(tuple(std), dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def extra_repr(self) -> str:
        return f"input_range={self.input_range}, normalize={self.normalize}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_range == (-1.0, 1.0):
            x = (x + 1) / 2
        if self.normalize:
            x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return x


def torch_hub_prefix(url: str) -> str | None:
    """The sha256 prefix torch.hub puts in file names (``vgg16-397923af.pth`` -> ``397923af``), or None."""
    match = re.search(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$", url.rsplit("/", 1)[-1])
    return match.group(1) if match else None
