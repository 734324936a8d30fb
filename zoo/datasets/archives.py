"""Unpacking downloaded dataset archives safely: nothing lands outside the dataset folder, nothing half-done."""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from zoo.errors import DatasetError, UnsafeArchiveError


def _safe_member_path(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (path.parts and ":" in path.parts[0]) or ".." in path.parts:
        raise UnsafeArchiveError(f"archive {archive}: member {name!r} would be written outside the dataset folder")
    return path


def unpack_archive(archive: Path, dest: Path, *, root: str = "") -> Path:
    """Unpack a zip/tar into ``dest`` atomically (temp folder + rename), refusing unsafe members.

    Refused: absolute paths, ``..`` components, symlinks and hard links, device files and FIFOs. With
    ``root``, only that folder of the archive becomes ``dest``; without it, an archive whose members all sit
    in one top folder is unpacked from inside that folder.
    """
    archive, dest = Path(archive), Path(dest)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.partial")
    tmp.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, tmp)
        elif tarfile.is_tarfile(archive):
            _unpack_tar(archive, tmp)
        else:
            raise DatasetError(f"{archive} is neither a zip nor a tar archive")
        top = tmp
        if root:
            top = tmp.joinpath(*_safe_member_path(root, archive).parts)
            if not top.is_dir():
                raise DatasetError(f"archive {archive} has no folder {root!r}")
        else:
            entries = [p for p in tmp.iterdir() if p.name != "__MACOSX"]
            if len(entries) == 1 and entries[0].is_dir():
                top = entries[0]
        os.replace(top, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _unpack_zip(archive: Path, out: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            rel = _safe_member_path(info.filename, archive)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded (a plain file or folder)
            if kind == stat.S_IFLNK:
                raise UnsafeArchiveError(f"archive {archive}: member {info.filename!r} is a symbolic link")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise UnsafeArchiveError(f"archive {archive}: member {info.filename!r} is not a regular file")
            target = out.joinpath(*rel.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def _unpack_tar(archive: Path, out: Path) -> None:
    with tarfile.open(archive) as tf:
        for member in tf:
            rel = _safe_member_path(member.name, archive)
            if member.issym() or member.islnk():
                raise UnsafeArchiveError(f"archive {archive}: member {member.name!r} is a link "
                                         f"(to {member.linkname!r})")
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(f"archive {archive}: member {member.name!r} is a device file, FIFO or "
                                         f"other special file")
            target = out.joinpath(*rel.parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            assert src is not None
            with src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
