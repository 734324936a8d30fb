"""Which files are images, and the one folder walker every command uses to find them.

``zoo run``, the metrics, the evaluation datasets and the trainers all pick files with
:data:`IMAGE_SUFFIXES` and :func:`iter_images`, so a file that one command reads is read by all of them.
Hidden files and folders (``.git``, ``.ipynb_checkpoints``) are never images. No torch, no PIL here.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

from zoo.errors import ImageInputError

#: Image file suffixes the zoo reads (lower case; matching ignores case). All are formats PIL decodes.
IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an image suffix (the file's content is not read)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def iter_images(folder: str | os.PathLike[str], *, recursive: bool = True,
                prune: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Image files under ``folder``, folder by folder (names sorted), skipping hidden entries.

    ``recursive=False`` looks at ``folder`` itself only; ``prune(dir)`` returning True skips a sub-folder.
    """
    root = Path(folder)
    for current, dirs, files in os.walk(root):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (prune and prune(here / d)))
        for name in sorted(files):
            if not name.startswith(".") and is_image_file(name):
                yield here / name
        if not recursive:
            return


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False, what: str = "",
                error: type[Exception] = ImageInputError) -> list[Path]:
    """:func:`iter_images` sorted by relative path; ``error`` (naming ``what`` and the folder) when there is no
    image or no folder."""
    root = Path(folder).expanduser()
    label = f"{what}: " if what else ""
    if root.is_file():
        raise error(f"{label}{root} is a file; a folder of images is expected here (put the image in a folder)")
    if not root.is_dir():
        raise error(f"{label}image folder {root} does not exist")
    files = sorted(iter_images(root, recursive=recursive), key=lambda p: p.relative_to(root).as_posix())
    if not files:
        where = "under" if recursive else "in"
        raise error(f"{label}no images ({', '.join(IMAGE_SUFFIXES)}) {where} {root}")
    return files


def bundled_image(name: str) -> Path:
    """A sample image shipped inside the zoo package (``zoo/assets``: the astronaut, HR and its x4 LR)."""
    return Path(str(resources.files("zoo") / "assets" / name))
