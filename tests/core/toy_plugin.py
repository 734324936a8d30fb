"""A small plugin used by the core tests: networks with known receptive fields and size rules."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import zoo


class ToyUpscaler(nn.Module):
    """Two 3x3 convs (receptive field 5x5) + pixel shuffle; needs inputs that are multiples of ``multiple``."""

    def __init__(self, scale: int = 2, feat: int = 4, multiple: int = 1) -> None:
        super().__init__()
        self.multiple = multiple
        self.conv1 = nn.Conv2d(3, feat, 3, padding=1)
        self.conv2 = nn.Conv2d(feat, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise RuntimeError(f"input {h}x{w} is not a multiple of {self.multiple}")
        return self.shuffle(self.conv2(torch.relu(self.conv1(x))))


class Toy:
    """Registers the toy components and a catalog file written by the test."""

    def __init__(self, catalog: Path | None = None) -> None:
        self.catalog = catalog

    @zoo.hookimpl
    def zoo_register_architectures(self, register):
        register(zoo.Architecture(name="toy_upscaler", factory=ToyUpscaler, example_kwargs={"scale": 2},
                                  example_input=(1, 3, 8, 8)))

    @zoo.hookimpl
    def zoo_register_tasks(self, register):
        register(zoo.Task(name="toy-task"))

    @zoo.hookimpl
    def zoo_register_catalogs(self, register):
        if self.catalog is not None:
            register(self.catalog)


TOY_CATALOG = """
entries:
  - name: toy-x2
    task: toy-task
    architecture: {name: toy_upscaler, kwargs: {scale: 2, multiple: 4}}
    weights:
      - url: {url}
        sha256: {sha256}
    processing: {value_range: [-1, 1], size_multiple: 4, scale: 2}
"""


def write_toy_catalog(folder: Path, url: str, sha256: str | None) -> Path:
    path = folder / "toy_catalog.yaml"
    text = TOY_CATALOG.replace("{url}", url).replace("{sha256}", sha256 or "null")
    path.write_text(text)
    return path


def toy_weights(scale: int = 2, feat: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return ToyUpscaler(scale, feat).state_dict()
