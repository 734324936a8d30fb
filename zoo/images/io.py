"""Turning user images (paths, PIL, numpy, tensors) into float tensors and back, losslessly where it matters.

Every input becomes an RGB float tensor in [0, 1] plus an :class:`ImageInfo` that remembers what to
restore on the way out: the container type, grayscale, an alpha channel, 8- or 16-bit depth, and for
files the ICC colour profile and DPI (written back where the output format can hold them).
Files are read with their EXIF orientation applied (as ``PIL.ImageOps.exif_transpose``), so a phone
photo comes out the way it is shown. Float arrays and tensors must be in [0, 1]: values outside
[-0.1, 1.1] (0..255 data, say) are an error rather than a silently white image; smaller excursions
(resampling overshoot) are clipped. Pillow reads 16-bit RGB PNGs as 8-bit, so 16-bit PNGs are read
and written with pypng. JPEG and WebP are written at quality 95 unless told otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from PIL import Image, ImageOps

from zoo.errors import ImageInputError
from zoo.files import atomic_path

ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray, torch.Tensor]


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # "pil", "numpy", "tensor"
    gray: bool = False
    bit_depth: int = 8
    alpha: torch.Tensor | None = None  # (1, H, W) in [0, 1]
    name: str | None = None
    icc_profile: bytes | None = None  # the input file's colour profile, written back where possible
    dpi: tuple[float, float] | None = None

#: float inputs may overshoot [0, 1] this much (resampling ringing) and are clipped; beyond it is an error.
FLOAT_TOLERANCE = 0.1
#: default quality of JPEG and WebP outputs (Real-ESRGAN's and most tools' choice; Pillow's own is 75).
DEFAULT_QUALITY = 95


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as handle:
        head = handle.read(29)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return 8


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as HxW or HxWxC uint8/uint16 array (16-bit PNGs keep their depth, EXIF orientation applied)."""
    return read_image_with_info(path)[0]


def read_image_with_info(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`read_image` plus the file's ``icc_profile`` and ``dpi`` (absent keys when it has none)."""
    path = Path(path)
    if path.is_dir():
        raise ImageInputError(f"input image {path} is a folder, not an image file")
    if not path.is_file():
        raise ImageInputError(f"input image {path} does not exist")
    try:
        if path.suffix.lower() == ".png" and _png_bit_depth(path) == 16:
            import png  # heavy

            width, height, rows, info = png.Reader(filename=str(path)).asDirect()
            arr = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, info["planes"])
            return (arr[..., 0] if arr.shape[2] == 1 else arr), {}
        with Image.open(path) as img:
            meta = {key: img.info[key] for key in ("icc_profile", "dpi") if img.info.get(key)}
            upright = ImageOps.exif_transpose(img)
            return pil_to_array(upright if upright is not None else img), meta
    except ImageInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoder errors vary by format
        raise ImageInputError(f"cannot read image {path}: {type(exc).__name__}: {exc}") from exc


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(height, width) of an image file as :func:`read_image` returns it, from its header; None if unreadable."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - the decoder reports the problem when the file is really read
        return None
    return (width, height) if orientation in (5, 6, 7, 8) else (height, width)


def pil_to_array(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(img, dtype=np.uint16)
    if mode in ("1", "L", "LA", "RGB", "RGBA"):
        return np.asarray(img.convert("L") if mode == "1" else img)
    if mode == "P":
        return np.asarray(img.convert("RGBA" if "transparency" in img.info else "RGB"))
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La", "PA"):
        return np.asarray(img.convert("RGBA" if "A" in mode or "a" in mode else "RGB"))
    raise ImageInputError(f"unsupported image mode {mode!r} (size {img.size}); convert it to RGB, RGBA or L first")


def _check_float_range(lo: float, hi: float, what: str) -> None:
    if lo < -FLOAT_TOLERANCE or hi > 1 + FLOAT_TOLERANCE:
        hint = " (it looks like 0..255 data: divide by 255 or pass uint8)" if hi > 1 + FLOAT_TOLERANCE and hi <= 255.5 else ""
        raise ImageInputError(f"{what} has values from {lo:g} to {hi:g}; float images must be in [0, 1]{hint}")


def array_to_tensor(arr: np.ndarray, name: str | None = None, kind: str = "numpy") -> tuple[torch.Tensor, ImageInfo]:
    """HxW[xC] uint8/uint16/float array -> (3,H,W) float [0,1] RGB tensor + info."""
    label = f"image {name}" if name else "image"
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ImageInputError(f"{label} has shape {arr.shape}; expected HxW, HxWx1, HxWx2, HxWx3 or HxWx4")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageInputError(f"{label} is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        data, depth = arr.astype(np.float32) / 255.0, 8
    elif arr.dtype == np.uint16:
        data, depth = arr.astype(np.float32) / 65535.0, 16
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageInputError(f"{label} contains NaN or infinite values")
        _check_float_range(float(arr.min()), float(arr.max()), f"float {label}")
        data, depth = np.clip(arr.astype(np.float32), 0.0, 1.0), 8
    else:
        raise ImageInputError(f"{label} has dtype {arr.dtype}; expected uint8, uint16 or float in [0, 1]")
    tensor = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)))
    channels = tensor.shape[0]
    alpha = tensor[-1:].clone() if channels in (2, 4) else None
    color = tensor[: 3 if channels >= 3 else 1]
    gray = color.shape[0] == 1
    if gray:
        color = color.expand(3, -1, -1).clone()
    return color, ImageInfo(kind=kind, gray=gray, bit_depth=depth, alpha=alpha, name=name)


def to_tensor(image: ImageLike) -> tuple[torch.Tensor, ImageInfo]:
    """One user image -> (3,H,W) float RGB tensor in [0,1] and what to restore later."""
    if isinstance(image, (str, os.PathLike)):
        arr, meta = read_image_with_info(image)
        x, info = array_to_tensor(arr, name=str(image), kind="pil")
        return x, replace(info, icc_profile=meta.get("icc_profile"), dpi=meta.get("dpi"))
    if isinstance(image, Image.Image):
        x, info = array_to_tensor(pil_to_array(image), kind="pil")
        return x, replace(info, icc_profile=image.info.get("icc_profile") or None, dpi=image.info.get("dpi"))
    if isinstance(image, np.ndarray):
        return array_to_tensor(image)
    if isinstance(image, torch.Tensor):
        t = image.detach()
        if t.dim() == 2:
            t = t[None]
        if t.dim() != 3 or t.shape[0] not in (1, 3, 4):
            raise ImageInputError(f"tensor image has shape {tuple(image.shape)}; expected (C,H,W) with C in 1, 3, 4")
        if t.dtype == torch.uint8:
            t = t.float() / 255.0
        elif not t.is_floating_point():
            raise ImageInputError(f"tensor image has dtype {t.dtype}; expected float in [0, 1] or uint8")
        t = t.float().cpu()
        if not torch.isfinite(t).all():
            raise ImageInputError("tensor image contains NaN or infinite values")
        _check_float_range(float(t.min()), float(t.max()), "float tensor image")
        t = t.clamp(0, 1)
        alpha = t[3:4].clone() if t.shape[0] == 4 else None
        gray = t.shape[0] == 1
        color = t[:1].expand(3, -1, -1).clone() if gray else t[:3]
        return color, ImageInfo(kind="tensor", gray=gray, alpha=alpha)
    raise ImageInputError(f"unsupported input of type {type(image).__name__}; "
                          "expected a path, PIL image, numpy array or tensor")


def quantize(x: torch.Tensor, bit_depth: int = 8, mode: str = "round") -> np.ndarray:
    """(C,H,W) float [0,1] -> HxWxC integer array; ``truncate`` mirrors ``astype(uint8)`` upstream code."""
    peak = 65535.0 if bit_depth == 16 else 255.0
    scaled = x.detach().float().cpu().clamp(0, 1) * peak
    scaled = scaled.round() if mode == "round" else scaled.floor()
    arr = scaled.numpy().transpose(1, 2, 0)
    return arr.astype(np.uint16 if bit_depth == 16 else np.uint8)


def from_tensor(x: torch.Tensor, info: ImageInfo, quantize_mode: str = "round", keep_gray: bool = False) -> Any:
    """(3,H,W) float [0,1] output -> the same kind of image the user gave (alpha/depth restored).

    ``keep_gray`` turns the output of a grayscale input back into one channel (restoration models
    such as SR); translation models may legitimately add colour, so it is off by default.
    """
    color = x.mean(0, keepdim=True) if (info.gray and keep_gray) else x
    if info.alpha is not None:
        color = torch.cat([color, info.alpha.to(color)], 0)
    if info.kind == "tensor":
        return color.clamp(0, 1)
    arr = quantize(color, info.bit_depth, quantize_mode)
    if info.kind == "numpy":
        return arr[..., 0] if arr.shape[2] == 1 else arr
    if info.bit_depth == 16:
        return arr[..., 0] if arr.shape[2] == 1 else arr  # PIL has no 16-bit RGB mode: return the array
    if arr.shape[2] == 1:
        img = Image.fromarray(arr[..., 0], "L")
    else:
        img = Image.fromarray(arr, {2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]])
    if info.icc_profile:
        img.info["icc_profile"] = info.icc_profile
    if info.dpi:
        img.info["dpi"] = info.dpi
    return img


#: which of ICC profile / DPI each Pillow format can store.
_FORMAT_METADATA = {"PNG": ("icc_profile", "dpi"), "JPEG": ("icc_profile", "dpi"), "TIFF": ("icc_profile", "dpi"),
                    "WEBP": ("icc_profile",), "BMP": ("dpi",)}


def save_image(image: Any, path: str | os.PathLike, *, quality: int = DEFAULT_QUALITY,
               icc_profile: bytes | None = None, dpi: tuple[float, float] | None = None) -> Path:
    """Save a PIL image or uint8/uint16 array atomically; 16-bit arrays are written as 16-bit PNG.

    ``quality`` applies to JPEG and WebP. The ICC profile and DPI (given, or carried in a PIL image's
    ``info`` by the pipeline) are written where the format can hold them.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(image, np.ndarray) and image.dtype == np.uint16:
            if path.suffix.lower() != ".png":
                raise ImageInputError(f"16-bit output can only be saved as PNG, not {path.suffix!r} ({path})")
            import png  # heavy

            planes = 1 if image.ndim == 2 else image.shape[2]
            mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[planes] + ";16"
            png.from_array(image.reshape(image.shape[0], -1), mode).save(str(tmp))
        else:
            img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
            fmt = Image.registered_extensions().get(path.suffix.lower())
            if fmt is None:
                raise ImageInputError(f"unknown image file extension {path.suffix!r} for {path}")
            if fmt == "JPEG" and img.mode in ("RGBA", "LA"):
                img = img.convert("RGB" if img.mode == "RGBA" else "L")
            carried = image.info if isinstance(image, Image.Image) else {}
            meta = {"icc_profile": icc_profile or carried.get("icc_profile"), "dpi": dpi or carried.get("dpi")}
            params: dict[str, Any] = {k: v for k, v in meta.items() if v and k in _FORMAT_METADATA.get(fmt, ())}
            if fmt in ("JPEG", "WEBP"):
                params["quality"] = quality
            img.save(tmp, format=fmt, **params)
    return path
