"""A third-party plugin as an author would write it, with what issue 17 found unsafe: entries whose networks read
and write [0, 255] (EDSR's official range) or [0, 1] (style transfer's default is [0, 255]), a loss registered as a
function, a loss that forgets to reduce, and a dataset record pointing at a local folder.

Registered in tests with the ``register_plugin`` fixture (name ``range-plugin``); its catalog is written next to
the test's data (``write_catalog``), so the dataset's folder can live in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
import yaml
from torch import nn

import zoo

NAME = "range-plugin"
MODULE = __name__
#: the inputs each network saw while training (min, max), per architecture, for the range checks
SEEN: dict[str, list[tuple[float, float]]] = {}

RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K mean of EDSR's MeanShift


def _record(name: str, x: torch.Tensor) -> None:
    if torch.is_grad_enabled():
        SEEN.setdefault(name, []).append((float(x.detach().min()), float(x.detach().max())))


class TinyEDSR(nn.Module):
    """EDSR-baseline in miniature, as its official code works: subtract the DIV2K mean at ``rgb_range`` scale,
    head conv, residual blocks, pixel-shuffle tail; plus the bicubic-upscaled input (so a short run can beat it)."""

    def __init__(self, scale: int = 2, num_feat: int = 16, num_block: int = 2, rgb_range: float = 255.0,
                 channels: int = 3) -> None:
        super().__init__()
        self.scale = scale
        mean = torch.tensor(RGB_MEAN if channels == 3 else (sum(RGB_MEAN) / 3,) * channels)
        self.register_buffer("mean", mean.view(1, channels, 1, 1) * rgb_range)
        self.head = nn.Conv2d(channels, num_feat, 3, padding=1)
        self.body = nn.ModuleList(nn.Sequential(nn.Conv2d(num_feat, num_feat, 3, padding=1), nn.ReLU(True),
                                                nn.Conv2d(num_feat, num_feat, 3, padding=1)) for _ in range(num_block))
        self.tail = nn.Sequential(nn.Conv2d(num_feat, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
        nn.init.zeros_(self.tail[0].weight)
        nn.init.zeros_(self.tail[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _record("range_edsr", x)
        base = x if self.scale == 1 else F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        h = self.head(x - self.mean)
        for block in self.body:
            h = h + block(h)
        return base + self.tail(h)


class TinyTranslator(nn.Module):
    """Three convolutions plus the input, any channels: a generator for translation, colorization and style."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, num_feat: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_ch, num_feat, 3, padding=1), nn.ReLU(True),
                                 nn.Conv2d(num_feat, num_feat, 3, padding=1), nn.ReLU(True),
                                 nn.Conv2d(num_feat, out_ch, 3, padding=1))
        self.skip = in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _record("range_translator", x)
        y = self.net(x)
        return y + x if self.skip else y


def charbonnier(prediction: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """A loss registered as a function (the form docs/plugins.md allows)."""
    return torch.sqrt((prediction - target) ** 2 + eps * eps).mean()


def per_image_l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A loss that forgets to reduce over the batch: shape [B]."""
    return (prediction - target).abs().flatten(1).mean(1)


ENTRIES = [
    {"name": "range255-sr-x2", "task": "super-resolution",
     "architecture": {"name": "range_edsr", "kwargs": {"scale": 2, "num_feat": 16, "num_block": 2, "rgb_range": 255}},
     "processing": {"value_range": [0, 255], "scale": 2}},
    {"name": "range255-luma-x2", "task": "super-resolution-luma",
     "architecture": {"name": "range_edsr", "kwargs": {"scale": 2, "channels": 1, "rgb_range": 255}},
     "processing": {"value_range": [0, 255], "scale": 2, "channels": 1}},
    {"name": "range255-vdsr", "task": "super-resolution-y",
     "architecture": {"name": "range_edsr", "kwargs": {"scale": 1, "channels": 1, "rgb_range": 255}},
     "processing": {"value_range": [0, 255], "scale": 2, "channels": 1}},
    {"name": "range255-pix2pix", "task": "paired-translation",
     "architecture": {"name": "range_translator", "kwargs": {}},
     "processing": {"value_range": [0, 255], "quantize": "round", "options": {"tileable": False}}},
    {"name": "range255-cyclegan", "task": "unpaired-translation",
     "architecture": {"name": "range_translator", "kwargs": {}},
     "processing": {"value_range": [0, 255], "quantize": "round", "options": {"tileable": False}}},
    {"name": "range01-style", "task": "style-transfer",
     "architecture": {"name": "range_translator", "kwargs": {}},
     "processing": {"value_range": [0, 1], "options": {"tileable": False}}},
    {"name": "range255-colorization", "task": "colorization",
     "architecture": {"name": "range_translator", "kwargs": {"in_ch": 1, "out_ch": 2}},
     "processing": {"value_range": [0, 255], "channels": 1}},
]


class RangePlugin:
    """The plugin object; ``data_folder`` is where its ``range-photos`` dataset lives (a ``file://`` source)."""

    def __init__(self, catalog: Path, data_folder: Path | None = None) -> None:
        self.catalog, self.data_folder = catalog, data_folder

    @zoo.hookimpl
    def zoo_register_architectures(self, register: Callable[[zoo.Architecture], None]) -> None:
        register(zoo.Architecture(name="range_edsr", factory=f"{MODULE}:TinyEDSR",
                                  example_kwargs={"num_feat": 4, "num_block": 1}, example_input=(1, 3, 8, 8)))
        register(zoo.Architecture(name="range_translator", factory=f"{MODULE}:TinyTranslator",
                                  example_input=(1, 3, 8, 8)))

    @zoo.hookimpl
    def zoo_register_losses(self, register: Callable[[zoo.Loss], None]) -> None:
        register(zoo.Loss(name="range_charbonnier", factory=f"{MODULE}:charbonnier", example_kwargs={"eps": 1e-3}))
        register(zoo.Loss(name="range_per_image_l1", factory=f"{MODULE}:per_image_l1"))

    @zoo.hookimpl
    def zoo_register_datasets(self, register: Callable[[zoo.Dataset], None]) -> None:
        if self.data_folder is not None:
            register(zoo.Dataset(name="range-photos", task="super-resolution", layout="images",
                                 sources=(zoo.DataSource(url=self.data_folder.resolve().as_uri()),)))

    @zoo.hookimpl
    def zoo_register_catalogs(self, register: Callable[[Any], None]) -> None:
        register(self.catalog)


def write_catalog(folder: Path) -> Path:
    path = folder / "range_catalog.yaml"
    path.write_text(yaml.safe_dump({"entries": ENTRIES}, sort_keys=False), encoding="utf-8")
    return path
