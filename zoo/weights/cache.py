"""The weights cache as a whole: what is in it, whether each file still has its catalog digest, removing files.

``zoo cache ls | verify | rm`` print what these functions return.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from zoo.errors import ZooError
from zoo.files import sha256_of
from zoo.registry.manager import get_manager
from zoo.weights.hub import ChecksumMismatchError, cached_weights, digest_files_for, verify_spec, weights_dir


def cached_files(root: Path | None = None) -> list[Path]:
    """Every finished file under the weights cache (no locks, partial downloads or hidden files), sorted."""
    root = weights_dir() if root is None else root
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith((".lock", ".partial"))
                  and not p.name.startswith("."))


@dataclass(frozen=True)
class CacheCheck:
    """One cached file checked against its catalog digest (``entry`` None: no catalog entry knows its hash)."""

    path: Path | None
    digest: str
    state: str  # "ok", "MISMATCH: ...", "unreadable: ...", "no known hash"
    entry: str | None = None

    @property
    def bad(self) -> bool:
        return self.state.startswith(("MISMATCH", "unreadable"))


def verify_cache(root: Path | None = None) -> Iterator[CacheCheck]:
    """Re-hash every cached file the catalog has a digest for (plugin sources included), then list the rest."""
    root = weights_dir() if root is None else root
    covered: set[Path] = set()
    for entry in get_manager().catalog:
        for spec in entry.weights:
            if not spec.sha256 or spec.member is not None:
                continue
            hit = None
            try:
                hit = cached_weights(spec, entry)
                if hit is None or hit.resolve() in covered:
                    continue
                parts = digest_files_for(spec, hit)
                covered.update(p.resolve() for p in [hit, *parts])
                check = CacheCheck(hit, verify_spec(spec, hit, entry, force=True), "ok", entry.name)
            except ChecksumMismatchError as exc:
                check = CacheCheck(hit, "-", f"MISMATCH: {exc}", entry.name)
            except ZooError as exc:
                check = CacheCheck(hit, "-", f"unreadable: {exc}", entry.name)
            yield check
    for path in cached_files(root):
        if path.resolve() not in covered:
            yield CacheCheck(path, sha256_of(path), "no known hash")


def matching_files(patterns: Sequence[str], root: Path | None = None) -> list[Path]:
    """Cached files whose path relative to the cache contains one of ``patterns`` or matches it as a glob."""
    root = weights_dir() if root is None else root

    def matches(path: Path, pattern: str) -> bool:
        rel = path.relative_to(root).as_posix()
        return pattern in rel or fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, f"*{pattern}*")

    return [p for p in cached_files(root) if any(matches(p, t) for t in patterns)]
