"""MATLAB-compatible bicubic imresize on inputs whose results are known exactly.

Expected numbers come from the cubic kernel (a = -0.5) evaluated by hand:
c(0.25) = 111/128, c(0.75) = 29/128, c(1.25) = -9/128, c(1.75) = -3/128 (they sum to 1).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo_sr.imresize import contributions, cubic_kernel, imresize

C025, C075, C125, C175 = 111 / 128, 29 / 128, -9 / 128, -3 / 128


def test_cubic_kernel_values():
    x = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5, -0.25, -1.75])
    expected = [1.0, C025, C075, 0.0, C125, C175, 0.0, 0.0, C025, C175]
    np.testing.assert_allclose(cubic_kernel(x), expected, atol=1e-15)


def _row(values) -> np.ndarray:
    """A 3-row float image whose rows are all ``values`` (resizing rows keeps it exactly)."""
    return np.tile(np.asarray(values, dtype=np.float64)[None, :], (3, 1))


def test_upscale_x2_impulse_known_values():
    # impulse at 1-based column 4; output column u samples x = u/2 + 1/4
    signal = np.zeros(10)
    signal[3] = 1.0
    out = imresize(_row(signal), 2.0)
    assert out.shape == (6, 20)
    expected = np.zeros(20)
    expected[3:11] = [C175, C125, C075, C025, C025, C075, C125, C175]  # u = 4..11
    np.testing.assert_allclose(out, np.tile(expected, (6, 1)), atol=1e-14)


def test_upscale_uses_symmetric_border():
    # impulse at the first pixel: taps at 0 and -1 mirror onto pixel 1 (MATLAB 'symmetric');
    # replicate padding would give 1.0703125, reflect-101 0.8671875
    signal = np.zeros(8)
    signal[0] = 1.0
    out = imresize(_row(signal), 2.0)
    assert out[0, 0] == pytest.approx(C075 + C025, abs=1e-14)  # 1.09375
    # second output pixel: x = 1.25, taps j = -1..4 mirror onto pixels 2,1,1,2,3,4; pixel 1 gets j = 0 and 1
    assert out[0, 1] == pytest.approx(C125 + C025, abs=1e-14)  # 0.796875


def test_downscale_x2_impulse_known_values_with_antialiasing():
    # kernel 0.5 * c(0.5 t), width 8; output u samples x = 2u - 1/2
    signal = np.zeros(16)
    signal[7] = 1.0  # 1-based column 8
    out = imresize(_row(signal), 0.5)
    assert out.shape == (2, 8)
    expected = [0, 0, C125 / 2, C025 / 2, C075 / 2, C175 / 2, 0, 0]
    np.testing.assert_allclose(out[0], expected, atol=1e-14)
    # without antialiasing the plain kernel samples at x - j = +-0.5, +-1.5 only
    plain = imresize(_row(signal), 0.5, antialiasing=False)
    assert plain[0, 3] == pytest.approx(float(cubic_kernel(np.array([0.5]))[0]), abs=1e-14)


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 0.7, 1.5, 2.0, 3.0, 4.0])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_constant_image_stays_constant(scale, dtype):
    img = np.full((17, 23, 3), 137, dtype=dtype)
    out = imresize(img, scale)
    assert out.dtype == dtype
    assert out.shape == (int(np.ceil(17 * scale)), int(np.ceil(23 * scale)), 3)
    np.testing.assert_allclose(out.astype(np.float64), 137.0, rtol=0, atol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("scale", [2.0, 3.0, 4.0])
def test_upscaling_reproduces_linear_and_quadratic_ramps(scale):
    # Keys' a = -0.5 kernel reproduces polynomials up to degree 2 away from the border
    n = 24
    rows = np.arange(1, n + 1, dtype=np.float64)
    for power in (1, 2):
        img = np.tile((rows ** power)[:, None], (1, 5))
        out = imresize(img, scale)
        x = np.arange(1, out.shape[0] + 1) / scale + 0.5 * (1 - 1 / scale)
        interior = (x > 3) & (x < n - 2)
        np.testing.assert_allclose(out[interior, 2], x[interior] ** power, rtol=0, atol=1e-9)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downscaling_keeps_linear_ramps_linear(factor):
    n = 48
    img = np.tile(np.arange(1, n + 1, dtype=np.float64)[None, :] * 2.0 + 5.0, (4, 1))
    out = imresize(img, 1 / factor)
    x = np.arange(1, out.shape[1] + 1) * factor + 0.5 * (1 - factor)
    interior = (x - 2 * factor > 1) & (x + 2 * factor < n)
    assert interior.sum() >= 4
    np.testing.assert_allclose(out[0, interior], 2.0 * x[interior] + 5.0, rtol=0, atol=1e-9)


def test_output_shapes():
    img = np.zeros((10, 7), dtype=np.uint8)
    assert imresize(img, 0.5).shape == (5, 4)  # ceil(3.5) = 4
    assert imresize(np.zeros((255, 510)), 1 / 3).shape == (85, 170)
    assert imresize(img, (2.0, 0.5)).shape == (20, 4)
    assert imresize(img, output_shape=(3, 9)).shape == (3, 9)
    assert imresize(np.zeros((6, 5, 4)), 2).shape == (12, 10, 4)


def test_uint8_rounds_half_away_from_zero_and_clips():
    # column pass on identical rows: base 100 plus an impulse of 64 gives exact .5 values
    signal = np.full(12, 100.0)
    signal[5] += 64
    img = _row(signal).astype(np.uint8)
    out = imresize(img, 2.0)
    assert out.dtype == np.uint8
    exact = 100 + 64 * np.array([C175, C125, C075, C025])  # 98.5, 95.5, 114.5, 155.5
    np.testing.assert_allclose(exact, [98.5, 95.5, 114.5, 155.5])
    # u = 8..11 sample the impulse (1-based 6) at distances 1.75, 1.25, 0.75, 0.25
    assert out[0, 7:11].tolist() == [99, 96, 115, 156]  # half-to-even would give 98, 96, 114, 156
    step = np.zeros((4, 8), dtype=np.uint8)
    step[:, 4:] = 255
    up = imresize(step, 2)
    assert up.min() == 0 and up.max() == 255  # the bicubic overshoot is clipped
    upf = imresize(step.astype(np.float64), 2)
    assert upf.min() < 0 and upf.max() > 255  # ... but kept for floats


def test_contributions_drop_unused_taps_and_normalise():
    idx, w = contributions(20, 10, 0.5)
    assert idx.shape == w.shape
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-14)
    assert idx.min() >= 0 and idx.max() <= 19
    assert np.all(np.any(w != 0, axis=0))


def test_torch_matches_numpy_layouts_and_dtypes():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(13, 18, 3), dtype=np.uint8)
    for scale in (0.5, 1 / 3, 2.0, 3.0):
        ref = imresize(img, scale)
        chw = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        got = imresize(chw, scale)
        assert got.dtype == torch.uint8
        np.testing.assert_array_equal(got.permute(1, 2, 0).numpy(), ref)
        batch = imresize(torch.stack([chw, chw]).float() / 255, scale)
        assert batch.dtype == torch.float32 and batch.shape[:2] == (2, 3)
        ref_f = imresize(img.astype(np.float32) / 255, scale)
        np.testing.assert_allclose(batch[1].permute(1, 2, 0).numpy(), ref_f, atol=1e-6)


def test_bad_arguments_raise_clear_errors():
    img = np.zeros((4, 4))
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img, 2, output_shape=(8, 8))
    for bad in (-1, 0, float("inf"), "x2", (2, 2, 2)):
        with pytest.raises(ValueError, match="positive"):
            imresize(img, bad)
    with pytest.raises(ValueError, match="H x W"):
        imresize(np.zeros((2, 2, 2, 2)), 2)
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        imresize([[0, 1], [2, 3]], 2)
