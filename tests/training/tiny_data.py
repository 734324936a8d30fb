"""Tiny training folders made from the shared images (a few 48-64 px pictures), in each task's layout."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def _save(src: Path, dest: Path, size: tuple[int, int]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as img:
        img.convert("RGB").resize(size, Image.BICUBIC).save(dest)


def photos(shared: Path, n: int = 4) -> list[Path]:
    return sorted((shared / "data" / "translation" / "unsplash-photos").glob("*.jpg"))[:n]


def sr_folder(shared: Path, root: Path, n: int = 4, size: int = 48) -> Path:
    for i, src in enumerate(sorted((shared / "data" / "sr_train" / "T91").glob("*.bmp"))[:n]):
        _save(src, root / "hr" / f"{i}.png", (size, size))
    return root / "hr"


def paired_folder(shared: Path, root: Path, size: int = 40) -> Path:
    """facades pairs as A/ (labels) and B/ (photos) folders with matching names."""
    for labels in sorted((shared / "data" / "translation" / "facades-pairs").glob("*-labels.png")):
        stem = labels.name.split("-")[0]
        _save(labels, root / "paired" / "A" / f"{stem}.png", (size, size))
        _save(labels.with_name(f"{stem}-photo.png"), root / "paired" / "B" / f"{stem}.png", (size, size))
    return root / "paired"


def unpaired_folder(shared: Path, root: Path, size: int = 40) -> Path:
    files = photos(shared, 6)
    for i, src in enumerate(files[:3]):
        _save(src, root / "unpaired" / "trainA" / f"{i}.png", (size, size))
    for i, src in enumerate(files[3:]):
        _save(src, root / "unpaired" / "trainB" / f"{i}.png", (size, size))
    return root / "unpaired"


def photo_folder(shared: Path, root: Path, size: int = 40, n: int = 4) -> Path:
    for i, src in enumerate(photos(shared, n)):
        _save(src, root / "photos" / f"{i}.png", (size, size))
    return root / "photos"
