"""ml5.js style-transfer checkpoints: a deeplearn.js ``manifest.json`` plus one raw float32 file per variable.

The manifest maps each TF variable name (``Variable``, ``Variable_1``, ... ``Variable_47``) to
``{"filename": ..., "shape": [...]}``; each file holds the variable's values as little-endian
float32 in C order. The variables were created layer by layer by Engstrom's ``transform.py``, three
per conv layer: kernel, shift, scale. :func:`read_ml5_checkpoint` checks every file against the
manifest and the manifest against the network, then returns a state_dict for
:class:`~zoo_style.engstrom_net.EngstromStyleNet` (kernels moved from TF's layouts to PyTorch's).

:func:`resolve_ml5_uri` is the weight source for ``ml5+https://.../manifest.json`` (and ``ml5+file://``)
URIs: it fetches the manifest and every file it lists through the zoo's hub into one cache folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from zoo.errors import WeightsError, WeightsUnavailableError

if TYPE_CHECKING:
    import torch

    from zoo.weights import ResolveContext

__all__ = ["MANIFEST_NAME", "read_manifest", "read_ml5_checkpoint", "write_ml5_checkpoint", "variable_name",
           "checkpoint_digest", "resolve_ml5_uri"]

MANIFEST_NAME = "manifest.json"
URI_PREFIX = "ml5+"
DTYPE = np.dtype("<f4")


def variable_name(index: int) -> str:
    """TF's automatic name of the ``index``-th unnamed variable: ``Variable``, ``Variable_1``, ..."""
    return "Variable" if index == 0 else f"Variable_{index}"


def _expected_variables() -> list[tuple[str, str, tuple[int, ...]]]:
    """(TF variable name, our state_dict key, TF shape) for all variables, in creation order."""
    from .engstrom_net import LAYERS

    out: list[tuple[str, str, tuple[int, ...]]] = []
    for i, layer in enumerate(LAYERS):
        out.append((variable_name(3 * i), f"{layer.name}.conv.weight", layer.tf_kernel_shape))
        out.append((variable_name(3 * i + 1), f"{layer.name}.norm.bias", (layer.out_ch,)))  # TF ``shift``
        out.append((variable_name(3 * i + 2), f"{layer.name}.norm.weight", (layer.out_ch,)))  # TF ``scale``
    return out


def manifest_path_of(path: str | os.PathLike[str]) -> Path:
    """``path`` itself, or ``path/manifest.json`` when a checkpoint folder is given."""
    path = Path(path)
    return path / MANIFEST_NAME if path.is_dir() else path


def read_manifest(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The manifest as ``{variable: {"filename": str, "shape": [int, ...]}}``, validated."""
    path = manifest_path_of(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"ml5 checkpoint manifest {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path} is not a readable ml5/deeplearn.js manifest ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: expected a JSON object mapping variable names to "
                           f"{{filename, shape}}, got {type(data).__name__}")
    for name, info in data.items():
        ok = (isinstance(info, dict) and isinstance(info.get("filename"), str)
              and isinstance(info.get("shape"), list)
              and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in info["shape"]))
        if not ok:
            raise WeightsError(f"{path}: variable {name!r} must be {{\"filename\": str, \"shape\": [int, ...]}}, "
                               f"got {info!r}")
        filename = info["filename"]
        if not filename or filename != posixpath.basename(filename) or filename in (".", "..") or "\\" in filename:
            raise WeightsError(f"{path}: variable {name!r} names file {filename!r}; only plain file names beside "
                               "the manifest are allowed")
    return data


def _check_layout(path: Path, manifest: dict[str, dict[str, Any]]) -> None:
    expected = _expected_variables()
    names = {name for name, _, _ in expected}
    missing = [name for name, _, _ in expected if name not in manifest]
    extra = sorted(set(manifest) - names)
    if missing or extra:
        raise WeightsError(
            f"{path} does not describe the fast style transfer network: it should list the {len(expected)} "
            f"variables Variable, Variable_1 ... Variable_{len(expected) - 1}"
            + (f"; missing: {', '.join(missing[:6])}" if missing else "")
            + (f"; unexpected: {', '.join(extra[:6])}" if extra else ""))
    for name, key, shape in expected:
        got = tuple(manifest[name]["shape"])
        if got != shape:
            raise WeightsError(f"{path}: variable {name!r} ({key}) has shape {list(got)} in the manifest, "
                               f"the network needs {list(shape)}")


def _read_variable(folder: Path, manifest_file: Path, name: str, info: dict[str, Any]) -> np.ndarray:
    file = folder / info["filename"]
    shape = tuple(info["shape"])
    expected_bytes = math.prod(shape) * DTYPE.itemsize
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        raise WeightsError(f"variable {name!r} of {manifest_file}: file {file} is missing "
                           "(the manifest's files must sit beside it)") from None
    if size != expected_bytes:
        raise WeightsError(f"variable {name!r}: file {file} has {size} bytes, but shape {list(shape)} in "
                           f"{manifest_file} needs {expected_bytes} (float32); the download may be truncated "
                           "or the file belongs to another checkpoint")
    return np.fromfile(file, dtype=DTYPE).reshape(shape)


def read_ml5_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read ``manifest.json`` (or its folder) and its variable files into an EngstromStyleNet state_dict."""
    import torch

    manifest_file = manifest_path_of(path)
    manifest = read_manifest(manifest_file)
    _check_layout(manifest_file, manifest)
    state: dict[str, torch.Tensor] = {}
    for name, key, _ in _expected_variables():
        values = _read_variable(manifest_file.parent, manifest_file, name, manifest[name])
        if not np.isfinite(values).all():
            raise WeightsError(f"variable {name!r} ({manifest_file.parent / manifest[name]['filename']}) "
                               "holds NaN or infinite values")
        tensor = torch.from_numpy(values.astype(np.float32))
        if tensor.ndim == 4:  # HWIO (conv) / HW-out-in (transposed conv) -> OIHW / in-out-HW
            tensor = tensor.permute(3, 2, 0, 1)
        state[key] = tensor.contiguous()
    return state


def write_ml5_checkpoint(state_dict: Mapping[str, torch.Tensor], folder: str | os.PathLike[str]) -> Path:
    """Write an EngstromStyleNet state_dict as an ml5 checkpoint (the inverse of :func:`read_ml5_checkpoint`).

    Each file is written atomically; the manifest goes last, so a folder with a manifest is complete.
    Returns the manifest's path.
    """
    from zoo.weights import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, Any]] = {}
    for name, key, shape in _expected_variables():
        if key not in state_dict:
            raise WeightsError(f"state_dict has no {key!r}, needed for {name}")
        values = state_dict[key].detach().cpu().float()
        if values.ndim == 4:  # back to TF's HWIO / HW-out-in
            values = values.permute(2, 3, 1, 0)
        array = np.ascontiguousarray(values.numpy(), dtype=DTYPE)
        if tuple(array.shape) != shape:
            raise WeightsError(f"{key} has shape {tuple(state_dict[key].shape)}; {name} needs TF shape {list(shape)}")
        with atomic_path(folder / name) as tmp:
            array.tofile(tmp)
        manifest[name] = {"filename": name, "shape": list(shape)}
    with atomic_path(folder / MANIFEST_NAME) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder / MANIFEST_NAME


def checkpoint_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of all variable files concatenated in variable order (``Variable``, ``Variable_1``, ...).

    One number for a multi-file checkpoint: the catalog's ``sha256`` of an ``ml5+...`` source is this
    digest (the manifest itself is the same file for every style).
    """
    manifest_file = manifest_path_of(path)
    manifest = read_manifest(manifest_file)
    digest = hashlib.sha256()
    for index in range(len(manifest)):
        name = variable_name(index)
        if name not in manifest:
            raise WeightsError(f"{manifest_file}: variables are not numbered 0..{len(manifest) - 1} ({name} missing)")
        file = manifest_file.parent / manifest[name]["filename"]
        try:
            digest.update(file.read_bytes())
        except FileNotFoundError:
            raise WeightsError(f"variable {name!r} of {manifest_file}: file {file} is missing") from None
    return digest.hexdigest()


def _manifest_url(uri: str) -> str:
    if not uri.lower().startswith(URI_PREFIX):
        raise WeightsUnavailableError(f"{uri!r} is not an ml5 checkpoint URI (expected ml5+https://.../{MANIFEST_NAME})")
    url = uri[len(URI_PREFIX):]
    parts = urllib.parse.urlsplit(url)
    if parts.path.endswith("/") or not parts.path:
        url = urllib.parse.urlunsplit(parts._replace(path=parts.path + MANIFEST_NAME))
    return url


def locate_ml5_uri(uri: str, context: ResolveContext) -> Path | None:
    """Where :func:`resolve_ml5_uri` keeps the manifest of ``uri`` (the hub's cache path of its URL)."""
    from zoo.weights import cache_path_for, local_path

    url = _manifest_url(uri)
    local = local_path(url)
    return local if local is not None else cache_path_for(url)


def digest_files(manifest: str | os.PathLike[str]) -> list[Path]:
    """The variable files in order (``Variable``, ``Variable_1``, ...): the catalog's sha256 covers their bytes."""
    manifest_file = manifest_path_of(manifest)
    entries = read_manifest(manifest_file)
    files = []
    for index in range(len(entries)):
        name = variable_name(index)
        if name not in entries:
            raise WeightsError(f"{manifest_file}: variables are not numbered 0..{len(entries) - 1} ({name} missing)")
        files.append(manifest_file.parent / entries[name]["filename"])
    return files


def resolve_ml5_uri(uri: str, context: ResolveContext) -> Path:
    """Weight source for ``ml5+<url of manifest.json>``: fetch the manifest and its files, return its path.

    Every file goes through :func:`zoo.weights.hub.fetch_file`, so the checkpoint lands in one cache folder
    (``weights/<host>/<path>/``), a seeded cache or ``ml5+file://`` mirror works offline, and
    ``ZOO_OFFLINE=1`` is honoured. The hub checks the catalog's ``sha256`` (see :func:`digest_files`)
    on first use and remembers the result.
    """
    from zoo.weights import fetch_file

    url = _manifest_url(uri)
    offline, progress = context.offline, context.progress

    def fetch(file_url: str) -> Path:
        try:
            return fetch_file(file_url, offline=offline, progress=progress)
        except WeightsUnavailableError as exc:
            base = url.rsplit("/", 1)[0] + "/"
            raise WeightsUnavailableError(
                f"{exc}\n  note: this checkpoint is a folder ({MANIFEST_NAME} and the files it lists, e.g. "
                f"Variable, Variable_1, ...) under {base}; copy all of them into the folder of that cache path, "
                f"or pass weights=<local copy of {MANIFEST_NAME}>") from None

    manifest_file = fetch(url)
    manifest = read_manifest(manifest_file)
    folder = manifest_file.parent
    for name, info in manifest.items():
        fetched = fetch(urllib.parse.urljoin(url, urllib.parse.quote(info["filename"])))
        if fetched.parent.resolve() != folder.resolve():
            raise WeightsError(f"variable {name!r} of {url} was cached at {fetched}, not beside the manifest "
                               f"in {folder}")
    return manifest_file
