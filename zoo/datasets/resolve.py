"""From a registered dataset name to a validated local folder.

Plugins register :class:`zoo.registry.records.Dataset` records (``zoo_register_datasets``). A name resolves,
first match wins, to:

1. an explicit folder (``data_dir=`` / ``--data NAME=DIR``);
2. ``ZOO_DATA``: a comma-separated list of ``NAME=DIR`` items (that dataset is in DIR) and/or plain ``DIR``
   items (a root that holds datasets: ``DIR/NAME``, or one level deeper, ``DIR/*/NAME``; the dataset's
   ``options["folder"]`` is tried beside its name, case-insensitively). CI sets ``ZOO_DATA=../shared/data``;
3. a source that is a local folder (``DataSource(url="file:///data/mine")`` or a plain path), used in place;
4. the zoo cache, ``$ZOO_HOME/data/NAME``;
5. ``package://dist/path`` sources: files shipped inside an installed package (the embedded default set);
6. the dataset's official download, fetched through the weights hub (atomic, locked, sha256 when known,
   ``ZOO_OFFLINE=1`` honoured) and unpacked safely into ``$ZOO_HOME/data/NAME``; a local archive (``file://``)
   is unpacked the same way.

Each copy is checked against the record's layout (:mod:`zoo.datasets.layouts`) before any model runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from filelock import FileLock

from zoo.datasets.archives import unpack_archive
from zoo.datasets.layouts import check_layout, dataset_images, paired_files, sr_pairs
from zoo.errors import DatasetError, DatasetUnavailableError, UnknownNameError, WeightsUnavailableError
from zoo.files import zoo_home
from zoo.images.files import IMAGE_SUFFIXES
from zoo.registry.manager import components
from zoo.registry.records import Dataset, DataSource
from zoo.weights.hub import cache_path_for, fetch_file, local_path


# -- registry ------------------------------------------------------------------------------------
def registered() -> dict[str, Dataset]:
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
        return dataset_images(folder, self.name)

    def sr_pairs(self, scale: int) -> list[tuple[str, Path, Path]]:
        """(name, LR file, HR file) for one scale of an ``sr-pairs`` dataset."""
        return sr_pairs(self.root, scale, self.record)  # type: ignore[arg-type]

    def pairs(self, split: str = "test") -> list[tuple[str, Path, Path | None]]:
        """(name, A file, B file) of a ``paired`` dataset; for side-by-side images B is None (split on read)."""
        return paired_files(self.root, split, self.record)  # type: ignore[arg-type]

    def domain(self, split: str, side: str) -> list[Path]:
        """Images of ``{split}{side}`` (``testA``...) of an ``unpaired`` dataset."""
        folder = self.root / f"{split}{side}"  # type: ignore[operator]
        return dataset_images(folder, self.name)


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
    for src in record.sources:
        folder = _local_folder(src)
        if folder is not None:
            return validate(LocalDataset(record, folder, f"local folder {src.url}"), scales=scales)
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


def _local_folder(src: DataSource) -> Path | None:
    """The folder a local source names (``file://`` URL or plain path; ``root`` inside it), if it is one."""
    local = local_path(src.url) if not src.url.startswith("package://") else None
    if local is None or not local.is_dir():
        return None
    return local / src.root if src.root else local


def _missing_local(src: DataSource) -> str | None:
    """Why a local source cannot be used (it does not exist), or None (remote, or there)."""
    local = local_path(src.url) if not src.url.startswith("package://") else None
    if local is None or local.exists():
        return None
    return f"its local source {local} does not exist ({src.url})"


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
    dest = data_home() / record.name
    if all(Path(s.file_name or s.url.split("?", 1)[0]).suffix.lower() in IMAGE_SUFFIXES for s in record.sources):
        return _fetch_image_files(record, dest, offline=offline, progress=progress)
    problems = []
    for source in record.sources:
        missing = _missing_local(source)
        if missing:
            problems.append(missing)
            continue
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
    files = []
    for source in record.sources:
        missing = _missing_local(source)
        if missing:
            raise DatasetUnavailableError(f"dataset {record.name!r} is not here: {missing}; seed the folder at "
                                          f"{dest}, or pass --data {record.name}=DIR (or ZOO_DATA)")
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


def validate(local: LocalDataset, *, scales: Iterable[int] | None = None) -> LocalDataset:
    """Check ``local`` against its layout (:func:`zoo.datasets.layouts.check_layout`); returns it."""
    check_layout(local.record, local.root, local.origin, scales=scales)
    return local


def source(url: str, *, sha256: str | None = None, root: str = "", file_name: str | None = None) -> DataSource:
    """Shorthand for plugins: a :class:`DataSource`."""
    return DataSource(url=url, sha256=sha256, root=root, file_name=file_name)
