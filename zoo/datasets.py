"""Evaluation datasets: from a registered name to a validated local folder.

Plugins register :class:`zoo.components.Dataset` records (``zoo_register_datasets``). A name resolves,
first match wins, to:

1. an explicit folder (``data_dir=`` / ``--data NAME=DIR``);
2. ``ZOO_DATA``: a comma-separated list of ``NAME=DIR`` items (that dataset is in DIR) and/or plain ``DIR``
   items (a root that holds datasets: ``DIR/NAME``, or one level deeper, ``DIR/*/NAME``; the dataset's
   ``options["folder"]`` is tried beside its name, case-insensitively). CI sets ``ZOO_DATA=../shared/data``;
3. the zoo cache, ``$ZOO_HOME/data/NAME``;
4. the dataset's official download, fetched through the weights hub (atomic, locked, sha256 when known,
   ``ZOO_OFFLINE=1`` honoured) and unpacked safely into ``$ZOO_HOME/data/NAME``;
5. ``package://dist/path`` sources: files shipped inside an installed package (the embedded default set).

Layouts (``Dataset.layout``), checked before any model runs, with one-line errors naming the folder:

* ``sr-pairs``: ``image_SRF_{s}/*_HR.png`` with the matching ``*_LR.png`` per scale s (SelfExSR);
* ``paired``: ``{split}/*.jpg`` side-by-side A|B images (pix2pix), or ``options.pairing = "suffix"`` with
  ``NAME{a_suffix}.*`` / ``NAME{b_suffix}.*`` files in one folder;
* ``unpaired``: ``trainA``, ``trainB``, ``testA``, ``testB`` folders (CycleGAN);
* ``images``: a folder of images.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import stat
import tarfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping, Sequence

from .components import DataSource, Dataset
from .errors import UnknownNameError, WeightsUnavailableError, ZooError

LAYOUTS = ("sr-pairs", "paired", "unpaired", "images")
IMAGE_SUFFIXES = (".bmp", ".jpg", ".jpeg", ".png", ".ppm", ".tif", ".tiff", ".webp")


class DatasetError(ZooError, ValueError):
    """A dataset name, override or folder that cannot be used; the message names it and what was expected."""


class DatasetUnavailableError(DatasetError):
    """The dataset is neither local nor downloadable here; the message names the archive, URL and where to seed it."""


class UnsafeArchiveError(DatasetError):
    """An archive member would land outside the dataset folder, or is a link or device file."""


# -- registry ------------------------------------------------------------------------------------
def registered() -> dict[str, Dataset]:
    from .plugins import components

    return {name: item.record for name, item in components("dataset").items()}


def get_dataset(name: str) -> Dataset:
    """The registered record (names match case-insensitively)."""
    table = registered()
    if name in table:
        return table[name]
    folded = {k.lower(): v for k, v in table.items()}
    if name.lower() in folded:
        return folded[name.lower()]
    raise UnknownNameError(f"no dataset named {name!r} is registered (known: {', '.join(sorted(table)) or 'none'})")


def check_data_name(name: str, *, what: str = "--data") -> None:
    """A ``NAME=DIR`` item's NAME must be a registered dataset (or its folder name); else one line listing them."""
    table = registered()
    keys = {key for record in table.values() for key in _keys(record)}
    if name.lower() not in keys:
        raise DatasetError(f"{what}: unknown dataset {name!r} (known: {', '.join(sorted(table)) or 'none'})")


def data_home() -> Path:
    from .hub import zoo_home

    return zoo_home() / "data"


# -- overrides -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataOverrides:
    """Local copies: ``named`` (dataset -> folder) and ``roots`` (folders that hold datasets)."""

    named: Mapping[str, Path]
    roots: tuple[Path, ...] = ()

    @classmethod
    def parse(cls, items: str | Sequence[str] | None, *, what: str = "--data") -> "DataOverrides":
        """``"set5=/d/Set5,/data"`` or ``["set5=/d/Set5", "/data"]`` -> overrides; bad items raise naming them."""
        if items is None:
            return cls({})
        parts = [p.strip() for item in ([items] if isinstance(items, str) else items) for p in str(item).split(",")]
        named: dict[str, Path] = {}
        roots: list[Path] = []
        for part in filter(None, parts):
            name, sep, folder = part.partition("=")
            if sep:
                if not name.strip() or not folder.strip():
                    raise DatasetError(f"{what}: {part!r} is not NAME=DIR")
                check_data_name(name.strip(), what=what)
                named[name.strip().lower()] = Path(folder.strip()).expanduser()
            else:
                roots.append(Path(part).expanduser())
        return cls(named, tuple(roots))

    @classmethod
    def from_env(cls) -> "DataOverrides":
        return cls.parse(os.environ.get("ZOO_DATA"), what="ZOO_DATA")

    def find(self, record: Dataset) -> tuple[Path, str] | None:
        """The folder these overrides give for ``record``, and a label saying which override it was."""
        for key in _keys(record):
            if key in self.named:
                return self.named[key], f"{key}={self.named[key]}"
        for root in self.roots:
            hit = _find_under(root, _keys(record))
            if hit is not None:
                return hit, f"root {root}"
        return None


def _keys(record: Dataset) -> list[str]:
    keys = [record.name.lower()]
    folder = record.options.get("folder")
    if folder and str(folder).lower() not in keys:
        keys.append(str(folder).lower())
    return keys


def _find_under(root: Path, keys: Sequence[str]) -> Path | None:
    """``root/KEY`` or ``root/*/KEY`` (case-insensitive), the first that is a folder."""
    if not root.is_dir():
        return None
    levels = [root] + sorted(p for p in root.iterdir() if p.is_dir())
    for key in keys:
        for parent in levels:
            with contextlib.suppress(OSError):
                for child in sorted(parent.iterdir()):
                    if child.is_dir() and child.name.lower() == key:
                        return child
    return None


# -- resolution -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalDataset:
    """A dataset on disk, validated against its layout. ``files`` is set for package-file datasets."""

    record: Dataset
    root: Path | None
    origin: str
    files: tuple[Path, ...] = ()

    @property
    def name(self) -> str:
        return self.record.name

    def describe(self) -> str:
        where = self.root if self.root is not None else f"{len(self.files)} packaged files"
        return f"{self.name} ({self.record.layout}) at {where} [{self.origin}]"

    # layout accessors ---------------------------------------------------------------------------
    def images(self, split: str | None = None) -> list[Path]:
        if self.root is None:
            return list(self.files)
        folder = self.root / split if split and (self.root / split).is_dir() else self.root
        return list_images(folder, self.name)

    def sr_pairs(self, scale: int) -> list[tuple[str, Path, Path]]:
        """(name, LR file, HR file) for one scale of an ``sr-pairs`` dataset."""
        return _sr_pairs(self.root, scale, self.record)  # type: ignore[arg-type]

    def pairs(self, split: str = "test") -> list[tuple[str, Path, Path | None]]:
        """(name, A file, B file) of a ``paired`` dataset; for side-by-side images B is None (split on read)."""
        return _paired(self.root, split, self.record)  # type: ignore[arg-type]

    def domain(self, split: str, side: str) -> list[Path]:
        """Images of ``{split}{side}`` (``testA``...) of an ``unpaired`` dataset."""
        folder = self.root / f"{split}{side}"  # type: ignore[operator]
        return list_images(folder, self.name)


def list_images(folder: Path, dataset: str = "") -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"dataset {dataset!r}: folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"dataset {dataset!r}: no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def resolve_dataset(name: str, *, data_dir: str | os.PathLike[str] | None = None,
                    data: str | Sequence[str] | DataOverrides | None = None, offline: bool | None = None,
                    progress: bool = True, scales: Iterable[int] | None = None) -> LocalDataset:
    """A validated local copy of dataset ``name``, found in the order of the module docstring.

    ``scales``: the SR scales the caller needs (an x3 model checks ``image_SRF_3``); default the record's last.
    """
    record = get_dataset(name)
    if data_dir is not None:
        return validate(LocalDataset(record, Path(data_dir).expanduser(), "data_dir"), scales=scales)
    overrides = data if isinstance(data, DataOverrides) else DataOverrides.parse(data)
    for source_name, found in (("--data", overrides.find(record)), ("ZOO_DATA", DataOverrides.from_env().find(record))):
        if found is not None:
            return validate(LocalDataset(record, found[0], f"{source_name} {found[1]}"), scales=scales)
    cached = data_home() / record.name
    if cached.is_dir():
        return validate(LocalDataset(record, cached, "cache"), scales=scales)
    packaged = [s for s in record.sources if s.url.startswith("package://")]
    if packaged:
        files = tuple(f for f in (package_file(s.url) for s in packaged) if f is not None)
        if not files:
            raise DatasetError(f"dataset {record.name!r}: none of its packaged files is installed "
                               f"({', '.join(s.url for s in packaged)})")
        return LocalDataset(record, None, "package", files)
    if not record.sources:
        raise DatasetError(f"dataset {record.name!r} has no download; put a copy at {cached} or pass "
                           f"--data {record.name}=DIR (or ZOO_DATA)")
    return validate(fetch_dataset(record, offline=offline, progress=progress), scales=scales)


def package_file(url: str) -> Path | None:
    """``package://pkg/sub/path`` -> the file inside the installed package ``pkg`` (not imported), or None."""
    package, _, relative = url[len("package://"):].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / relative
        if candidate.is_file():
            return candidate
    return None


# -- download and safe unpacking -----------------------------------------------------------------------
def fetch_dataset(record: Dataset, *, offline: bool | None = None, progress: bool = True) -> LocalDataset:
    """Download the first reachable source through the hub and unpack it into ``$ZOO_HOME/data/NAME``."""
    from filelock import FileLock

    from .hub import cache_path_for, fetch_file

    dest = data_home() / record.name
    if all(Path(s.file_name or s.url.split("?", 1)[0]).suffix.lower() in IMAGE_SUFFIXES for s in record.sources):
        return _fetch_image_files(record, dest, offline=offline, progress=progress)
    problems = []
    for source in record.sources:
        try:
            archive = fetch_file(source.url, sha256=source.sha256, file_name=source.file_name, offline=offline,
                                 progress=progress)
        except WeightsUnavailableError as exc:
            reason = str(exc).splitlines()[0].split(" is not available: ", 1)[-1].rstrip(".")
            file_name = source.file_name or source.url.rstrip("/").rsplit("/", 1)[-1]
            problems.append(f"{file_name} from {source.url} ({reason}; or put the archive at "
                            f"{cache_path_for(source.url, source.file_name)})")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(dest.parent / f".{record.name}.lock")):
            if not dest.is_dir():
                unpack_archive(archive, dest, root=source.root)
        return LocalDataset(record, dest, f"download {source.url}")
    raise DatasetUnavailableError(f"dataset {record.name!r} is not here: {'; '.join(problems)}; or seed the "
                                  f"unpacked folder at {dest}, or pass --data {record.name}=DIR (or ZOO_DATA)")


def _fetch_image_files(record: Dataset, dest: Path, *, offline: bool | None, progress: bool) -> LocalDataset:
    """A dataset made of single image URLs: fetch each through the hub, then publish the folder atomically."""
    from filelock import FileLock

    from .hub import cache_path_for, fetch_file

    files = []
    for source in record.sources:
        try:
            files.append(fetch_file(source.url, sha256=source.sha256, file_name=source.file_name, offline=offline,
                                    progress=progress))
        except WeightsUnavailableError as exc:
            reason = str(exc).splitlines()[0].split(" is not available: ", 1)[-1].rstrip(".")
            name = source.file_name or source.url.rsplit("/", 1)[-1]
            raise DatasetUnavailableError(
                f"dataset {record.name!r} is not here: {name} from {source.url} ({reason}; or put the file at "
                f"{cache_path_for(source.url, source.file_name)}); or seed the folder at {dest}, or pass "
                f"--data {record.name}=DIR (or ZOO_DATA)") from exc
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{record.name}.lock")):
        if not dest.is_dir():
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.partial")
            tmp.mkdir()
            try:
                for path in files:
                    shutil.copyfile(path, tmp / path.name)
                os.replace(tmp, dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return LocalDataset(record, dest, "download")


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


# -- layout validation ------------------------------------------------------------------------------
def _scale_dir(record: Dataset, scale: int) -> str:
    return str(record.options.get("scale_dir", "image_SRF_{scale}")).format(scale=scale)


def _sr_pairs(root: Path, scale: int, record: Dataset) -> list[tuple[str, Path, Path]]:
    hr_tag, lr_tag = record.options.get("hr_suffix", "_HR"), record.options.get("lr_suffix", "_LR")
    folder = root / _scale_dir(record, scale)
    expected = f"{_scale_dir(record, scale)}/img_XXX_SRF_{scale}{hr_tag}.png with a matching {lr_tag} file (SelfExSR layout)"
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


def _paired(root: Path, split: str, record: Dataset) -> list[tuple[str, Path, Path | None]]:
    if record.options.get("pairing", "side-by-side") == "suffix":
        a_tag, b_tag = record.options.get("a_suffix", "-photo"), record.options.get("b_suffix", "-labels")
        folder = root / split if (root / split).is_dir() else root
        files = {p.stem: p for p in list_images(folder, record.name)}
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
    return [(p.stem, p, None) for p in list_images(folder, record.name)]


def validate(local: LocalDataset, *, scales: Iterable[int] | None = None) -> LocalDataset:
    """Check ``local`` against its layout; a mismatch raises one line naming the folder and what was expected."""
    record, root = local.record, local.root
    if record.layout not in LAYOUTS:
        raise DatasetError(f"dataset {record.name!r} has layout {record.layout!r}; expected one of {', '.join(LAYOUTS)}")
    if root is None:
        return local
    if not root.is_dir():
        raise DatasetError(f"dataset {record.name!r}: folder {root} ({local.origin}) does not exist")
    if record.layout == "sr-pairs":
        for scale in scales or record.options.get("scales", (4,))[-1:]:
            _sr_pairs(root, int(scale), record)
    elif record.layout == "paired":
        _paired(root, str(record.options.get("split", "test")), record)
    elif record.layout == "unpaired":
        missing = [f for f in ("testA", "testB") if not (root / f).is_dir()]
        if missing:
            have = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise DatasetError(f"dataset {record.name!r} at {root}: expected folders trainA, trainB, testA, testB "
                               f"(CycleGAN layout); missing {', '.join(missing)} (has: {', '.join(have) or 'none'})")
    else:
        list_images(root, record.name)
    return local


def source(url: str, *, sha256: str | None = None, root: str = "", file_name: str | None = None) -> DataSource:
    """Shorthand for plugins: a :class:`DataSource`."""
    return DataSource(url=url, sha256=sha256, root=root, file_name=file_name)
