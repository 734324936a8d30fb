"""VDSR network layout and its Y-channel pipeline (no shared data needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo.registry.catalog import Entry, Processing
from zoo.metrics.psnr_ssim import rgb2ycbcr, ycbcr2rgb
from zoo_sr.imresize import imresize
from zoo_sr.vdsr import VDSR, VDSRPipeline, rgb_to_ycbcr, ycbcr_to_rgb


def _entry(scale: int = 2) -> Entry:
    return Entry(name="vdsr-test", task="super-resolution-y", architecture="vdsr",
                 processing=Processing(scale=scale, channels=1))


def _identity_vdsr(**kwargs) -> VDSR:
    """Random VDSR whose output conv is zero: it returns its input, so the pipeline is plain bicubic."""
    model = VDSR(**kwargs)
    with torch.no_grad():
        model.output.weight.zero_()
    return model


def test_state_dict_layout_matches_pytorch_vdsr():
    model = VDSR()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    expected = {"input.weight": (64, 1, 3, 3), "output.weight": (1, 64, 3, 3),
                **{f"residual_layer.{i}.conv.weight": (64, 64, 3, 3) for i in range(18)}}
    assert shapes == expected
    assert sum(p.numel() for p in model.parameters()) == 664_704  # 20 conv layers, no bias
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 20 and all(c.bias is None for c in convs)


def test_forward_is_global_residual_and_keeps_size():
    torch.manual_seed(0)
    model = VDSR(num_feat=8, num_block=2).eval()
    x = torch.rand(2, 1, 13, 17)
    with torch.no_grad():
        y = model(x)
        assert y.shape == x.shape
        assert not torch.allclose(y, x)
        model.output.weight.zero_()
        torch.testing.assert_close(model(x), x)


def test_ycbcr_tensor_helpers_match_matlab_formulas():
    rng = np.random.default_rng(0)
    rgb = rng.random((5, 6, 3))
    t = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    ycc = rgb_to_ycbcr(t)
    np.testing.assert_allclose(ycc[0].permute(1, 2, 0).numpy(), rgb2ycbcr(rgb), atol=1e-12)
    np.testing.assert_allclose(ycbcr_to_rgb(ycc)[0].permute(1, 2, 0).numpy(), ycbcr2rgb(rgb2ycbcr(rgb)), atol=1e-12)
    torch.testing.assert_close(ycbcr_to_rgb(ycc), t)


def _image(h=14, w=11, seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("scale,shape", [(2, (28, 22)), (3, (42, 33)), (2.5, (35, 28))])
def test_identity_model_pipeline_equals_matlab_bicubic(scale, shape):
    torch.manual_seed(0)
    pipe = VDSRPipeline(_identity_vdsr(num_feat=8, num_block=2), _entry(), device="cpu")
    img = _image()
    out = pipe(img, scale=scale)
    assert out.dtype == np.uint8 and out.shape == (*shape, 3)  # ceil(scale * size), MATLAB's rule
    bicubic = np.clip(imresize(img.astype(np.float64) / 255.0, scale), 0, 1)
    expected = np.rint(bicubic * 255.0)
    assert np.abs(out.astype(np.int64) - expected).max() <= 1  # float32 Y/CbCr round trip


def test_scale_sources_call_constructor_and_entry():
    torch.manual_seed(0)
    model = _identity_vdsr(num_feat=4, num_block=1)
    img = _image(8, 6)
    assert VDSRPipeline(model, _entry(3), device="cpu")(img).shape == (24, 18, 3)  # processing.scale
    pipe = VDSRPipeline(model, _entry(3), device="cpu", scale=2)
    assert pipe.scale == 2 and pipe(img).shape == (16, 12, 3)  # constructor
    assert pipe(img, scale=4).shape == (32, 24, 3)  # call option
    assert pipe(img, outscale=3).shape == (24, 18, 3)
    assert pipe.metadata["scale"] == 2
    for bad in (0.5, "x2", float("nan")):
        with pytest.raises(ValueError, match="scale"):
            pipe(img, scale=bad)
    with pytest.raises(ValueError, match="not both"):
        pipe(img, scale=2, outscale=3)


def test_model_changes_only_luma():
    torch.manual_seed(0)
    model = VDSR(num_feat=8, num_block=2)
    pipe = VDSRPipeline(model, _entry(), device="cpu")
    x = torch.rand(1, 3, 10, 9)
    out = pipe.process(x, outscale=2)
    bicubic = rgb_to_ycbcr(imresize(x.double(), 2.0).float())
    got = rgb_to_ycbcr(out)
    luma_changed = (got[:, :1] - bicubic[:, :1]).abs().max()
    assert luma_changed > 1e-3
    inside = (out > 1e-4) & (out < 1 - 1e-4)  # where nothing was clipped, chroma is the bicubic chroma
    assert inside.all(dim=1).any()
    mask = inside.all(dim=1, keepdim=True).expand(-1, 2, -1, -1)
    torch.testing.assert_close(got[:, 1:][mask], bicubic[:, 1:][mask], atol=1e-5, rtol=0)


def test_tiled_equals_untiled_and_gray_stays_gray():
    torch.manual_seed(0)
    model = VDSR(num_feat=8, num_block=2)
    pipe = VDSRPipeline(model, _entry(), device="cpu")
    x = torch.rand(1, 3, 20, 18)
    whole = pipe.process(x, outscale=2)
    tiled = pipe.process(x, outscale=2, tile=16, tile_pad=8)  # 4 conv layers see 9x9: 8 px of context is plenty
    torch.testing.assert_close(tiled, whole, atol=1e-6, rtol=0)
    gray = np.random.default_rng(0).integers(0, 256, size=(9, 7), dtype=np.uint8)
    out = pipe(gray, scale=2)
    assert out.shape == (18, 14) and out.dtype == np.uint8


def test_zoo_sr_registers_vdsr(zoo_manager):
    from zoo_sr.vdsr import read_vdsr_checkpoint

    assert zoo_manager.components("architecture").get("vdsr").load("factory") is VDSR
    assert zoo_manager.components("task").get("super-resolution-y").load("pipeline") is VDSRPipeline
    assert zoo_manager.components("weight_format").get("vdsr-legacy-pickle").load("reader") is read_vdsr_checkpoint
    entry = zoo_manager.catalog.get("vdsr-x2x3x4")
    assert entry.task == "super-resolution-y" and entry.weights[0].format == "vdsr-legacy-pickle"
    assert entry.weights[0].sha256 == "eab4d79ae5a6e5acef4c55e46015aed225ade207679bcb6695b07af8fb18e876"
    model = zoo.build_model(entry)
    assert isinstance(model, VDSR) and len(model.residual_layer) == 18
