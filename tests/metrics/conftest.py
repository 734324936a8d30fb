"""Fixtures for metric tests: seeded random weights (real ones are not downloadable here) and tiny image folders.

Parity with the reference packages uses identical random weights in both: the files are written
under their official names into a private ``TORCH_HOME`` so ``lpips`` / ``pytorch_fid`` load them
down their default code paths (torch.hub does not re-check the hash of an already cached file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.metrics.random_weights import random_inception_state_dict


@pytest.fixture(scope="session")
def inception_sd() -> dict[str, torch.Tensor]:
    return random_inception_state_dict(0)


@pytest.fixture(scope="session")
def inception_file(tmp_path_factory, inception_sd) -> Path:
    """The random weights saved as a file (not under the official name: an explicit, unverified file)."""
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    torch.save(inception_sd, path)
    return path


@pytest.fixture
def torch_home(tmp_path, monkeypatch) -> Path:
    """A private TORCH_HOME whose hub/checkpoints folder the reference packages read."""
    home = tmp_path / "torch_home"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home / "hub" / "checkpoints"


@pytest.fixture(autouse=True)
def _few_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(min(2, threads))
    yield
    torch.set_num_threads(threads)


def write_images(folder: Path, count: int, size=(32, 32), seed: int = 0, tint: int = 0, names=None) -> Path:
    """``count`` smooth-plus-noise RGB PNGs (deterministic), optionally tinted to shift the distribution."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(count):
        phase = rng.uniform(0, 6.28, 3)
        base = 127 + 80 * np.sin(xx[..., None] / rng.uniform(3, 9) + phase) * np.cos(yy[..., None] / 6.0)
        img = np.clip(base + rng.normal(0, 25, (h, w, 3)) + tint, 0, 255).astype(np.uint8)
        name = names[i] if names else f"img{i:03d}.png"
        Image.fromarray(img).save(folder / name)
    return folder


@pytest.fixture
def make_images():
    """``make_images(folder, count, size=(w, h), seed=0, tint=0, names=None)`` (see :func:`write_images`)."""
    return write_images
