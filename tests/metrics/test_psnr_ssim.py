"""PSNR / SSIM / rgb2ycbcr against known values and against scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from zoo.errors import ImageInputError
from zoo.metrics.psnr_ssim import (gaussian_window, psnr, quantize_uint8, rgb2ycbcr, ssim, to_y_channel,
                                   ycbcr2rgb)


def _pair(seed: int, shape=(48, 56, 3), noise=12):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    smooth = 127 + 90 * np.sin(xx / 7.0) * np.cos(yy / 5.0)
    base = smooth[..., None] + rng.normal(0, 20, shape) if len(shape) == 3 else smooth + rng.normal(0, 20, shape)
    a = np.clip(base, 0, 255).astype(np.uint8)
    b = np.clip(a + rng.normal(0, noise, shape), 0, 255).astype(np.uint8)
    return a, b


def test_identical_images():
    a, _ = _pair(0)
    assert psnr(a, a) == math.inf
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, test_y_channel=True, crop_border=4) == pytest.approx(1.0, abs=1e-12)


def test_one_grey_level_offset_is_48_13_db():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 255, size=(20, 30, 3)).astype(np.uint8)
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255.0), abs=1e-9)
    assert round(psnr(a, a + 1), 2) == 48.13
    assert psnr(a.astype(np.float32) / 255, (a + 1).astype(np.float32) / 255, data_range=1.0) == pytest.approx(
        48.1308, abs=1e-3)


def test_psnr_crop_border_and_y_channel_by_hand():
    a, b = _pair(2)
    crop = 3
    ya = 16 + (65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255.0
    yb = 16 + (65.481 * b[..., 0] + 128.553 * b[..., 1] + 24.966 * b[..., 2]) / 255.0
    mse = np.mean((ya[crop:-crop, crop:-crop] - yb[crop:-crop, crop:-crop]) ** 2)
    assert psnr(a, b, crop_border=crop, test_y_channel=True) == pytest.approx(10 * np.log10(255 ** 2 / mse), abs=1e-10)
    mse_rgb = np.mean((a[crop:-crop, crop:-crop].astype(float) - b[crop:-crop, crop:-crop]) ** 2)
    assert psnr(a, b, crop_border=crop) == pytest.approx(10 * np.log10(255 ** 2 / mse_rgb), abs=1e-10)


def test_rgb2ycbcr_matlab_values():
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    ycc = rgb2ycbcr(rgb)
    assert ycc.dtype == np.uint8
    # MATLAB: white 235/128/128, black 16/128/128, red 81/90/240, green 145/54/34, blue 41/240/110
    assert ycc[0].tolist() == [[235, 128, 128], [16, 128, 128], [81, 90, 240], [145, 54, 34], [41, 240, 110]]
    f = rgb2ycbcr(rgb.astype(np.float64) / 255)
    assert f[0, 2, 0] == pytest.approx((16 + 65.481) / 255)
    assert rgb2ycbcr(rgb, y_only=True).shape == (1, 5)
    rng = np.random.default_rng(3)
    x = rng.random((7, 9, 3))
    np.testing.assert_allclose(ycbcr2rgb(rgb2ycbcr(x)), x, atol=1e-12)
    assert np.abs(ycbcr2rgb(rgb2ycbcr(rgb)).astype(int) - rgb).max() <= 1
    np.testing.assert_allclose(to_y_channel(rgb.astype(float)), rgb2ycbcr(rgb / 255.0, y_only=True) * 255)


def test_gaussian_window_is_the_11x11_sigma_1_5_kernel():
    taps = gaussian_window()
    assert taps.shape == (11,) and taps.sum() == pytest.approx(1.0)
    assert taps[5] / taps[4] == pytest.approx(math.exp(1 / (2 * 1.5 ** 2)))


skimage_metrics = pytest.importorskip("skimage.metrics")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_matches_scikit_image(seed):
    # skimage: Gaussian sigma 1.5 truncated at 3.5 sigma -> the same 11-tap window; it filters the
    # whole (reflect-padded) image and then drops 5 border pixels of the SSIM map, which equals our
    # 'valid' filtering. Same formula and float64 -> agreement to rounding error.
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    a, b = _pair(seed)
    ref_rgb = skimage_metrics.structural_similarity(a, b, channel_axis=-1, **kw)
    assert ssim(a, b) == pytest.approx(ref_rgb, abs=1e-10)
    g1, g2 = _pair(seed + 10, shape=(40, 33), noise=30)
    assert ssim(g1, g2) == pytest.approx(skimage_metrics.structural_similarity(g1, g2, **kw), abs=1e-10)
    rng = np.random.default_rng(seed)
    r1 = rng.integers(0, 256, (32, 32)).astype(np.uint8)
    r2 = rng.integers(0, 256, (32, 32)).astype(np.uint8)
    assert ssim(r1, r2) == pytest.approx(skimage_metrics.structural_similarity(r1, r2, **kw), abs=1e-10)
    assert ssim(r1, r2) < 0.1


def test_ssim_y_channel_and_tensor_inputs():
    a, b = _pair(5)
    ya, yb = to_y_channel(a), to_y_channel(b)
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    expected = skimage_metrics.structural_similarity(ya[2:-2, 2:-2], yb[2:-2, 2:-2], **kw)
    assert ssim(a, b, crop_border=2, test_y_channel=True) == pytest.approx(expected, abs=1e-10)
    ta = torch.from_numpy(a).permute(2, 0, 1).float() / 255
    tb = torch.from_numpy(b).permute(2, 0, 1).float() / 255
    assert ssim(ta, tb, input_order="CHW", data_range=1.0) == pytest.approx(ssim(a, b), abs=1e-6)
    assert psnr(ta, tb, input_order="CHW", data_range=1.0) == pytest.approx(psnr(a, b), abs=1e-4)


def test_quantize_uint8():
    x = np.array([-0.2, 0.0, 0.5 / 255, 1.5 / 255, 0.5, 1.0, 1.3])
    assert quantize_uint8(x).tolist() == [0, 0, 0, 2, 128, 255, 255]  # half to even, clipped
    assert quantize_uint8(np.array([-1.0, 0.0, 1.0]), value_range=(-1, 1)).tolist() == [0, 128, 255]
    t = torch.zeros(3, 2, 4)
    assert quantize_uint8(t).shape == (2, 4, 3)


def test_bad_inputs():
    a = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ImageInputError, match="different shapes"):
        psnr(a, np.zeros((16, 15, 3), np.uint8))
    with pytest.raises(ImageInputError, match="at least 11x11"):
        ssim(a, a, crop_border=3)
    with pytest.raises(ImageInputError, match="leaves nothing"):
        psnr(a, a, crop_border=8)
    with pytest.raises(ImageInputError, match="H x W x 3"):
        rgb2ycbcr(np.zeros((4, 4)))
