"""The example plugin's network, loss and weight resolver."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn


class UnsharpMaskNet(nn.Module):
    """out = x + amount * (x - blur(x)), folded into one depthwise 3x3 convolution."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(channels, channels, 3, groups=channels, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


def unsharp_state_dict(channels: int = 3, sigma: float = 1.0, amount: float = 1.0) -> dict[str, torch.Tensor]:
    g = torch.tensor([math.exp(-(i * i) / (2 * sigma * sigma)) for i in (-1, 0, 1)])
    blur = torch.outer(g, g) / torch.outer(g, g).sum()
    identity = torch.zeros(3, 3)
    identity[1, 1] = 1.0
    kernel = identity + amount * (identity - blur)
    return {"conv.weight": kernel.expand(channels, 1, 3, 3).clone(), "conv.bias": torch.zeros(channels)}


def blur_3x3(image, scale: int = 1):
    """The degradation the model undoes: the sigma-1 3x3 Gaussian of unsharp_state_dict, reflect padding, uint8."""
    import numpy as np

    g = np.array([math.exp(-0.5), 1.0, math.exp(-0.5)])
    g /= g.sum()
    x = np.pad(np.asarray(image, dtype=np.float64), ((1, 1), (1, 1), (0, 0)), mode="reflect")
    x = g[0] * x[:-2] + g[1] * x[1:-1] + g[2] * x[2:]
    x = g[0] * x[:, :-2] + g[1] * x[:, 1:-1] + g[2] * x[:, 2:]
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def total_variation_example_inputs() -> tuple[tuple[torch.Tensor], dict]:
    """``(args, kwargs)`` for one call of :func:`total_variation`, for the zoo's conformance check."""
    return (torch.rand(2, 3, 16, 16, requires_grad=True),), {}


def resolve_unsharp_weights(uri: str, context) -> Path:
    """``unsharp://sigma=S,amount=A`` -> a safetensors file in the zoo cache, computed once."""
    from zoo.weights import save_state_dict

    params = dict(item.split("=", 1) for item in uri.split("://", 1)[1].split(",") if item)
    sigma, amount = float(params.get("sigma", 1.0)), float(params.get("amount", 1.0))
    channels = int((context.entry.kwargs if context.entry else {}).get("channels", 3))
    path = context.cache_dir / "unsharp" / f"unsharp-c{channels}-s{sigma}-a{amount}.safetensors"
    if not path.is_file():
        save_state_dict(unsharp_state_dict(channels, sigma, amount), path)
    return path


def read_unsharp_json(path) -> dict[str, torch.Tensor]:
    """Weight format ``unsharp-json`` reader: ``{"sigma": S, "amount": A}`` -> a one-channel kernel and bias."""
    import json

    from zoo.errors import WeightsError

    try:
        params = json.loads(Path(path).read_text(encoding="utf-8"))
        sigma, amount = float(params["sigma"]), float(params["amount"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsError(f"{path}: expected JSON {{\"sigma\": S, \"amount\": A}} ({type(exc).__name__}: {exc})") from exc
    return unsharp_state_dict(1, sigma, amount)


def adapt_unsharp_kernel(state_dict, model: nn.Module) -> dict[str, torch.Tensor]:
    """Repeat the one-channel kernel for each channel of the model (a depthwise convolution)."""
    channels = model.conv.weight.shape[0]
    return {"conv.weight": state_dict["conv.weight"].expand(channels, 1, 3, 3).clone(),
            "conv.bias": state_dict["conv.bias"].expand(channels).clone()}
