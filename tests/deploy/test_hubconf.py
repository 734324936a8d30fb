"""hubconf.py: torch.hub.load(repo, "<entry>", source="local") for every catalog entry, through the zoo's hub."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import zoo

REPO = Path(__file__).resolve().parents[2]


def _hubconf():
    from torch.hub import _import_module

    return _import_module("hubconf", str(REPO / "hubconf.py"))


def test_every_catalog_entry_is_an_entry_point():
    module = _hubconf()
    listed = [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]  # torch.hub.list's rule
    names = zoo.list_models()
    assert sorted(module.ENTRY_NAMES.values()) == sorted(names)
    assert sorted(listed) == sorted(module.ENTRY_NAMES)
    assert "cyclegan_horse2zebra" in listed and "realesrgan_x4plus" in listed
    assert "horses to zebras" in getattr(module, "cyclegan_horse2zebra").__doc__


def test_torch_hub_load_local_with_a_seeded_weights_file(tmp_path):
    from zoo_sr.archs import SRVGGNetCompact

    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=64, num_conv=16).eval()
    weights = tmp_path / "animevideov3.pth"
    torch.save({"params": net.state_dict()}, weights)
    model = torch.hub.load(str(REPO), "realesr_animevideov3", source="local", weights=str(weights), device="cpu")
    image = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    out = model(image)
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8
    assert np.array_equal(out, zoo.load("realesr-animevideov3", weights=weights, device="cpu")(image))
    assert model.metadata["weights"]["path"] == str(weights)


def test_torch_hub_load_local_random_network_only():
    net = torch.hub.load(str(REPO), "cyclegan_horse2zebra", source="local", pretrained=False, network_only=True)
    assert isinstance(net, torch.nn.Module)
    with torch.no_grad():
        assert net(torch.rand(1, 3, 16, 16) * 2 - 1).shape == (1, 3, 16, 16)
