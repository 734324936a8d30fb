"""PSNR and SSIM as super-resolution papers compute them (the MATLAB / BasicSR conventions).

Conventions, chosen so that numbers are comparable with published tables:

* images are RGB, ``H x W x C`` (or ``H x W``) on the 0..255 scale: uint8, or floats already in
  [0, 255]; pass ``data_range=1.0`` for floats in [0, 1]. Tensors may be given ``C x H x W`` with
  ``input_order="CHW"``;
* ``crop_border`` pixels are removed on every side first (SR papers crop ``scale`` pixels);
* ``test_y_channel=True`` compares only the luma of MATLAB's ``rgb2ycbcr`` (BT.601, studio range
  16..235), kept as an unrounded float, as BasicSR's ``to_y_channel`` does;
* named protocols (:data:`PROTOCOLS`) fix the crop and channel from a scale: ``protocol="sr-y", scale=4``
  is what the SR papers' tables use (Y, 4 pixels cropped), the same in Python and ``zoo metric``;
* SSIM uses an 11 x 11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, only the
  'valid' part of the filtered maps (no padding), population (not sample) covariances, and the
  mean over channels for colour images (Wang et al. 2004, as in BasicSR's ``calculate_ssim``).

All arithmetic is float64.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from zoo.errors import ImageInputError

# MATLAB rgb2ycbcr, for R, G, B in [0, 1]: [Y, Cb, Cr] * 255 = OFFSET + MATRIX @ [R, G, B]
YCBCR_MATRIX = np.array([[65.481, 128.553, 24.966],
                         [-37.797, -74.203, 112.0],
                         [112.0, -93.786, -18.214]])
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0])

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _as_array(img: Any, input_order: str = "HWC") -> np.ndarray:
    """numpy view of an array/tensor, channels last."""
    if input_order not in ("HWC", "CHW"):
        raise ValueError(f"input_order must be 'HWC' or 'CHW', got {input_order!r}")
    if hasattr(img, "detach") and hasattr(img, "cpu"):  # a torch tensor, without importing torch
        img = img.detach().cpu().numpy()
    if not isinstance(img, np.ndarray):
        raise ImageInputError(f"expected a numpy array or tensor image, got {type(img).__name__}")
    if img.ndim not in (2, 3):
        raise ImageInputError(f"expected an H x W or H x W x C image, got shape {img.shape}")
    if img.ndim == 3 and input_order == "CHW":
        img = np.transpose(img, (1, 2, 0))
    return img


def _scale_of(img: np.ndarray, data_range: float | None) -> float:
    """Factor that brings ``img`` to the 0..255 scale."""
    if data_range is None:
        return 1.0
    if data_range <= 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    return 255.0 / float(data_range)


def rgb2ycbcr(img: np.ndarray, y_only: bool = False) -> np.ndarray:
    """MATLAB's ``rgb2ycbcr`` for ``H x W x 3`` RGB images.

    uint8 input gives uint8 output (rounded, as MATLAB does); float input is taken to be in [0, 1]
    and gives floats in [16/255, 235/255] (Y) and [16/255, 240/255] (Cb, Cr).
    ``y_only`` returns ``H x W``.
    """
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ImageInputError(f"rgb2ycbcr expects an H x W x 3 RGB image, got shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    rgb = img.astype(np.float64) / 255.0 if is_uint8 else img.astype(np.float64)
    matrix = YCBCR_MATRIX[:1] if y_only else YCBCR_MATRIX
    out = (rgb @ matrix.T + YCBCR_OFFSET[: matrix.shape[0]]) / 255.0
    if y_only:
        out = out[..., 0]
    if is_uint8:
        return np.clip(np.floor(out * 255.0 + 0.5), 0, 255).astype(np.uint8)
    return out


def ycbcr2rgb(img: np.ndarray) -> np.ndarray:
    """MATLAB's ``ycbcr2rgb``: inverse of :func:`rgb2ycbcr` (uint8 -> rounded uint8, floats in [0, 1])."""
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ImageInputError(f"ycbcr2rgb expects an H x W x 3 YCbCr image, got shape {img.shape}")
    is_uint8 = img.dtype == np.uint8
    ycc = img.astype(np.float64) * (1.0 if is_uint8 else 255.0)
    rgb = (ycc - YCBCR_OFFSET) @ np.linalg.inv(YCBCR_MATRIX).T
    if is_uint8:
        return np.clip(np.floor(rgb * 255.0 + 0.5), 0, 255).astype(np.uint8)
    return rgb


def to_y_channel(img: np.ndarray) -> np.ndarray:
    """Luma on the 0..255 scale, unrounded float64 (BasicSR's ``to_y_channel`` for RGB input)."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[2] == 3:
        return rgb2ycbcr(img / 255.0, y_only=True) * 255.0
    if img.ndim == 3 and img.shape[2] == 1:
        return img[..., 0]
    if img.ndim == 2:
        return img
    raise ImageInputError(f"cannot take the Y channel of an image of shape {img.shape}")


def quantize_uint8(img: Any, value_range: Sequence[float] = (0.0, 1.0)) -> np.ndarray:
    """Float image in ``value_range`` -> uint8: clip, scale to 0..255 and round (half to even, like
    BasicSR's ``tensor2img``). Tensors ``C x H x W`` are returned as ``H x W x C`` arrays."""
    lo, hi = float(value_range[0]), float(value_range[1])
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    if hasattr(img, "detach") and hasattr(img, "cpu"):
        arr = img.detach().cpu().double().numpy()
        if arr.ndim == 3:
            arr = np.transpose(arr, (1, 2, 0))
    else:
        arr = np.asarray(img, dtype=np.float64)
    arr = (np.clip(arr, lo, hi) - lo) * (255.0 / (hi - lo))
    return np.rint(arr).astype(np.uint8)


#: named conventions: ``sr-*`` crop ``scale`` pixels from every side (the SR papers' and model zoos' rule)
PROTOCOLS = {
    "sr-y": "the Y of MATLAB rgb2ycbcr, scale pixels cropped (SR papers: SRCNN, VDSR, SRGAN, ESRGAN READMEs)",
    "sr-rgb": "RGB, scale pixels cropped (the BasicSR and mmagic model zoos)",
    "plain": "RGB, nothing cropped",
}


def protocol_options(protocol: str | None = None, scale: int | None = None, crop_border: int | None = None,
                     test_y_channel: bool | None = None) -> tuple[int, bool]:
    """(crop_border, test_y_channel) for a named protocol at ``scale``, or the explicit values (default 0, False).

    An explicit value that contradicts the protocol is an error naming both, not a silent override.
    """
    if protocol is None:
        if scale is not None:
            raise ValueError(f"scale={scale} needs a protocol (sr-y or sr-rgb) to say what it crops")
        return int(crop_border or 0), bool(test_y_channel)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    if protocol.startswith("sr-"):
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ValueError(f"protocol {protocol} needs the SR scale (an integer >= 1), got {scale!r}")
        wanted = (scale, protocol == "sr-y")
    else:
        wanted = (0, False)
    for name, given, value in (("crop_border", crop_border, wanted[0]), ("y_channel", test_y_channel, wanted[1])):
        if given is not None and given != value:
            raise ValueError(f"{name}={given!r} contradicts protocol {protocol}"
                             + (f" at scale {scale}" if scale else "") + f" ({name}={value!r})")
    return wanted


def _prepare(img1: Any, img2: Any, crop_border: int | None, test_y_channel: bool | None, input_order: str,
             data_range: float | None, protocol: str | None = None,
             scale: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    crop_border, test_y_channel = protocol_options(protocol, scale, crop_border, test_y_channel)
    a, b = _as_array(img1, input_order), _as_array(img2, input_order)
    if a.shape != b.shape:
        raise ImageInputError(f"images have different shapes: {a.shape} vs {b.shape}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border:
        if 2 * crop_border >= min(a.shape[:2]):
            raise ImageInputError(f"crop_border={crop_border} leaves nothing of a {a.shape[0]}x{a.shape[1]} image")
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    factor = _scale_of(a, data_range)
    a = a.astype(np.float64) * factor
    b = b.astype(np.float64) * factor
    if test_y_channel:
        a, b = to_y_channel(a), to_y_channel(b)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    return a, b


def psnr(img1: Any, img2: Any, crop_border: int | None = None, test_y_channel: bool | None = None,
         input_order: str = "HWC", data_range: float | None = None, *, protocol: str | None = None,
         scale: int | None = None) -> float:
    """Peak signal-to-noise ratio in dB on the 0..255 scale (``inf`` for identical images); ``protocol`` and
    ``scale`` name a convention of :data:`PROTOCOLS` instead of ``crop_border`` / ``test_y_channel``."""
    a, b = _prepare(img1, img2, crop_border, test_y_channel, input_order, data_range, protocol, scale)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(255.0 ** 2 / mse))


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian taps (``cv2.getGaussianKernel(size, sigma)``); the 2-D window is their outer product."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    taps = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return taps / taps.sum()


def _filter_valid(img: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 2-D correlation of ``H x W`` with ``taps`` x ``taps``, keeping only the 'valid' part."""
    n = taps.size
    h, w = img.shape[0] - n + 1, img.shape[1] - n + 1
    rows = sum(taps[k] * img[k:k + h, :] for k in range(n))
    return sum(taps[k] * rows[:, k:k + w] for k in range(n))


def _ssim_channel(a: np.ndarray, b: np.ndarray, taps: np.ndarray) -> float:
    c1 = (SSIM_K1 * 255.0) ** 2
    c2 = (SSIM_K2 * 255.0) ** 2
    mu_a, mu_b = _filter_valid(a, taps), _filter_valid(b, taps)
    var_a = _filter_valid(a * a, taps) - mu_a ** 2
    var_b = _filter_valid(b * b, taps) - mu_b ** 2
    cov = _filter_valid(a * b, taps) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(img1: Any, img2: Any, crop_border: int | None = None, test_y_channel: bool | None = None,
         input_order: str = "HWC", data_range: float | None = None, *, protocol: str | None = None,
         scale: int | None = None) -> float:
    """Structural similarity (Wang et al. 2004) with the conventions in the module docstring; 1.0 for identical
    images. ``protocol`` and ``scale`` as for :func:`psnr`."""
    a, b = _prepare(img1, img2, crop_border, test_y_channel, input_order, data_range, protocol, scale)
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise ImageInputError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels after cropping, "
                              f"got {a.shape[0]}x{a.shape[1]}")
    taps = gaussian_window()
    return float(np.mean([_ssim_channel(a[..., c], b[..., c], taps) for c in range(a.shape[2])]))
