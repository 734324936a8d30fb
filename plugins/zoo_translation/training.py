"""Training utilities of CycleGAN/pix2pix that are not losses: the image history pool and weight init."""

from __future__ import annotations

import random

import torch
from torch import nn


class ImagePool:
    """A history of generated images for the discriminator (Shrivastava et al.; CycleGAN uses 50).

    ``query(images)`` returns a batch of the same size: while the pool is filling, the images
    themselves (and they are stored); afterwards, for each image, with probability 1/2 a randomly
    chosen stored image (which the new one replaces) and otherwise the new image. ``pool_size=0``
    returns the input unchanged. Stored images are detached. Pass ``rng`` (a ``random.Random``)
    for reproducible draws.
    """

    def __init__(self, pool_size: int = 50, rng: random.Random | None = None) -> None:
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        self.pool_size = pool_size
        self.images: list[torch.Tensor] = []
        self.rng = rng or random.Random()

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.pool_size == 0:
            return images
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                chosen.append(image)
            elif self.rng.uniform(0, 1) > 0.5:
                slot = self.rng.randint(0, self.pool_size - 1)
                chosen.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)

    __call__ = query


INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


@torch.no_grad()
def init_weights(net: nn.Module, init_type: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """Upstream's initialisation: conv/linear weights from ``init_type`` (gain ``init_gain``), biases 0,
    BatchNorm weights ~ N(1, init_gain) and biases 0. Returns ``net``."""
    if init_type not in INIT_TYPES:
        raise ValueError(f"unknown init_type {init_type!r}; expected one of {', '.join(INIT_TYPES)}")
    for module in net.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                               nn.ConvTranspose3d, nn.Linear)):
            if init_type == "normal":
                nn.init.normal_(module.weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(module.weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(module.weight, gain=init_gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d) and module.affine:
            nn.init.normal_(module.weight, 1.0, init_gain)
            nn.init.zeros_(module.bias)
    return net
