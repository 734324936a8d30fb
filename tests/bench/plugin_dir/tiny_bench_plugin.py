"""Tiny entries for the ``zoo bench`` tests (loaded through ``ZOO_PLUGINS_DIR``, so child processes and
torchrun ranks see them too): a same-size net, a x2 upscaler, one whose forward fails, one whose weights
are missing, one whose first call is slow, and seeded weights computed locally by a ``tinybench://`` source."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

import zoo


class TinyNet(nn.Module):
    def __init__(self, scale: int = 1, feat: int = 8, fail: bool = False, oom_above: int = 0,
                 first_call_s: float = 0.0) -> None:
        super().__init__()
        self.fail, self.oom_above, self.first_call_s = fail, oom_above, first_call_s
        self.conv1 = nn.Conv2d(3, feat, 3, padding=1)
        self.conv2 = nn.Conv2d(feat, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fail:
            raise RuntimeError("tiny-bench-broken fails on purpose")
        if self.oom_above and x.shape[0] > self.oom_above:
            raise RuntimeError(f"CUDA out of memory (simulated above batch {self.oom_above})")
        if self.first_call_s and x.device.type != "meta":  # like torch.compile: the first call pays once
            time.sleep(self.first_call_s)
            self.first_call_s = 0.0
        return self.shuffle(self.conv2(torch.relu(self.conv1(x))))


def resolve_tiny_weights(uri: str, context) -> Path:
    from zoo.weights.serialization import save_state_dict

    kwargs = dict(context.entry.kwargs) if context.entry else {}
    path = context.cache_dir / "tinybench" / f"{context.entry.name}.safetensors"
    if not path.is_file():
        torch.manual_seed(0)
        save_state_dict(TinyNet(**kwargs).state_dict(), path)
    return path


@zoo.hookimpl
def zoo_register_architectures(register):
    register(zoo.Architecture(name="tiny_bench_net", factory=TinyNet, example_input=(1, 3, 16, 16)))


def degrade(hr, scale: int):
    """LR input from an HR image: PIL bicubic (the test needs an input, not MATLAB parity)."""
    import numpy as np
    from PIL import Image

    h, w = hr.shape[:2]
    return np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))


@zoo.hookimpl
def zoo_register_tasks(register):
    register(zoo.Task(name="tiny-bench", description="bench tests",
                      evaluation={"kind": "restoration", "dataset": "embedded", "metrics": ["psnr", "ssim"],
                                  "degrade": degrade}))


@zoo.hookimpl
def zoo_register_weight_sources(register):
    register(zoo.WeightSource(scheme="tinybench", resolver=resolve_tiny_weights))


@zoo.hookimpl
def zoo_register_catalogs(register):
    register(Path(__file__).with_name("tiny_bench_catalog.yaml"))
