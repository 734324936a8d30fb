"""SR training data: HR folders with LR made by MATLAB-compatible ``imresize`` (or HR/LR pairs), patches,
flips and rotations, and an optional Real-ESRGAN-style second-order degradation.

* ``bicubic`` (default): the HR image is cropped to a multiple of the scale and shrunk once with
  :func:`zoo_sr.imresize.imresize` on uint8 RGB (as MATLAB makes the benchmark ``*_LR.png``); the LR of each
  image is cached, and patches are cut on the LR grid so LR and HR stay aligned.
* ``realesrgan``: each HR patch goes through two rounds of [blur (isotropic or anisotropic Gaussian),
  random resize (bicubic / bilinear / area), Gaussian noise (colour or gray), JPEG (PIL)] and a final resize to
  HR/scale, with parameter ranges after Real-ESRGAN's ``train_realesrgan_x4plus.yml`` (a subset: no sinc
  filters, no Poisson noise).
* HR/LR pairs: ``DIR/HR`` + ``DIR/LR`` (or ``*_HR.png`` / ``*_LR.png`` side by side, the benchmark layout).

Items are ``{"lr": (C, p/s, p/s), "hr": (C, p, p)}`` floats in [0, 1]; ``channels="y"`` gives the luma
(MATLAB ``rgb2ycbcr``, 16..235 / 255) only.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from zoo.metrics import YCBCR_MATRIX, YCBCR_OFFSET
from zoo.training import TrainingError, image_size, item_rng, list_images

from .imresize import imresize

DEGRADATIONS = ("bicubic", "realesrgan")


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """uint8 or [0,1]-float H x W x 3 RGB -> float32 H x W x 1 luma in [0, 1] (MATLAB ``rgb2ycbcr``)."""
    x = rgb.astype(np.float64) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    y = (x @ YCBCR_MATRIX[0] + YCBCR_OFFSET[0]) / 255.0
    return y.astype(np.float32)[:, :, None]


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def _read(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except OSError as exc:
        raise TrainingError(f"cannot read image {path}: {exc}") from None


def check_pair(hr: Path, lr: Path, scale: int) -> tuple[int, int]:
    """HR must be ``scale`` x LR, up to the ``scale - 1`` pixels a modcrop removes (BasicSR's scale check);
    returns the HR (width, height)."""
    (hw, hh), (lw, lh) = image_size(hr), image_size(lr)
    if hw // scale != lw or hh // scale != lh:
        raise TrainingError(f"SR pairs: {hr} ({hw}x{hh}) is not {scale}x {lr} ({lw}x{lh}); expected HR of "
                            f"{lw * scale}x{lh * scale} (up to {scale - 1} px more) for scale {scale}")
    return hw, hh


def find_pairs(root: Path) -> list[tuple[Path, Path]] | None:
    """HR/LR pairs in ``root/HR`` + ``root/LR`` (same stems, an ``xN`` suffix allowed) or ``*_HR.*`` + ``*_LR.*``."""
    if (root / "HR").is_dir() and (root / "LR").is_dir():
        lr = {re.sub(r"x\d+$", "", p.stem): p for p in list_images(root / "LR")}  # DIV2K: 0001x4.png
        pairs = [(p, lr.get(p.stem)) for p in list_images(root / "HR")]
        missing = [h.name for h, low in pairs if low is None]
        if missing:
            raise TrainingError(f"SR pairs: {len(missing)} HR images of {root / 'HR'} have no LR image in "
                                f"{root / 'LR'} (first: {missing[0]})")
        return [(h, low) for h, low in pairs if low is not None]
    hr = sorted(root.glob("*_HR.*"))
    if hr:
        pairs = [(p, p.with_name(p.name.replace("_HR.", "_LR."))) for p in hr]
        return [(h, low) for h, low in pairs if low.is_file()]
    return None


def augment(arrays: list[np.ndarray], rng: np.random.Generator, flip: bool, rotate: bool) -> list[np.ndarray]:
    """The same random horizontal/vertical flip and 90-degree rotation for every array (BasicSR's ``augment``)."""
    hflip = flip and rng.random() < 0.5
    vflip = rotate and rng.random() < 0.5
    rot90 = rotate and rng.random() < 0.5
    out = []
    for a in arrays:
        if hflip:
            a = a[:, ::-1]
        if vflip:
            a = a[::-1]
        if rot90:
            a = a.transpose(1, 0, 2)
        out.append(np.ascontiguousarray(a))
    return out


def _chw(a: np.ndarray) -> torch.Tensor:
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))


class SRDataset(torch.utils.data.Dataset):
    """Random ``patch_size`` HR patches (and their LR) from a folder; ``repeat`` passes over it per epoch."""

    def __init__(self, root: str | Path, *, scale: int, patch_size: int = 96, channels: str = "rgb",
                 degradation: str = "bicubic", repeat: int = 1, flip: bool = True, rotate: bool = True,
                 degradation_options: dict[str, Any] | None = None) -> None:
        root = Path(root)
        if degradation not in DEGRADATIONS:
            raise TrainingError(f"option 'degradation' must be one of {', '.join(DEGRADATIONS)}, got {degradation!r}")
        if channels not in ("rgb", "y"):
            raise TrainingError(f"option 'channels' must be 'rgb' or 'y', got {channels!r}")
        if patch_size % scale:
            raise TrainingError(f"option 'patch_size': {patch_size} is not a multiple of the scale {scale}")
        self.scale, self.patch, self.channels, self.degradation = scale, patch_size, channels, degradation
        self.repeat, self.flip, self.rotate = max(1, repeat), flip, rotate
        self.degradation_options = dict(degradation_options or {})
        self.pairs = find_pairs(root) if root.is_dir() else None
        self.files = [h for h, _ in self.pairs] if self.pairs else list_images(root, "SR training data (HR images)")
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for index, hr in enumerate(self.files):  # headers only: every bad file is found before the run starts
            w, h = check_pair(hr, self.pairs[index][1], scale) if self.pairs else image_size(hr)
            if min(w, h) // scale < patch_size // scale:
                raise TrainingError(f"{hr}: {w}x{h} is smaller than the patch (patch_size {patch_size}); use a "
                                    f"smaller patch_size or larger images")

    def __len__(self) -> int:
        return len(self.files) * self.repeat

    def image_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(HR, LR) uint8 RGB of one image, HR cropped to a multiple of the scale; cached."""
        if index not in self._cache:
            if self.pairs:
                hr, lr = _read(self.pairs[index][0]), _read(self.pairs[index][1])
                hr = hr[: lr.shape[0] * self.scale, : lr.shape[1] * self.scale]
            else:
                hr = modcrop(_read(self.files[index]), self.scale)
                lr = imresize(hr, 1.0 / self.scale) if self.degradation == "bicubic" else hr[:: self.scale, :: self.scale]
            self._cache[index] = (hr, lr)
        return self._cache[index]

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        index, rng = item_rng(key)
        index %= len(self.files)
        hr, lr = self.image_pair(index)
        s, lp = self.scale, self.patch // self.scale  # every image holds a patch: checked in __init__
        y, x = int(rng.integers(0, lr.shape[0] - lp + 1)), int(rng.integers(0, lr.shape[1] - lp + 1))
        hr_patch = hr[y * s: (y + lp) * s, x * s: (x + lp) * s]
        if self.degradation == "realesrgan" and not self.pairs:
            lr_patch = degrade(hr_patch, s, rng, **self.degradation_options)
        else:
            lr_patch = lr[y: y + lp, x: x + lp]
        hr_patch, lr_patch = augment([hr_patch, lr_patch], rng, self.flip, self.rotate)
        if self.channels == "y":
            hr_patch, lr_patch = rgb_to_y(hr_patch), rgb_to_y(lr_patch)
        return {"lr": _chw(lr_patch), "hr": _chw(hr_patch)}


# -- Real-ESRGAN-style degradation -------------------------------------------------------------------------
def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """A normalised (an)isotropic Gaussian kernel rotated by ``theta``."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2
    xx, yy = np.meshgrid(r, r)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return k / k.sum()


def _blur(x: torch.Tensor, rng: np.random.Generator, sigma: tuple[float, float]) -> torch.Tensor:
    size = int(rng.choice([7, 9, 11, 13, 15, 17, 19, 21]))
    sx = rng.uniform(*sigma)
    sy = sx if rng.random() < 0.5 else rng.uniform(*sigma)
    k = torch.from_numpy(gaussian_kernel(size, sx, sy, rng.uniform(-math.pi, math.pi))).float()
    weight = k[None, None].expand(x.shape[0], 1, size, size)
    return F.conv2d(F.pad(x[None], [size // 2] * 4, mode="reflect"), weight, groups=x.shape[0])[0]


def _resize(x: torch.Tensor, size: tuple[int, int], rng: np.random.Generator) -> torch.Tensor:
    mode = str(rng.choice(["bicubic", "bilinear", "area"]))
    kwargs = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x[None], size=size, mode=mode, **kwargs)[0]


def _noise(x: torch.Tensor, rng: np.random.Generator, sigma: tuple[float, float], gray_prob: float) -> torch.Tensor:
    std = rng.uniform(*sigma) / 255.0
    shape = (1, *x.shape[1:]) if rng.random() < gray_prob else tuple(x.shape)
    noise = torch.from_numpy(rng.standard_normal(shape).astype(np.float32)) * std
    return x + noise


def _jpeg(x: torch.Tensor, rng: np.random.Generator, quality: tuple[int, int]) -> torch.Tensor:
    arr = (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(rng.integers(quality[0], quality[1] + 1)))
    buf.seek(0)
    with Image.open(buf) as img:
        return torch.from_numpy(np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)


def degrade(hr: np.ndarray, scale: int, rng: np.random.Generator, *, blur_sigma: tuple[float, float] = (0.2, 3.0),
            blur_sigma2: tuple[float, float] = (0.2, 1.5), resize_range: tuple[float, float] = (0.15, 1.5),
            resize_range2: tuple[float, float] = (0.3, 1.2), noise_sigma: tuple[float, float] = (1.0, 30.0),
            noise_sigma2: tuple[float, float] = (1.0, 25.0), gray_noise_prob: float = 0.4,
            jpeg_quality: tuple[int, int] = (30, 95), jpeg_quality2: tuple[int, int] = (30, 95),
            second_order_prob: float = 0.8) -> np.ndarray:
    """uint8 HR patch -> uint8 LR patch of size HR/scale through one or two degradation rounds."""
    h, w = hr.shape[:2]
    x = torch.from_numpy(hr.astype(np.float32) / 255.0).permute(2, 0, 1)
    rounds = [(blur_sigma, resize_range, noise_sigma, jpeg_quality)]
    if rng.random() < second_order_prob:
        rounds.append((blur_sigma2, resize_range2, noise_sigma2, jpeg_quality2))
    for i, (bs, rr, ns, jq) in enumerate(rounds):
        x = _blur(x, rng, tuple(bs))
        factor = rng.uniform(*rr)
        if i == 0:
            size = (max(4, round(h * factor)), max(4, round(w * factor)))
        else:
            size = (max(4, round(h / scale * factor)), max(4, round(w / scale * factor)))
        x = _resize(x, size, rng)
        x = _noise(x, rng, tuple(ns), gray_noise_prob).clamp(0, 1)
        x = _jpeg(x, rng, tuple(jq))
    x = _resize(x, (h // scale, w // scale), rng).clamp(0, 1)
    return (x.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def validation_pairs(root: str | Path, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, HR uint8, LR uint8) for a validation folder: benchmark pairs, HR/LR folders, or HR images
    (LR by MATLAB imresize)."""
    root = Path(root)
    pairs = find_pairs(root) if root.is_dir() else None
    out = []
    if pairs:
        for h, low in pairs:
            check_pair(h, low, scale)
            hr, lr = _read(h), _read(low)
            out.append((h.stem, hr[: lr.shape[0] * scale, : lr.shape[1] * scale], lr))
    else:
        for path in list_images(root, "SR validation data"):
            hr = modcrop(_read(path), scale)
            out.append((path.stem, hr, imresize(hr, 1.0 / scale)))
    return out
