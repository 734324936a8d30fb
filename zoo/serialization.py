"""Reading and writing weight files without ever unpickling arbitrary objects."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch

from .errors import WeightsError
from .hub import atomic_path

SAFETENSORS_SUFFIXES = {".safetensors", ".sft"}


def load_checkpoint(path: str | Path) -> Mapping[str, Any]:
    """Read a ``.safetensors`` file or a torch checkpoint with ``weights_only=True``.

    Returns the file's top-level mapping (a state_dict, or a wrapper such as ``{"params": ...}``
    that a format adapter unwraps). A pickle that needs anything beyond tensors and plain
    containers is refused with :class:`WeightsError`.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    if path.suffix.lower() in SAFETENSORS_SUFFIXES:
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
            raise WeightsError(f"{path} is not a valid safetensors file: {exc}") from exc
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"refusing to load {path}: it is a pickle that needs more than tensors and plain containers "
            f"({first_line}). The zoo never unpickles arbitrary objects; if the file comes from a source you "
            f"trust and its format has a registered reader, pass the matching weights format, or convert it "
            f"to a state_dict/safetensors file."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, expected a mapping of parameter names to tensors")
    return obj


def save_state_dict(state_dict: Mapping[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a state_dict atomically, as safetensors (``.safetensors``) or a torch file (anything else)."""
    path = Path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        if path.suffix.lower() in SAFETENSORS_SUFFIXES:
            from safetensors.torch import save_file

            save_file(tensors, str(tmp), metadata=metadata)
        else:
            torch.save(tensors, tmp)
    return path
