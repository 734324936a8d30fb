"""FID Inception features: equal to pytorch_fid's InceptionV3 with the same (seeded random) weights; flavours."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from zoo.errors import ImageInputError, WeightsError, WeightsUnavailableError
from zoo.metrics import available
from zoo.metrics.inception import FLAVOURS, InceptionFeatures
from zoo.metrics.weights import FID_INCEPTION

pytorch_fid_inception = pytest.importorskip("pytorch_fid.inception")


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def _u8(shape, seed=3) -> torch.Tensor:
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def reference_net(torch_home, inception_sd):
    """pytorch-fid's own constructor, reading the seeded weights from the private torch hub cache."""
    torch.save(inception_sd, torch_home / FID_INCEPTION.file_name)

    def build(blocks=(3,), **kwargs):
        return pytorch_fid_inception.InceptionV3(list(blocks), **kwargs).eval()

    return build


@pytest.fixture(scope="module")
def ours_by_flavour(inception_sd):
    return {name: InceptionFeatures(name, state_dict=inception_sd, device="cpu") for name in FLAVOURS}


def test_pytorch_fid_flavour_matches_reference(reference_net, ours_by_flavour):
    ref = reference_net()
    ours = ours_by_flavour["pytorch-fid"]
    for shape in [(3, 3, 48, 72), (2, 3, 299, 299)]:  # resized (non-square) and native size
        u8 = _u8(shape)
        with torch.no_grad():
            expected = ref(u8.float() / 255)[0].flatten(1)
        got = ours(u8)
        assert got.dtype == torch.float64 and got.shape == (shape[0], 2048)
        assert _rel(got, expected) <= 1e-5
        assert float(expected.std()) > 0.1  # well-scaled random weights: features are not degenerate


def test_clean_flavour_features_and_resize(reference_net, ours_by_flavour):
    from PIL import Image

    ours = ours_by_flavour["clean"]
    blocks = reference_net(resize_input=False, normalize_input=False)
    u8 = _u8((2, 3, 40, 64), seed=7)
    # clean-fid resizes each channel as a float32 PIL image with bicubic (antialiased when downscaling).
    pil = np.stack([np.stack([np.asarray(Image.fromarray(c.numpy().astype(np.float32), mode="F")
                                         .resize((299, 299), Image.BICUBIC)) for c in img]) for img in u8])
    expected_input = (torch.from_numpy(pil).clamp(0, 255) - 128) / 128
    got_input = FLAVOURS["clean"].preprocess(u8)
    assert float((got_input - expected_input).abs().max()) * 128 < 0.05  # < 0.05 grey levels from PIL
    with torch.no_grad():
        expected = blocks(got_input)[0].flatten(1)
        assert _rel(ours(u8), expected) <= 1e-5
        at_native = _u8((2, 3, 299, 299), seed=8)  # no resize: exactly (u8 - 128) / 128
        assert _rel(ours(at_native), blocks((at_native.float() - 128) / 128)[0].flatten(1)) <= 1e-5


@pytest.mark.parametrize("dims,block", [(64, 0), (192, 1), (768, 2)])
def test_lower_blocks_match_reference(dims, block, reference_net, inception_sd):
    ref = reference_net(blocks=(block,))
    ours = InceptionFeatures("pytorch-fid", dims=dims, state_dict=inception_sd, device="cpu")
    u8 = _u8((2, 3, 32, 32), seed=dims)
    with torch.no_grad():
        expected = F.adaptive_avg_pool2d(ref(u8.float() / 255)[0], 1).flatten(1)
    assert _rel(ours(u8), expected) <= 1e-5


def test_mixed_sizes_and_bad_input(ours_by_flavour):
    ours = ours_by_flavour["clean"]
    a, b = _u8((3, 32, 48), seed=1), _u8((3, 64, 40), seed=2)
    together = ours([a, b])
    torch.testing.assert_close(together, torch.cat([ours(a), ours(b)]), rtol=1e-6, atol=1e-6)
    with pytest.raises(ImageInputError, match="uint8"):
        ours(torch.rand(1, 3, 32, 32))


def test_fast_mode_is_close_but_not_the_reference(inception_sd):
    u8 = _u8((2, 3, 64, 64), seed=11)
    ref = InceptionFeatures("clean", dims=768, state_dict=inception_sd, device="cpu")(u8)
    fast = InceptionFeatures("clean", dims=768, state_dict=inception_sd, device="cpu", precision="bf16")
    got = fast(u8)
    assert got.dtype == torch.float64 and fast.describe()["precision"] == "bf16"
    assert 0 < _rel(got, ref) < 5e-2
    with pytest.raises(ValueError, match="precision"):
        InceptionFeatures("clean", state_dict=inception_sd, precision="fp16")


def test_checkpoint_layout_is_checked(inception_sd):
    broken = {k: v for k, v in inception_sd.items() if k != "Mixed_7c.branch_pool.conv.weight"}
    with pytest.raises(WeightsError, match="missing.*Mixed_7c.branch_pool.conv.weight"):
        InceptionFeatures("clean", state_dict=broken, device="cpu")
    renamed = {f"blocks.{k}": v for k, v in inception_sd.items()}
    with pytest.raises(WeightsError, match="torchvision Inception3 layout"):
        InceptionFeatures("clean", state_dict=renamed, device="cpu")


def test_missing_weights_are_reported(monkeypatch, inception_sd):
    from zoo.weights.hub import cache_path_for

    monkeypatch.setenv("ZOO_OFFLINE", "1")
    ok, why = available("fid")
    assert not ok and FID_INCEPTION.url in why and FID_INCEPTION.file_name in why
    with pytest.raises(WeightsUnavailableError) as info:
        InceptionFeatures("clean", device="cpu")
    assert FID_INCEPTION.url in str(info.value) and "ZOO_OFFLINE" in str(info.value)
    dest = cache_path_for(FID_INCEPTION.url)  # a file under the official name that is not the official file
    dest.parent.mkdir(parents=True)
    torch.save(inception_sd, dest)
    assert available("fid") == (True, f"{FID_INCEPTION.file_name} cached at {dest}")
    with pytest.raises(WeightsError, match="6726825d"):
        InceptionFeatures("clean", device="cpu")


def test_reference_precision_turns_tf32_off_and_restores():
    from zoo.metrics.inception import tf32_disabled

    conv = torch.backends.cudnn.conv
    before = (conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision)
    with tf32_disabled():
        assert conv.fp32_precision == "ieee" and torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert (conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == before
