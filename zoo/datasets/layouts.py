"""The folder layouts a dataset can have, checked before any model runs, with one-line errors naming the folder.

* ``sr-pairs``: ``image_SRF_{s}/*_HR.png`` with the matching ``*_LR.png`` per scale s (SelfExSR);
* ``paired``: ``{split}/*.jpg`` side-by-side A|B images (pix2pix), or ``options.pairing = "suffix"`` with
  ``NAME{a_suffix}.*`` / ``NAME{b_suffix}.*`` files in one folder;
* ``unpaired``: ``trainA``, ``trainB``, ``testA``, ``testB`` folders (CycleGAN);
* ``images``: a folder of images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from zoo.errors import DatasetError
from zoo.images.files import IMAGE_SUFFIXES
from zoo.images.files import list_images as find_images
from zoo.registry.records import Dataset

LAYOUTS = ("sr-pairs", "paired", "unpaired", "images")


def dataset_images(folder: Path, dataset: str = "") -> list[Path]:
    """The images directly in ``folder``; a :class:`DatasetError` naming the dataset when there is none."""
    return find_images(folder, what=f"dataset {dataset!r}", error=DatasetError)


# -- layout validation ------------------------------------------------------------------------------
def scale_dir(record: Dataset, scale: int) -> str:
    return str(record.options.get("scale_dir", "image_SRF_{scale}")).format(scale=scale)


def sr_pairs(root: Path, scale: int, record: Dataset) -> list[tuple[str, Path, Path]]:
    hr_tag, lr_tag = record.options.get("hr_suffix", "_HR"), record.options.get("lr_suffix", "_LR")
    folder = root / scale_dir(record, scale)
    expected = f"{scale_dir(record, scale)}/img_XXX_SRF_{scale}{hr_tag}.png with a matching {lr_tag} file (SelfExSR layout)"
    if not folder.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir())[:6] if root.is_dir() else []
        raise DatasetError(f"dataset {record.name!r} at {root}: expected {expected}; no folder "
                           f"{folder.name} (has: {', '.join(have) or 'nothing'})")
    out = []
    missing_lr = []
    for hr in sorted(folder.iterdir()):
        if hr.suffix.lower() in IMAGE_SUFFIXES and hr.stem.endswith(hr_tag):
            stem = hr.stem[: -len(hr_tag)]
            lr = next((hr.with_name(stem + lr_tag + s) for s in (hr.suffix, *IMAGE_SUFFIXES)
                       if hr.with_name(stem + lr_tag + s).is_file()), None)
            if lr is None:
                missing_lr.append(f"{hr.name} has no matching {stem}{lr_tag}{hr.suffix}")
                continue
            out.append((stem, lr, hr))
    if missing_lr:
        raise DatasetError(f"dataset {record.name!r} at {root}: {folder.name}/ has {hr_tag} images but no matching "
                           f"{lr_tag} file for {len(missing_lr)} of them ({missing_lr[0]}); expected {expected}")
    if not out:
        raise DatasetError(f"dataset {record.name!r} at {root}: expected {expected}; found no *{hr_tag} images in {folder}")
    return out


def paired_files(root: Path, split: str, record: Dataset) -> list[tuple[str, Path, Path | None]]:
    if record.options.get("pairing", "side-by-side") == "suffix":
        a_tag, b_tag = record.options.get("a_suffix", "-photo"), record.options.get("b_suffix", "-labels")
        folder = root / split if (root / split).is_dir() else root
        files = {p.stem: p for p in dataset_images(folder, record.name)}
        pairs = [(stem[: -len(a_tag)], path, files.get(stem[: -len(a_tag)] + b_tag))
                 for stem, path in files.items() if stem.endswith(a_tag)]
        missing = [name for name, _, b in pairs if b is None]
        if not pairs or missing:
            raise DatasetError(f"dataset {record.name!r} at {folder}: expected pairs NAME{a_tag}.png / NAME{b_tag}.png"
                               + (f"; {missing[0]}{a_tag} has no {b_tag} partner" if missing else "; found none"))
        return sorted(pairs)
    folder = root / split
    if not folder.is_dir():
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise DatasetError(f"dataset {record.name!r} at {root}: expected a {split}/ folder of side-by-side A|B images "
                           f"(pix2pix layout); has: {', '.join(have) or 'no folders'}")
    return [(p.stem, p, None) for p in dataset_images(folder, record.name)]


def check_layout(record: Dataset, root: Path | None, origin: str, *, scales: Iterable[int] | None = None) -> None:
    """Check the folder ``root`` against ``record.layout``; a mismatch raises one line naming the folder and what
    was expected. ``root`` None (packaged files) has nothing to check."""
    if record.layout not in LAYOUTS:
        raise DatasetError(f"dataset {record.name!r} has layout {record.layout!r}; expected one of {', '.join(LAYOUTS)}")
    if root is None:
        return
    if not root.is_dir():
        raise DatasetError(f"dataset {record.name!r}: folder {root} ({origin}) does not exist")
    if record.layout == "sr-pairs":
        for scale in scales or record.options.get("scales", (4,))[-1:]:
            sr_pairs(root, int(scale), record)
    elif record.layout == "paired":
        paired_files(root, str(record.options.get("split", "test")), record)
    elif record.layout == "unpaired":
        missing = [f for f in ("testA", "testB") if not (root / f).is_dir()]
        if missing:
            have = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise DatasetError(f"dataset {record.name!r} at {root}: expected folders trainA, trainB, testA, testB "
                               f"(CycleGAN layout); missing {', '.join(missing)} (has: {', '.join(have) or 'none'})")
    else:
        dataset_images(root, record.name)
