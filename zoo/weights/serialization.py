"""Reading and writing weight files without ever unpickling arbitrary objects."""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch

from zoo.errors import WeightsError
from zoo.files import atomic_path

SAFETENSORS_SUFFIXES = {".safetensors", ".sft"}


_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                (b"BM", "a BMP image"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"))


def sniff_weights_file(path: str | Path) -> str:
    """What a weights file is, from its first bytes: ``zip`` (torch >= 1.6), ``pickle`` (legacy torch),
    ``safetensors``, or a :class:`WeightsError` saying what it is instead (folder, image, text, empty...)."""
    path = Path(path)
    if path.is_dir():
        hint = (" (it holds a manifest.json: an ml5 checkpoint folder, format 'ml5-style-transfer')"
                if (path / "manifest.json").is_file() else "")
        raise WeightsError(f"weights path {path} is a folder, not a weights file{hint}")
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    with open(path, "rb") as handle:
        head = handle.read(512)
    size = path.stat().st_size
    if not head:
        raise WeightsError(f"weights file {path} is empty (an interrupted download?)")
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size:
        return "safetensors"
    for magic, what in _IMAGE_MAGIC:
        if head.startswith(magic):
            raise WeightsError(f"weights file {path} is {what}, not a checkpoint")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise WeightsError(f"weights file {path} is a WebP image, not a checkpoint")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = head[: exc.start].decode("utf-8") if exc.start >= len(head) - 4 else None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        first = text.strip().splitlines()[0][:60] if text.strip() else ""
        kind = "an HTML page (a download that returned a web page?)" if first.lower().startswith(("<!doctype", "<html")) \
            else "a text file"
        raise WeightsError(f"weights file {path} is {kind}, not a checkpoint (it starts with {first!r})")
    raise WeightsError(f"weights file {path} is not a torch checkpoint (zip or pickle) nor a safetensors file "
                       f"(it starts with bytes {head[:8].hex(' ')})")


def load_checkpoint(path: str | Path) -> Mapping[str, Any]:
    """Read a ``.safetensors`` file or a torch checkpoint with ``weights_only=True``.

    The file's kind is sniffed from its first bytes (:func:`sniff_weights_file`), not its name, so a
    text file, an image or a folder passed as weights gets a message saying so. Returns the file's
    top-level mapping (a state_dict, or a wrapper such as ``{"params": ...}`` that a format adapter
    unwraps). A pickle that needs anything beyond tensors and plain containers is refused with
    :class:`WeightsError`.
    """
    path = Path(path)
    kind = sniff_weights_file(path)
    if kind == "safetensors":
        from safetensors.torch import load_file  # heavy

        try:
            return load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
            raise WeightsError(f"{path} is not a valid safetensors file: {exc}") from exc
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise WeightsError(f"weights file {path} is a damaged torch checkpoint (a zip that cannot be read: {exc}; "
                               "an interrupted download or copy?): fetch or copy it again") from None
        if not any(name.endswith("/data.pkl") or name == "data.pkl" for name in names):
            raise WeightsError(f"weights file {path} is a zip archive but not a torch checkpoint (no data.pkl); "
                               "extract the checkpoint from it first")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # torch colours its message for terminals
        needs = re.search(r"GLOBAL ([\w.]+)", text)
        what = f"it needs {needs.group(1)}" if needs else (text.strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(
            f"refusing to load {path}: it is a pickle that needs more than tensors and plain containers ({what}). "
            f"The zoo never unpickles arbitrary objects; if the file comes from a source you trust and a registered "
            f"weight format has a reader for it (`zoo components weight_format`, e.g. vdsr-legacy-pickle), pass it "
            f"with weights_format= (CLI: --weights-format), or convert the file to a state_dict/safetensors file."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError, IndexError, TypeError) as exc:
        raise WeightsError(f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, expected a mapping of parameter names to tensors")
    return obj


_SAFETENSORS_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                       torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                       torch.uint8: "U8", torch.bool: "BOOL"}


def safetensors_bytes(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> bytes:
    """A safetensors file's bytes with a canonical header (keys sorted), so equal inputs give equal files.

    (``safetensors.torch.save`` orders the metadata by a hash map, so its bytes differ between runs.)
    """
    header: dict[str, Any] = {"__metadata__": dict(sorted(metadata.items()))} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in _SAFETENSORS_DTYPES:
            raise WeightsError(f"tensor {name!r} has dtype {tensor.dtype}, which safetensors cannot store")
        blob = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": _SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def save_state_dict(state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a state_dict atomically, as safetensors (``.safetensors``) or a torch file (anything else).

    Safetensors files are byte-identical for equal tensors and metadata; files get the umask's permissions.
    """
    path = Path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        if path.suffix.lower() in SAFETENSORS_SUFFIXES:
            tmp.write_bytes(safetensors_bytes(tensors, metadata))
        else:
            torch.save(tensors, tmp)
    return path
