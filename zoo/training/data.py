"""Training datasets in the layouts users already have, and a resumable, distributed-aware data order.

Every dataset item is drawn with its own random generator, seeded from ``(seed, epoch, position)`` by
:class:`ResumableSampler`, so crops and flips do not depend on worker processes or on where a run was
resumed: N steps straight and N/2 + resume see identical batches. Items are dicts of float tensors in
[0, 1], ``(C, H, W)``.

Layouts: ``AlignedDataset`` (pix2pix: ``A|B`` side by side in one image, or ``A/`` and ``B/`` folders of
same-named files; ``direction``), ``UnalignedDataset`` (CycleGAN: ``trainA/`` and ``trainB/``),
``ImageFolderDataset`` (any folder of photos: style content images, colorization).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset, DistributedSampler

from zoo.images.files import list_images as find_images
from zoo.training.config import TrainingError


def sample_seed(seed: int, epoch: int, position: int) -> int:
    """A 63-bit seed for one item of one epoch, independent of workers and resumption."""
    return int(np.random.SeedSequence([seed, epoch, position]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def item_rng(key: Any) -> tuple[int, np.random.Generator]:
    """``key`` is an index, or ``(index, seed)`` from :class:`ResumableSampler`."""
    if isinstance(key, (tuple, list)):
        index, seed = int(key[0]), int(key[1])
    else:
        index, seed = int(key), sample_seed(0, 2**32 - 1, int(key))  # outside any epoch
    return index, np.random.default_rng(seed)


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` (seed + epoch permutation, one shard per rank) that yields ``(index, seed)`` and
    can start in the middle of an epoch (``start`` items in, for resuming)."""

    def __init__(self, dataset: Dataset, *, num_replicas: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.start = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(super().__iter__())
        for k in range(self.start, len(indices)):
            position = self.rank + k * self.num_replicas
            yield indices[k], sample_seed(self.seed, self.epoch, position)

    def __len__(self) -> int:
        return self.num_samples - self.start


def list_images(folder: str | Path, what: str = "images") -> list[Path]:
    """Image files under ``folder`` (recursively, sorted); a :class:`TrainingError` naming ``what`` if none, or
    naming the first file that is not a readable image (headers only), so a run fails before it starts."""
    files = find_images(folder, recursive=True, what=what, error=TrainingError)
    for path in files:
        image_size(path)
    return files


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file's header; a :class:`TrainingError` naming the file when it is not an image."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot read image {path}: {exc}") from None


def load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except OSError as exc:
        raise TrainingError(f"cannot read image {path}: {exc}") from None


def to_tensor(img: Image.Image | np.ndarray) -> torch.Tensor:
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


# -- junyanz-style augmentation: resize to load_size, random crop to crop_size, horizontal flip ---------------
PREPROCESS = ("resize_and_crop", "crop", "scale_width_and_crop", "resize", "none")


def transform_params(size: tuple[int, int], rng: np.random.Generator, *, preprocess: str, load_size: int,
                     crop_size: int, flip: bool) -> dict[str, Any]:
    """Where to crop and whether to flip, drawn once so paired images get the same transform."""
    w, h = size
    if preprocess == "resize_and_crop":
        w = h = load_size
    elif preprocess == "scale_width_and_crop":
        w, h = load_size, max(crop_size, int(round(load_size * h / w)))
    elif preprocess == "resize":
        w = h = crop_size
    crop = preprocess in ("resize_and_crop", "crop", "scale_width_and_crop")
    if crop and (w < crop_size or h < crop_size):
        raise TrainingError(f"image of {w}x{h} (after {preprocess}) is smaller than crop_size {crop_size}")
    x = int(rng.integers(0, w - crop_size + 1)) if crop else 0
    y = int(rng.integers(0, h - crop_size + 1)) if crop else 0
    return {"size": (w, h), "crop": (x, y, crop_size) if crop else None, "flip": bool(flip and rng.random() < 0.5)}


def apply_transform(img: Image.Image, params: dict[str, Any], multiple: int = 4) -> Image.Image:
    if img.size != params["size"]:
        img = img.resize(params["size"], Image.BICUBIC)
    if params["crop"] is not None:
        x, y, c = params["crop"]
        img = img.crop((x, y, x + c, y + c))
    elif multiple > 1:  # preprocess none: make the size a multiple the generator accepts, like junyanz
        w, h = img.size
        img = img.resize((max(multiple, round(w / multiple) * multiple), max(multiple, round(h / multiple) * multiple)),
                         Image.BICUBIC)
    if params["flip"]:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    return img


class _Augmented(Dataset):
    def __init__(self, *, preprocess: str = "resize_and_crop", load_size: int = 286, crop_size: int = 256,
                 flip: bool = True) -> None:
        if preprocess not in PREPROCESS:
            raise TrainingError(f"preprocess must be one of {', '.join(PREPROCESS)}, got {preprocess!r}")
        self.preprocess, self.load_size, self.crop_size, self.flip = preprocess, load_size, crop_size, flip

    def params(self, size: tuple[int, int], rng: np.random.Generator) -> dict[str, Any]:
        return transform_params(size, rng, preprocess=self.preprocess, load_size=self.load_size,
                                crop_size=self.crop_size, flip=self.flip)


class AlignedDataset(_Augmented):
    """pix2pix pairs: ``DIR[/train]/*.jpg`` with A|B side by side (2:1 images), ``DIR/A`` + ``DIR/B`` with
    matching names, or two files per stem in one folder (``N-labels.png`` + ``N-photo.png``): ``pair_suffixes``
    ``[A suffix, B suffix]``, or detected when every stem has exactly two files whose suffixes (after the last
    ``-`` or ``_``) are the same two everywhere (A = the alphabetically first, e.g. ``labels`` before ``photo``)."""

    def __init__(self, root: str | Path, *, direction: str = "AtoB", pair_suffixes: Sequence[str] | None = None,
                 **augment: Any) -> None:
        super().__init__(**augment)
        if direction not in ("AtoB", "BtoA"):
            raise TrainingError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")
        self.direction = direction
        root = Path(root)
        if (root / "train").is_dir():
            root = root / "train"
        self.pair_suffixes: tuple[str, str] | None = None
        if (root / "A").is_dir() and (root / "B").is_dir():
            a_files = list_images(root / "A", "paired data A/")
            b_by_stem = {p.stem: p for p in list_images(root / "B", "paired data B/")}
            missing = [p.name for p in a_files if p.stem not in b_by_stem]
            if missing:
                raise TrainingError(f"paired data: {len(missing)} images of {root / 'A'} have no match in "
                                    f"{root / 'B'} (first: {missing[0]})")
            self.pairs: list[tuple[Path, Path | None]] = [(p, b_by_stem[p.stem]) for p in a_files]
        else:
            files = list_images(root, "paired data")
            suffixes = _pair_suffixes(files, pair_suffixes)
            if suffixes is not None:
                self.pair_suffixes = suffixes
                self.pairs = _suffix_pairs(root, files, suffixes)
            else:
                for path in files:
                    _check_side_by_side(path)
                self.pairs = [(p, None) for p in files]
        self.root = root

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        index, rng = item_rng(key)
        a_path, b_path = self.pairs[index]
        if b_path is None:
            ab = load_rgb(a_path)
            w, h = ab.size
            a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w // 2 * 2, h))
        else:
            a, b = load_rgb(a_path), load_rgb(b_path)
            if a.size != b.size:
                b = b.resize(a.size, Image.BICUBIC)
        if self.direction == "BtoA":
            a, b = b, a
        params = self.params(a.size, rng)
        return {"A": to_tensor(apply_transform(a, params)), "B": to_tensor(apply_transform(b, params))}


def _split_suffix(path: Path) -> tuple[str, str] | None:
    """``"12-labels.png"`` -> ``("12", "labels")`` (the last ``-`` or ``_``), or None."""
    stem = path.stem
    cut = max(stem.rfind("-"), stem.rfind("_"))
    if cut <= 0 or cut == len(stem) - 1:
        return None
    return str(path.parent / stem[:cut]), stem[cut + 1:]


def _pair_suffixes(files: Sequence[Path], given: Sequence[str] | None) -> tuple[str, str] | None:
    """The (A, B) file-name suffixes of a one-folder pairing: ``given`` (leading ``-``/``_`` optional), or
    detected (two files per stem, the same two suffixes everywhere), else None (side-by-side images)."""
    if given is not None:
        if isinstance(given, str) or len(given) != 2 or not all(isinstance(x, str) and x.strip("-_") for x in given):
            raise TrainingError(f"option 'pair_suffixes': expected two file-name suffixes like [-labels, -photo], "
                                f"got {given!r}")
        return given[0].lstrip("-_"), given[1].lstrip("-_")
    groups: dict[str, set[str]] = {}
    where: dict[tuple[str, str], Path] = {}
    for path in files:
        split = _split_suffix(path)
        if split is None:
            return None
        groups.setdefault(split[0], set()).add(split[1])
        where[split] = path
    kinds = {frozenset(v) for v in groups.values()}
    names = set().union(*groups.values()) if groups else set()
    complete = [stem for stem, found in groups.items() if len(found) == 2]
    if len(names) == 2 and complete and len(complete) < len(groups) and sum(map(len, groups.values())) == len(files):
        a, b = sorted(names)
        stem, found = next((s, f) for s, f in sorted(groups.items()) if len(f) == 1)
        have = next(iter(found))
        orphan = where[(stem, have)]
        raise TrainingError(f"paired data: {orphan} has no *-{b if have == a else a} partner (the folder pairs "
                            f"*-{a} with *-{b} files; {len(groups) - len(complete)} of {len(groups)} stems have only "
                            "one); add the missing file or move the orphan away")
    if len(kinds) != 1 or len(next(iter(kinds))) != 2 or sum(map(len, groups.values())) != len(files):
        return None
    a, b = sorted(next(iter(kinds)))
    return a, b


def _suffix_pairs(root: Path, files: Sequence[Path], suffixes: tuple[str, str]) -> list[tuple[Path, Path | None]]:
    by_key: dict[tuple[str, str], Path] = {}
    for path in files:
        split = _split_suffix(path)
        if split is not None and split[1] in suffixes:
            by_key[split] = path
    a_stems = sorted(stem for stem, suffix in by_key if suffix == suffixes[0])
    if not a_stems:
        raise TrainingError(f"paired data: no files named *-{suffixes[0]}.* under {root} (pair_suffixes "
                            f"{list(suffixes)})")
    missing = [by_key[(s, suffixes[0])].name for s in a_stems if (s, suffixes[1]) not in by_key]
    if missing:
        raise TrainingError(f"paired data: {len(missing)} *-{suffixes[0]} files under {root} have no *-{suffixes[1]} "
                            f"match (first: {missing[0]})")
    return [(by_key[(s, suffixes[0])], by_key[(s, suffixes[1])]) for s in a_stems]


def _check_side_by_side(path: Path) -> None:
    try:
        with Image.open(path) as img:
            w, h = img.size
    except OSError as exc:
        raise TrainingError(f"cannot read image {path}: {exc}") from None
    if abs(w - 2 * h) > 1:
        raise TrainingError(f"paired data: {path} is {w}x{h}, not an A|B side-by-side pair (2:1); put A and B in "
                            "A/ and B/ folders with the same names, or name them N-SUFFIX1 and N-SUFFIX2 and pass "
                            "pair_suffixes=[-SUFFIX1,-SUFFIX2]")


class UnalignedDataset(_Augmented):
    """CycleGAN domains: ``DIR/trainA`` and ``DIR/trainB`` (or ``DIR/A``, ``DIR/B``); B is drawn at random."""

    def __init__(self, root: str | Path, *, direction: str = "AtoB", **augment: Any) -> None:
        super().__init__(**augment)
        root = Path(root)
        names = ("trainA", "trainB") if (root / "trainA").is_dir() else ("A", "B")
        if not all((root / n).is_dir() for n in names):
            raise TrainingError(f"unpaired data: {root} needs trainA/ and trainB/ folders (CycleGAN layout)")
        self.a_files = list_images(root / names[0], f"unpaired data {names[0]}/")
        self.b_files = list_images(root / names[1], f"unpaired data {names[1]}/")
        if direction == "BtoA":
            self.a_files, self.b_files = self.b_files, self.a_files
        elif direction != "AtoB":
            raise TrainingError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}")

    def __len__(self) -> int:
        return max(len(self.a_files), len(self.b_files))

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        index, rng = item_rng(key)
        a = load_rgb(self.a_files[index % len(self.a_files)])
        b = load_rgb(self.b_files[int(rng.integers(0, len(self.b_files)))])
        return {"A": to_tensor(apply_transform(a, self.params(a.size, rng))),
                "B": to_tensor(apply_transform(b, self.params(b.size, rng)))}


class ImageFolderDataset(_Augmented):
    """Any folder of photos (recursively): one augmented RGB image per item under key ``image``."""

    def __init__(self, root: str | Path, *, what: str = "images", **augment: Any) -> None:
        super().__init__(**augment)
        self.files = list_images(root, what)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: Any) -> dict[str, torch.Tensor]:
        index, rng = item_rng(key)
        img = load_rgb(self.files[index])
        return {"image": to_tensor(apply_transform(img, self.params(img.size, rng)))}


def stack_images(rows: Sequence[torch.Tensor], size: tuple[int, int] | None = None) -> torch.Tensor:
    """Rows of (N, C, H, W) images in [0, 1] -> one (3, rows*H, N*W) grid (nearest-resized, gray -> RGB)."""

    size = size or (max(r.shape[-2] for r in rows), max(r.shape[-1] for r in rows))
    out = []
    for row in rows:
        row = row.detach().float().cpu().clamp(0, 1)
        if row.shape[1] == 1:
            row = row.expand(-1, 3, -1, -1)
        if tuple(row.shape[-2:]) != tuple(size):
            row = F.interpolate(row, size=size, mode="nearest")
        out.append(torch.cat(list(row), dim=-1))
    return torch.cat(out, dim=-2)


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    return max(0, math.floor(num_samples / batch_size))
