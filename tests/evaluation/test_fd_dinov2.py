"""FD-DINOv2 against a reference computed with timm, PIL, numpy and scipy only, on seeded random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

timm = pytest.importorskip("timm")
scipy_linalg = pytest.importorskip("scipy.linalg")

from PIL import Image  # noqa: E402

from zoo.errors import WeightsUnavailableError  # noqa: E402
from zoo.metrics import api  # noqa: E402
from zoo.metrics import dinov2  # noqa: E402

TINY = "vit_small_patch14_dinov2"
TINY_KWARGS = {"depth": 2, "embed_dim": 48, "num_heads": 2}
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def seeded_weights(tmp_path_factory):
    """A tiny DINOv2 ViT at the checkpoint resolution (518 px, 37x37 positions), every tensor seeded and O(1)."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = timm.create_model(TINY, pretrained=False, num_classes=0, **TINY_KWARGS)  # img_size 518 like the file
    g = torch.Generator().manual_seed(1)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("gamma"):  # LayerScale: dinov2 inits 1e-5, which would silence the blocks
            state[key] = torch.rand(value.shape, generator=g) * 0.5 + 0.5
        elif "norm" in key and key.endswith("weight"):
            state[key] = 1 + 0.1 * torch.randn(value.shape, generator=g)
        elif value.ndim >= 2 or key in ("cls_token", "pos_embed", "reg_token", "mask_token"):
            fan_in = value[0].numel() if value.ndim >= 2 else 1
            state[key] = torch.randn(value.shape, generator=g) / max(fan_in, 1) ** 0.5
        else:
            state[key] = 0.05 * torch.randn(value.shape, generator=g)
    path = tmp_path_factory.mktemp("dinov2") / "model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def _images(seed: int, n: int, size: tuple[int, int], smooth: int) -> np.ndarray:
    """n uint8 RGB images (n, H, W, 3): random blobs upsampled from a smooth-by-``smooth`` grid."""
    rng = np.random.default_rng(seed)
    h, w = size
    small = rng.random((n, h // smooth + 1, w // smooth + 1, 3))
    big = small.repeat(smooth, axis=1).repeat(smooth, axis=2)[:, :h, :w]
    return (255 * (0.7 * big + 0.3 * rng.random((n, h, w, 3)))).astype(np.uint8)


def _reference_features(path, images: np.ndarray) -> np.ndarray:
    """timm's own pretrained loading (pos-embed resampled by timm) + PIL resize + numpy normalisation."""
    model = timm.create_model(TINY, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, num_classes=0,
                              img_size=224, **TINY_KWARGS).eval()
    batch = []
    for img in images:
        if img.shape[:2] != (224, 224):
            img = np.asarray(Image.fromarray(img).resize((224, 224), Image.BICUBIC))
        batch.append(((img / 255.0 - MEAN) / STD).transpose(2, 0, 1))
    with torch.no_grad():
        return model(torch.from_numpy(np.stack(batch)).float()).double().numpy()


def _reference_fd(f1: np.ndarray, f2: np.ndarray) -> float:
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy_linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def test_fd_dinov2_matches_timm_numpy_scipy_reference(seeded_weights):
    fake = _images(0, 96, (224, 224), 16)
    real = _images(1, 80, (224, 224), 32)
    ours = dinov2.DINOv2Features(TINY, weights=seeded_weights, device="cpu", model_kwargs=TINY_KWARGS)
    f_fake, f_real = ours(_as_tensor(fake)), ours(_as_tensor(real))
    r_fake, r_real = _reference_features(seeded_weights, fake), _reference_features(seeded_weights, real)
    assert f_fake.shape == (96, 48) and f_fake.dtype == torch.float64
    np.testing.assert_allclose(f_fake.numpy(), r_fake, rtol=1e-6, atol=1e-6 * np.abs(r_fake).max())
    np.testing.assert_allclose(f_real.numpy(), r_real, rtol=1e-6, atol=1e-6 * np.abs(r_real).max())
    assert r_fake.std(0).min() > 1e-3  # the seeded network separates images: the test can fail
    expected = _reference_fd(r_fake, r_real)
    value = dinov2.fd_dinov2_from_features(f_fake, f_real)
    assert expected > 1e-3
    assert value == pytest.approx(expected, rel=1e-6)
    assert dinov2.fd_dinov2_from_features(f_fake, f_fake) == pytest.approx(0.0, abs=1e-8 * expected)


def test_other_sizes_are_resized_like_pil_bicubic(seeded_weights):
    images = _images(2, 3, (48, 80), 4)
    ours = dinov2.DINOv2Features(TINY, weights=seeded_weights, device="cpu", model_kwargs=TINY_KWARGS)
    got = ours([_as_tensor(images[i:i + 1]) for i in range(3)])  # a list of batches, as for mixed sizes
    np.testing.assert_allclose(got.numpy(), _reference_features(seeded_weights, images), rtol=1e-6, atol=1e-6)


def test_production_config_is_timm_vit_large_dinov2():
    cfg = timm.models.get_pretrained_cfg(dinov2.MODEL_NAME)
    assert dinov2.MODEL_NAME == "vit_large_patch14_dinov2.lvd142m"
    assert dinov2.WEIGHT_URLS[0] == f"https://huggingface.co/{cfg.hf_hub_id}/resolve/main/model.safetensors"
    assert dinov2.WEIGHT_URLS[1] == cfg.url
    assert tuple(cfg.mean) == dinov2.IMAGENET_MEAN and tuple(cfg.std) == dinov2.IMAGENET_STD
    with torch.device("meta"):  # shapes only: ViT-L/14 is 300M parameters
        model = timm.create_model(dinov2.MODEL_NAME, pretrained=False, num_classes=0, img_size=dinov2.INPUT_SIZE)
    assert model.num_features == 1024 and model.global_pool == "token"
    assert tuple(model.pos_embed.shape) == (1, 1 + 16 * 16, 1024)


def test_unavailable_offline_names_file_and_url(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    ok, why = api.available("fd-dinov2")
    assert not ok and dinov2.WEIGHT_URLS[0] in why
    with pytest.raises(WeightsUnavailableError, match="model.safetensors") as info:
        dinov2.DINOv2Features(device="cpu")
    assert dinov2.WEIGHT_URLS[0] in str(info.value)


def test_explicit_missing_weights_file_is_one_line(tmp_path):
    with pytest.raises(WeightsUnavailableError) as info:
        dinov2.DINOv2Features(weights=tmp_path / "nope.safetensors", device="cpu")
    assert "\n" not in str(info.value) and "nope.safetensors" in str(info.value)
