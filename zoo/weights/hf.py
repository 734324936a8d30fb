"""The ``hf://`` weight source: files of Hugging Face Hub model repositories, through ``huggingface_hub``.

``hf://owner/repo/path/in/repo.pth`` or ``hf://owner/repo@revision/path`` (a branch, tag or commit;
``%2F`` for a ``/`` inside the revision), in a catalog entry's ``weights`` or ``zoo.load(..., weights=...)``.
Files live in huggingface_hub's own cache (``HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``), shared with every other HF tool, not in the zoo cache.
``HF_HUB_OFFLINE=1`` or ``ZOO_OFFLINE=1`` only look in that cache. When the catalog gives a ``sha256``
it is checked (against the LFS blob name when there is one, else by hashing).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.files import sha256_of

if TYPE_CHECKING:
    from zoo.weights.hub import ResolveContext

SCHEME = "hf"
_TRUE = {"1", "true", "yes", "on"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HfFile:
    """One file of a Hub model repository."""

    repo_id: str
    filename: str
    revision: str | None = None

    @property
    def uri(self) -> str:
        rev = f"@{urllib.parse.quote(self.revision, safe='')}" if self.revision else ""
        return f"{SCHEME}://{self.repo_id}{rev}/{self.filename}"


def parse_hf_uri(uri: str) -> HfFile:
    """``hf://owner/repo[@revision]/path`` -> :class:`HfFile`; a ValueError names what is wrong."""
    head, sep, rest = uri.partition("://")
    if not sep or head.lower() != SCHEME:
        raise WeightsError(f"{uri!r} is not an hf:// URI (hf://owner/repo[@revision]/path/to/file)")
    parts = rest.split("/")
    if len(parts) < 3 or not all(parts[:2]) or not parts[-1]:
        raise WeightsError(f"{uri!r}: expected hf://owner/repo[@revision]/path/to/file (owner, repo and a file path)")
    owner, repo_part, path = parts[0], parts[1], "/".join(parts[2:])
    repo, _, revision = repo_part.partition("@")
    if not repo or (repo_part.endswith("@")):
        raise WeightsError(f"{uri!r}: empty repository name or revision")
    return HfFile(f"{owner}/{repo}", path, urllib.parse.unquote(revision) if revision else None)


def hf_cache_dir() -> Path:
    """huggingface_hub's cache folder, read from the environment now (the library reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hf_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def expected_cache_path(file: HfFile, cache_dir: Path) -> Path:
    """Where huggingface_hub keeps the file: ``models--owner--repo/snapshots/<commit>/<path>``."""
    folder = cache_dir / ("models--" + file.repo_id.replace("/", "--"))
    revision = file.revision or "main"
    commit = revision
    ref = folder / "refs" / revision
    if not _is_commit(revision) and ref.is_file():
        commit = ref.read_text().strip()
    elif not _is_commit(revision):
        commit = f"<commit of {revision}>"
    return folder / "snapshots" / commit / file.filename


def _is_commit(revision: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{40}", revision))


def _check_sha256(path: Path, expected: str | None, file: HfFile) -> None:
    if not expected:
        return
    real = Path(os.path.realpath(path))
    if _SHA256.match(real.name):  # an LFS blob is named by the sha256 of its content
        digest = real.name
    else:
        digest = sha256_of(path)
    if not digest.startswith(expected.lower()):
        raise WeightsError(f"sha256 mismatch for {file.uri}: catalog says {expected}, {path} has {digest}")


def _unavailable(file: HfFile, cache_dir: Path, reason: str, offline: bool) -> WeightsUnavailableError:
    revision = file.revision or "main"
    state = ("offline (" + ", ".join(n for n, on in (("HF_HUB_OFFLINE=1", hf_offline()),
                                                        ("ZOO_OFFLINE=1 / offline=True", offline and not hf_offline()))
                                     if on) + ")") if offline else "online"
    return WeightsUnavailableError(
        f"Hugging Face file {file.filename!r} of repository {file.repo_id!r} at revision {revision!r} is not "
        f"available: {reason}.\n"
        f"  mode: {state}\n"
        f"  cache: {cache_dir} (HF_HUB_CACHE, else $HF_HOME/hub)\n"
        f"  expected at: {expected_cache_path(file, cache_dir)}\n"
        f"  fix: on a machine with network run `huggingface-cli download {file.repo_id} {file.filename} --revision "
        f"{revision}` (or unset HF_HUB_OFFLINE here) and copy its cache folder to {cache_dir}, or pass weights=PATH")


def download_hf_file(file: HfFile, *, offline: bool = False, sha256: str | None = None) -> Path:
    """The local path of ``file`` in huggingface_hub's cache, downloaded unless offline."""
    from huggingface_hub import hf_hub_download  # heavy
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )  # heavy

    cache_dir = hf_cache_dir()
    offline = offline or hf_offline()
    try:
        path = Path(hf_hub_download(repo_id=file.repo_id, filename=file.filename, revision=file.revision,
                                    cache_dir=str(cache_dir), local_files_only=offline))
    except LocalEntryNotFoundError as exc:
        reason = "it is not in the local cache" + (" and downloads are off" if offline else
                                                   f" and the Hub could not be reached ({str(exc).splitlines()[0]})")
        raise _unavailable(file, cache_dir, reason, offline) from None
    except RepositoryNotFoundError:
        raise _unavailable(file, cache_dir, "the repository does not exist or is private (log in with "
                           "`huggingface-cli login` or set HF_TOKEN)", offline) from None
    except RevisionNotFoundError:
        raise _unavailable(file, cache_dir, "the revision does not exist", offline) from None
    except EntryNotFoundError:
        raise _unavailable(file, cache_dir, "the repository has no such file at that revision", offline) from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise _unavailable(file, cache_dir, f"{type(exc).__name__}: {str(exc).splitlines()[0]}", offline) from None
    _check_sha256(path, sha256, file)
    return path


def resolve_hf_uri(uri: str, context: ResolveContext) -> Path:
    """The ``hf`` :class:`~zoo.registry.records.WeightSource` resolver."""
    return download_hf_file(parse_hf_uri(uri), offline=context.offline, sha256=context.spec.sha256)
