"""Image folders for metrics: listing, decoding once to uint8 in DataLoader workers, sharding, pairing.

Images are decoded with PIL and ``convert("RGB")`` (as pytorch-fid and clean-fid do) into uint8
CHW tensors; all resizing happens later on the metric's device. Batches of equal-sized images are
stacked; mixed sizes travel as a list and are resized one by one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from zoo.errors import ImageInputError
from zoo.images.files import list_images as find_images


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` sorted by relative path; an error names the folder when there are none."""
    return find_images(folder, recursive=recursive)


def decode_rgb_uint8(path: Path) -> torch.Tensor:
    """One image file as a (3, H, W) uint8 tensor."""
    from PIL import Image  # heavy

    try:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for bad files
        raise ImageInputError(f"cannot read image {path}: {type(exc).__name__}: {exc}") from exc
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header, without decoding the pixels."""
    from PIL import Image  # heavy

    try:
        with Image.open(path) as img:
            return img.size
    except Exception as exc:  # noqa: BLE001
        raise ImageInputError(f"cannot read image {path}: {type(exc).__name__}: {exc}") from exc


def shard(files: Sequence[Path], rank: int, world_size: int) -> list[Path]:
    """This rank's files (strided, no padding: every image is counted exactly once over all ranks)."""
    return list(files[rank::world_size])


class ImageFiles(Dataset):
    def __init__(self, files: Sequence[Path]) -> None:
        self.files = list(files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        return decode_rgb_uint8(self.files[index])


class ImagePairs(Dataset):
    def __init__(self, pairs: Sequence[tuple[Path, Path]]) -> None:
        self.pairs = list(pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        a, b = self.pairs[index]
        x, y = decode_rgb_uint8(a), decode_rgb_uint8(b)
        if x.shape != y.shape:
            raise ImageInputError(f"paired images differ in size: {a} is {x.shape[2]}x{x.shape[1]}, "
                                  f"{b} is {y.shape[2]}x{y.shape[1]}")
        return x, y, a.stem


def collate_images(batch: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
    if all(t.shape == batch[0].shape for t in batch):
        return torch.stack(batch)
    return batch


def collate_pairs(batch: list[tuple[torch.Tensor, torch.Tensor, str]]):
    xs, ys, names = zip(*batch)
    return collate_images(list(xs)), collate_images(list(ys)), list(names)


def make_loader(dataset: Dataset, *, batch_size: int, workers: int, device: torch.device, collate) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                      pin_memory=device.type == "cuda", collate_fn=collate, drop_last=False,
                      persistent_workers=False, prefetch_factor=4 if workers > 0 else None)


def image_batches(files: Sequence[Path], *, batch_size: int = 50, workers: int = 0,
                  device: torch.device | str = "cpu") -> Iterator[torch.Tensor | list[torch.Tensor]]:
    """uint8 batches of ``files`` decoded in ``workers`` processes (pinned memory when feeding CUDA)."""
    device = torch.device(device)
    yield from make_loader(ImageFiles(files), batch_size=batch_size, workers=workers, device=device,
                           collate=collate_images)


def pair_by_stem(folder_a: str | os.PathLike[str], folder_b: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """Match images of two folders by file name without extension; any unmatched name is an error."""
    def index(folder) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in list_images(folder):
            if path.stem in found:
                raise ImageInputError(f"{folder} has two images named {path.stem!r}: {found[path.stem].name} "
                                      f"and {path.name}; pairing by name is ambiguous")
            found[path.stem] = path
        return found

    a, b = index(folder_a), index(folder_b)
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        raise ImageInputError(f"cannot pair {folder_a} with {folder_b} by file name: only in the first: "
                              f"{only_a[:5]}{' ...' if len(only_a) > 5 else ''}; only in the second: "
                              f"{only_b[:5]}{' ...' if len(only_b) > 5 else ''}")
    return [(a[k], b[k]) for k in sorted(a)]


def fingerprint(files: Sequence[Path], root: str | os.PathLike[str]) -> str:
    """sha256 over relative names and byte sizes: detects a changed folder behind cached statistics."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(root).as_posix()}\t{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def size_label(files: Sequence[Path]) -> str:
    """``WxH`` when all images share one size, else ``mixed``."""
    sizes = {image_size(p) for p in files}
    if len(sizes) == 1:
        w, h = next(iter(sizes))
        return f"{w}x{h}"
    return "mixed"


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (0.0, 1.0), *, what: str = "images") -> torch.Tensor:
    """uint8 as-is; float images in ``value_range`` are rounded to 0..255 like a saved PNG (range checked)."""
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise ImageInputError(f"{what} must be uint8 or floating point, got {images.dtype}")
    lo, hi = value_range
    low, high = float(images.min()), float(images.max())
    tol = 1e-3 * (hi - lo)
    if low < lo - tol or high > hi + tol:
        raise ImageInputError(f"{what} should lie in {value_range} but range over [{low:.4g}, {high:.4g}]; "
                              f"pass the matching value_range")
    return ((images - lo) * (255.0 / (hi - lo))).round().clamp(0, 255).to(torch.uint8)
