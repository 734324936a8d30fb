"""pytorch/examples TransformerNet: official layout, upstream size behaviour, the checkpoint adapter."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.errors import WeightsError
from zoo_style.transformer_net import TransformerNet, adapt_fast_neural_style

torch.set_num_threads(2)


def _parse_keys(text: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in text.splitlines():
        if line.strip():
            key, shape = line.split(" ", 1)
            rows.append((key, tuple(int(d) for d in re.findall(r"\d+", shape))))
    return rows


def test_keys_and_shapes_match_the_official_listing(shared_path):
    listing = _parse_keys(shared_path("reference/keys/keys_fast_neural_style.txt").read_text())
    ours = [(k, tuple(v.shape)) for k, v in TransformerNet().state_dict().items()]
    assert ours == listing


def test_parameter_count_and_no_running_stats():
    sd = TransformerNet().state_dict()
    assert len(sd) == 62
    assert sum(v.numel() for v in sd.values()) == 1_679_235
    assert not [k for k in sd if "running" in k or "num_batches" in k]


@pytest.mark.parametrize("size,expected", [((64, 64), (64, 64)), ((50, 67), (52, 68)), ((33, 41), (36, 44))])
def test_non_multiple_of_4_inputs_come_out_larger_like_upstream(size, expected):
    with torch.no_grad():
        out = TransformerNet().eval()(torch.rand(1, 3, *size) * 255)
    assert tuple(out.shape[-2:]) == expected


def _official_layout_checkpoint(model: TransformerNet) -> dict[str, torch.Tensor]:
    """What a pre-0.4 save holds: the parameters plus running stats for every InstanceNorm."""
    sd = dict(model.state_dict())
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.InstanceNorm2d):
            sd[f"{name}.running_mean"] = torch.zeros(module.num_features)
            sd[f"{name}.running_var"] = torch.ones(module.num_features)
    return sd


def test_adapter_drops_exactly_the_deprecated_running_stats():
    model = TransformerNet()
    sd = _official_layout_checkpoint(model)
    dropped = sorted(set(sd) - set(adapt_fast_neural_style(sd, model)))
    assert len(dropped) == 2 * (5 + 10)  # in1..in5 and res1..5.in1/in2
    assert "res3.in2.running_var" in dropped and "in4.running_mean" in dropped
    assert set(adapt_fast_neural_style(sd, model)) == set(model.state_dict())


@pytest.fixture
def official_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = TransformerNet().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path / "candy.pth"
    torch.save(_official_layout_checkpoint(model), path, _use_new_zipfile_serialization=False)  # legacy format
    return model, path


def test_official_layout_loads_strictly_through_the_zoo(official_checkpoint):
    model, path = official_checkpoint
    pipe = zoo.load("fast-neural-style-candy", weights=path, device="cpu")
    for key, value in model.state_dict().items():
        assert torch.equal(pipe.model.state_dict()[key], value), key
    x = torch.rand(1, 3, 32, 40) * 255
    with torch.no_grad():
        assert torch.equal(pipe.model(x), model(x))


def test_without_the_adapter_the_running_stats_are_refused(official_checkpoint):
    _, path = official_checkpoint
    with pytest.raises(WeightsError, match=r"30 unexpected: in1\.running_mean"):
        zoo.load("fast-neural-style-candy", weights=path, weights_format="state_dict", device="cpu")


def test_pipeline_pads_to_4_crops_back_and_truncates(official_checkpoint):
    model, path = official_checkpoint
    pipe = zoo.load("fast-neural-style-mosaic", weights=path, device="cpu")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(30, 43, 3), dtype=np.uint8)
    out = pipe(Image.fromarray(image))
    assert out.size == (43, 30)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    padded = torch.nn.functional.pad(x, (0, 1, 0, 2), mode="reflect")
    with torch.no_grad():
        expected = model(padded)[0, :, :30, :43].clamp(0, 255).permute(1, 2, 0).numpy().astype(np.uint8)
    diff = np.abs(np.asarray(out).astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999
