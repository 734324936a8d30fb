"""Files on disk: the zoo's home folder, atomic replacement and content digests.

Every writer in the zoo goes through :func:`atomic_path`, so an interrupted run never leaves a
half-written weights file, report or checkpoint behind. Imports nothing from the zoo but its errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path
from typing import Iterator

from zoo.errors import OptionError

CHUNK = 1 << 20


def zoo_home() -> Path:
    """The zoo's cache root: ``$ZOO_HOME``, else ``$XDG_CACHE_HOME/zoo``, else ``~/.cache/zoo``.

    A root that exists but is not a folder is an :class:`OptionError` naming the variable, instead of a
    ``NotADirectoryError`` deep in whatever first writes below it."""
    if os.environ.get("ZOO_HOME"):
        home, variable = Path(os.environ["ZOO_HOME"]).expanduser(), "ZOO_HOME"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        home, variable = Path(xdg) / "zoo", "XDG_CACHE_HOME" if os.environ.get("XDG_CACHE_HOME") else "HOME"
    if home.exists() and not home.is_dir():
        raise OptionError(f"the zoo's cache folder {home} (from ${variable}) is a file, not a folder: point "
                          "ZOO_HOME at a folder (it is created when missing)")
    return home


def blocking_file(path: str | os.PathLike[str], *, include_self: bool = False) -> Path | None:
    """The file that keeps ``path`` from being made: its nearest existing ancestor (``path`` itself too with
    ``include_self``) when that is not a folder; None when nothing is in the way. Checked before any work, so a
    ``notes.txt/out.json`` fails in one line rather than in ``mkdir`` after it."""
    path = Path(path)
    for candidate in ((path,) if include_self else ()) + tuple(path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; it replaces ``dest`` only if the block succeeds.

    The file gets the permissions a plain ``open()`` would give it (``0o666 & ~umask``), whatever
    the writer used for the temporary file (safetensors and ``mkstemp`` write 0600).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
