"""Image files: which files are images, finding them in folders, reading and writing them losslessly.

Owns the zoo's one list of image suffixes and its one folder walker (:mod:`zoo.images.files`, no torch)
and the conversion between user images and tensors (:mod:`zoo.images.io`, imported on first use).
May import only ``zoo.files`` and ``zoo.errors``.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.images.files import IMAGE_SUFFIXES, is_image_file, iter_images, list_images

#: names of :mod:`zoo.images.io`, which imports torch, PIL and numpy when first used
_IO_NAMES = ("ImageInfo", "ImageLike", "DEFAULT_QUALITY", "read_image", "read_image_with_info", "image_size",
             "pil_to_array", "array_to_tensor", "to_tensor", "quantize", "from_tensor", "save_image")

__all__ = ["IMAGE_SUFFIXES", "is_image_file", "iter_images", "list_images", *_IO_NAMES]


def __getattr__(name: str) -> Any:
    if name in _IO_NAMES:
        return getattr(importlib.import_module("zoo.images.io"), name)
    raise AttributeError(f"module 'zoo.images' has no attribute {name!r}")
