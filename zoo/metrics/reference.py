"""Precomputed real-image FID statistics: npz files (pytorch-fid compatible ``mu``/``sigma``) with metadata.

The zoo cache keeps them per dataset name, image size, flavour, feature dims, precision and the
Inception weights' sha256 (``$ZOO_HOME/metrics/fid-stats/``), written atomically. A fingerprint of
the folder (names and byte sizes) detects a changed dataset behind a cached file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from zoo.errors import ZooError
from zoo.files import atomic_path
from zoo.files import zoo_home

META_KEYS = ("flavour", "dims", "precision", "weights_sha256")


class StatsMismatchError(ZooError, ValueError):
    """Reference statistics made with another flavour, dims or Inception weights than the metric."""


@dataclass(frozen=True)
class ReferenceStats:
    mu: np.ndarray
    sigma: np.ndarray
    count: int
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "statistics"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write an npz atomically (``mu``, ``sigma`` as pytorch-fid reads them, plus ``n`` and ``meta`` JSON)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"statistics files end in .npz, got {path}")
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, mu=self.mu.astype(np.float64), sigma=self.sigma.astype(np.float64),
                         n=np.int64(self.count), meta=np.array(json.dumps(dict(self.meta), sort_keys=True)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "ReferenceStats":
        path = Path(path)
        if not path.is_file():
            raise ZooError(f"statistics file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                mu, sigma = np.asarray(data["mu"], np.float64), np.asarray(data["sigma"], np.float64)
                count = int(data["n"]) if "n" in data.files else 0
                meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
        except (KeyError, ValueError, OSError) as exc:
            raise ZooError(f"{path} is not an FID statistics npz with 'mu' and 'sigma' ({exc})") from exc
        if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
            raise ZooError(f"{path}: mu has shape {mu.shape} and sigma {sigma.shape}; expected (d,) and (d, d)")
        return cls(mu, sigma, count, meta, source=str(path))

    def check_compatible(self, extractor_info: Mapping[str, Any]) -> None:
        """Raise when the statistics were made differently; files without metadata only get a dims check."""
        if self.mu.shape[0] != extractor_info["dims"]:
            raise StatsMismatchError(f"{self.source} has {self.mu.shape[0]}-d statistics, the metric uses "
                                     f"{extractor_info['dims']}-d features")
        for key in META_KEYS:
            ours, theirs = extractor_info.get(key), self.meta.get(key)
            if theirs is not None and ours is not None and ours != theirs:
                raise StatsMismatchError(f"{self.source} was made with {key}={theirs!r}, the metric uses {ours!r}; "
                                         f"FID values from different {key}s are not comparable")


def stats_dir() -> Path:
    return zoo_home() / "metrics" / "fid-stats"


def cache_path(dataset: str, size: str, info: Mapping[str, Any]) -> Path:
    """``<dataset>_<size>_<flavour>_d<dims>[_<precision>]_<sha8>.npz`` under :func:`stats_dir`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip("-")
    if not safe:
        raise ValueError(f"dataset name {dataset!r} has no usable characters")
    sha = (info.get("weights_sha256") or "unhashed")[:8]
    precision = "" if info.get("precision", "fp32") == "fp32" else f"_{info['precision']}"
    return stats_dir() / f"{safe}_{size}_{info['flavour']}_d{info['dims']}{precision}_{sha}.npz"


def cached_stats(path: Path, fingerprint: str) -> ReferenceStats | None:
    """The cached statistics at ``path`` if they exist and were made from the same files."""
    if not path.is_file():
        return None
    stats = ReferenceStats.load(path)
    return stats if stats.meta.get("fingerprint") == fingerprint else None
