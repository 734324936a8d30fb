"""The weights hub: where weight files come from and where they are kept.

Resolution order for ``zoo.load(name, weights=...)`` (see :func:`resolve_weights`):

1. ``weights=`` given explicitly: a local path, an http(s)/file URL, or a plugin URI (``scheme://...``).
2. The cache: the first of the entry's sources whose file is already under ``$ZOO_HOME/weights``.
3. The entry's sources in catalog order: downloads (skipped when offline) and plugin resolvers.

``ZOO_HOME`` (default ``$XDG_CACHE_HOME/zoo``, i.e. ``~/.cache/zoo``) holds the cache; a URL's file is
kept at ``weights/<host>/<path>`` so a user can seed it by hand. ``ZOO_OFFLINE=1`` never touches the
network. Downloads go to a temporary file next to the target, are checked against the sha256 when the
catalog knows it, and are renamed into place atomically under a file lock, so concurrent processes
never see or leave a partial file.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from filelock import FileLock

from zoo.errors import WeightsError, WeightsUnavailableError, ZooError
from zoo.files import CHUNK, atomic_path, sha256_of, zoo_home
from zoo.registry.catalog import WeightSpec
from zoo.registry.manager import components

if TYPE_CHECKING:
    from zoo.registry.catalog import Entry

ENV_HELP = "ZOO_HOME sets the cache folder, ZOO_OFFLINE=1 forbids downloads"


def weights_dir() -> Path:
    return zoo_home() / "weights"


def is_offline(offline: bool | None = None) -> bool:
    if offline is not None:
        return offline
    return os.environ.get("ZOO_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def is_url(text: str) -> bool:
    return urllib.parse.urlsplit(str(text)).scheme in {"http", "https", "file"}


def cache_path_for(url: str, file_name: str | None = None) -> Path:
    """Where the file of ``url`` lives in the cache: ``weights/<host>/<url path>``."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s not in ("", ".", "..")]
    name = file_name or (segments[-1] if segments else "download")
    folder = [parts.netloc.replace(":", "_") or "local", *segments[:-1]]
    return weights_dir().joinpath(*folder, name)


def _lock_for(path: Path) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_name(path.name + ".lock")))


def _progress(total: int | None, label: str, enabled: bool):
    from tqdm.auto import tqdm  # heavy

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                disable=not enabled, file=sys.stderr, leave=False)


def download(url: str, dest: Path, *, sha256: str | None = None, progress: bool = True,
             timeout: float | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically; verify size and sha256. Raises WeightsError/OSError.

    ``sha256`` may be a full digest or a prefix of one (torch.hub file names carry the first 8 digits).
    """
    timeout = timeout or float(os.environ.get("ZOO_DOWNLOAD_TIMEOUT", "30"))
    request = urllib.request.Request(url, headers={"User-Agent": "zoo-weights-hub"})
    with atomic_path(dest) as tmp:
        digest = hashlib.sha256()
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            with _progress(total, dest.name, progress) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise ConnectionError(f"connection closed after {received} of {total} bytes; nothing was cached")
        actual = digest.hexdigest()
        if sha256 and not actual.startswith(sha256.lower()):
            raise WeightsError(f"sha256 mismatch for {url}: expected {sha256}, got {actual}; "
                               f"the file was discarded and {dest} left untouched")
    if sha256:
        remember_verified(dest, [dest], actual)
    return dest


# --- trusting the cache: sha256 checked on first use, remembered by path, size and mtime --------------------
VERIFIED_NAME = "verified-weights.json"  # in $ZOO_HOME, beside weights/


class ChecksumMismatchError(WeightsError):
    """A cached file whose sha256 is not the catalog's: damaged, tampered with, or another file."""


def _verified_file() -> Path:
    return zoo_home() / VERIFIED_NAME


def _fingerprint(files: list[Path]) -> list[list]:
    return [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]


def _read_verified() -> dict[str, dict]:
    try:
        data = json.loads(_verified_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def remember_verified(path: Path, files: list[Path], digest: str) -> None:
    """Record that ``files`` (as they are now) hash to ``digest``; best effort (a read-only cache is fine)."""
    try:
        record = {"fingerprint": _fingerprint([Path(f) for f in files]), "sha256": digest}
        target = _verified_file()
        with _lock_for(target):
            data = {k: v for k, v in _read_verified().items() if Path(k).exists()}
            data[str(Path(path).resolve())] = record
            with atomic_path(target) as tmp:
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    except OSError:
        pass


def digest_of_files(files: list[Path]) -> str:
    """sha256 of the files' bytes concatenated in order (one file: its plain sha256)."""
    if len(files) == 1:
        return sha256_of(files[0])
    digest = hashlib.sha256()
    for file in files:
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                digest.update(block)
    return digest.hexdigest()


def _cache_relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(weights_dir().resolve()))
    except ValueError:
        return str(path)


def verify_weights(path: Path, expected: str | None, *, files: list[Path] | None = None, entry: str | None = None,
                   force: bool = False) -> str | None:
    """Check ``path`` (or the ``files`` its digest covers) against the catalog's sha256 (a full digest or a prefix).

    A file checked before and unchanged since (same size and mtime) is not hashed again unless ``force``.
    Returns the digest (None when nothing is expected); raises :class:`ChecksumMismatchError` naming
    the file, both digests and how to refresh it.
    """
    if not expected:
        return None
    expected = expected.lower()
    files = [Path(f) for f in (files or [path])]
    try:
        fingerprint = _fingerprint(files)
    except FileNotFoundError as exc:
        raise WeightsError(f"cached weights {path}: file {exc.filename} is missing") from None
    record = _read_verified().get(str(Path(path).resolve()))
    if not force and record and record.get("fingerprint") == fingerprint and str(record.get("sha256", "")).startswith(expected):
        return record["sha256"]
    actual = digest_of_files(files)
    if not actual.startswith(expected):
        which = f" of {entry!r}" if entry else ""
        target = Path(os.path.commonpath([str(f) for f in files])) if len(files) > 1 else Path(path)
        relative = _cache_relative(target)
        if relative == str(target):  # a local mirror outside the cache
            refresh = f"replace {target} with the published file"
        else:
            refresh = ("refresh it with: zoo cache rm " + relative + (f" && zoo download {entry}" if entry else "")
                       + " (or copy the right file there again)")
        raise ChecksumMismatchError(
            f"cached weights file {path}{which} has sha256 digest {actual}, but the catalog expects {expected}; "
            f"it is damaged or not the published file, so it was not loaded; {refresh}")
    remember_verified(path, files, actual)
    return actual


def _unavailable(url: str, dest: Path, reason: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"weights file {dest.name!r} is not available: {reason}.\n"
        f"  source URL: {url}\n"
        f"  expected cache path: {dest}\n"
        f"  fix: download it on a machine with network access and copy it to that path, or pass "
        f"weights=PATH (CLI: --weights PATH); {ENV_HELP}")


def extract_member(archive: Path, member: str, dest: Path) -> Path:
    """Copy one member of a zip/tar archive to ``dest`` atomically."""
    with _lock_for(dest):
        if dest.is_file():
            return dest
        with atomic_path(dest) as tmp:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zf:
                    try:
                        src = zf.open(member)
                    except KeyError:
                        names = ", ".join(zf.namelist()[:10])
                        raise WeightsError(f"archive {archive} has no member {member!r} (has: {names})") from None
                    with src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
            elif tarfile.is_tarfile(archive):
                with tarfile.open(archive) as tf:
                    try:
                        src = tf.extractfile(member)
                    except KeyError:
                        src = None
                    if src is None:
                        raise WeightsError(f"archive {archive} has no regular file {member!r}")
                    with src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
            else:
                raise WeightsError(f"{archive} is neither a zip nor a tar archive; cannot extract {member!r}")
    return dest


def local_path(url: str) -> Path | None:
    """The local file a ``file://`` URL or a plain path names, or None for a remote URL or URI."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    if not parts.scheme or (len(parts.scheme) == 1 and os.name == "nt"):
        return Path(url).expanduser()
    return None


def cached_file(url: str, *, file_name: str | None = None, member: str | None = None) -> Path | None:
    """The cached file for ``url`` (and archive ``member``), or None."""
    local = local_path(url)
    if local is not None and member is None:
        return local if local.is_file() else None
    dest = cache_path_for(url, file_name)
    if member is not None:
        dest = dest.with_name(dest.name + ".d") / member
    return dest if dest.is_file() else None


def fetch_file(url: str, *, sha256: str | None = None, file_name: str | None = None, member: str | None = None,
               offline: bool | None = None, progress: bool = True) -> Path:
    """A local path for ``url``: from disk or cache, else downloaded into the cache.

    With ``member``, ``url`` is an archive and the path of that extracted member is returned.
    """
    local = local_path(url)
    if local is not None:
        if not local.is_file():
            raise WeightsUnavailableError(f"weights file {local} does not exist")
        if member is None:
            return local
        return extract_member(local, member, cache_path_for(local.resolve().as_uri()).with_name(local.name + ".d") / member)
    dest = cache_path_for(url, file_name)
    if member is not None:
        target = dest.with_name(dest.name + ".d") / member
        if target.is_file():
            return target
        archive = fetch_file(url, sha256=sha256, file_name=file_name, offline=offline, progress=progress)
        return extract_member(archive, member, target)
    if dest.is_file():
        return dest
    if is_offline(offline):
        raise _unavailable(url, dest, "it is not in the cache and ZOO_OFFLINE=1 forbids downloading")
    with _lock_for(dest):
        if dest.is_file():  # another process finished it while we waited
            return dest
        try:
            return download(url, dest, sha256=sha256, progress=progress)
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise _unavailable(url, dest, f"download failed ({type(exc).__name__}: {reason})") from exc


@dataclass(frozen=True)
class ResolveContext:
    """What a plugin's weight resolver is told about the request."""

    spec: "WeightSpec"
    entry: "Entry | None"
    offline: bool
    cache_dir: Path
    progress: bool = True


@dataclass(frozen=True)
class ResolvedWeights:
    """A weights file ready to read, and how it was found (``explicit``, ``local``, ``cache``, ``download``, ``plugin:<scheme>``)."""

    path: Path
    spec: "WeightSpec"
    origin: str
    #: how the file was loaded (format detected, kwargs inferred: :class:`zoo.weights.formats.LoadReport`), for metadata
    details: Mapping[str, Any] = field(default_factory=dict)


def weights_location(spec: "WeightSpec", entry: "Entry | None" = None) -> Path | None:
    """Where the file of a source is (or will be) kept: the cache path of a URL, a ``file://`` path,
    or what a plugin source's ``locate`` says; None when a plugin source cannot say."""
    if spec.scheme in ("http", "https", "file"):
        local = local_path(spec.uri)
        if local is not None and spec.member is None:
            return local
        dest = cache_path_for(spec.uri, spec.file_name)
        return dest.with_name(dest.name + ".d") / spec.member if spec.member else dest

    try:
        source = components("weight_source").get(spec.scheme)
    except KeyError:  # an unknown scheme: reported when the weights are resolved
        return None
    if source.record.locate is None:
        return None
    context = ResolveContext(spec=spec, entry=entry, offline=True, cache_dir=weights_dir(), progress=False)
    located = source.load("locate")(spec.uri, context)
    return Path(located) if located is not None else None


def cached_weights(spec: "WeightSpec", entry: "Entry | None" = None) -> Path | None:
    """The cached (or local) file of a source, or None (plugin sources: through their ``locate``)."""
    if spec.scheme in ("http", "https", "file"):
        return cached_file(spec.uri, file_name=spec.file_name, member=spec.member)
    path = weights_location(spec, entry)
    return path if path is not None and path.exists() else None


def weights_here(entry: Entry) -> bool:
    """Whether any of the entry's weight sources is already on this machine (cache or local file)."""
    for spec in entry.weights:
        try:
            if cached_weights(spec, entry) is not None:
                return True
        except ZooError:
            continue
    return False


def digest_files_for(spec: "WeightSpec", path: Path) -> list[Path]:
    """The files the catalog's sha256 of ``spec`` covers, for a file at ``path``."""
    if spec.scheme in ("http", "https", "file"):
        return [path]

    source = components("weight_source").get(spec.scheme)
    if source.record.digest_files is None:
        return [path]
    return [Path(p) for p in source.load("digest_files")(path)]


def verify_spec(spec: "WeightSpec", path: Path, entry: "Entry | None" = None, *, force: bool = False) -> str | None:
    """:func:`verify_weights` for the file of a catalog source (archive members are checked as downloaded)."""
    if not spec.sha256 or spec.member is not None:
        return None
    return verify_weights(path, spec.sha256, files=digest_files_for(spec, path),
                          entry=entry.name if entry is not None else None, force=force)


def _resolve_spec(spec: "WeightSpec", entry: "Entry | None", offline: bool, progress: bool) -> ResolvedWeights:
    if spec.scheme in ("http", "https", "file"):
        hit = cached_weights(spec)
        path = fetch_file(spec.uri, sha256=spec.sha256, file_name=spec.file_name, member=spec.member,
                          offline=offline, progress=progress)
        verify_spec(spec, path, entry)
        return ResolvedWeights(path, spec, "local" if spec.scheme == "file" else "cache" if hit else "download")

    source = components("weight_source").get(spec.scheme)
    resolver = source.load("resolver")
    context = ResolveContext(spec=spec, entry=entry, offline=offline, cache_dir=weights_dir(), progress=progress)
    path = Path(resolver(spec.uri, context))
    if not path.exists():
        raise WeightsError(f"weight source {spec.scheme!r} (plugin {source.provider!r}) returned {path}, which does not exist")
    verify_spec(spec, path, entry)
    return ResolvedWeights(path, spec, f"plugin:{spec.scheme}")


def resolve_weights(entry: "Entry", weights: str | os.PathLike[str] | None = None, *, offline: bool | None = None,
                    progress: bool = True) -> ResolvedWeights:
    """Find the weights file for ``entry`` in the documented order (module docstring)."""


    offline = is_offline(offline)
    default_format = entry.weights[0].format if entry.weights else "state_dict"
    if weights is not None:
        text = os.fspath(weights)
        spec = WeightSpec(uri=text, format=default_format)
        if "://" not in text:
            path = Path(text).expanduser()
            if not path.exists():
                raise WeightsUnavailableError(f"weights file {path} (given for {entry.name!r}) does not exist")
            return ResolvedWeights(path, spec, "explicit")
        return replace(_resolve_spec(spec, entry, offline, progress), origin="explicit")
    if not entry.weights:
        raise WeightsUnavailableError(f"entry {entry.name!r} lists no weights; pass weights=PATH or pretrained=False")
    for spec in entry.weights:
        hit = cached_weights(spec) if spec.scheme in ("http", "https", "file") else None
        if hit is not None:
            verify_spec(spec, hit, entry)
            return ResolvedWeights(hit, spec, "local" if spec.scheme == "file" else "cache")
    problems = []
    for spec in entry.weights:
        try:
            return _resolve_spec(spec, entry, offline, progress)
        except ChecksumMismatchError:
            raise
        except (WeightsUnavailableError, WeightsError) as exc:
            problems.append(f"- {spec.uri}: {exc}")
        except KeyError as exc:  # an unknown plugin scheme
            problems.append(f"- {spec.uri}: {exc}")
    raise WeightsUnavailableError(f"no weights for {entry.name!r} could be found; tried, in order:\n" + "\n".join(problems))
