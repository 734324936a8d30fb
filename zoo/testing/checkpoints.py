"""Synthetic checkpoints in a weight format's upstream layout, so an adapter is tested without the real file.

A :class:`~zoo.registry.records.WeightFormat` describes the official file with ``layout(model)``: nested mappings
(wrapper keys such as ``params_ema``, prefixes such as ``module.``, the upstream key names) whose leaves are tensor
shapes. :func:`synthetic_checkpoint` fills the shapes with seeded random values; :func:`write_checkpoint` saves
that where the core's loader (or the format's own reader) reads it; :func:`check_layout` runs the format's adapter
on it and says what does not fit the network, which the conformance check does for every entry in the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import torch

from zoo.errors import ZooError
from zoo.files import atomic_path
from zoo.registry.manager import get_manager
from zoo.weights.formats import adapt, describe_mismatch
from zoo.weights.serialization import load_checkpoint

if TYPE_CHECKING:
    from torch import nn


def _fill(node: Any, generator: torch.Generator) -> Any:
    if isinstance(node, torch.Tensor):
        return node
    if isinstance(node, Mapping):
        return {key: _fill(value, generator) for key, value in node.items()}
    if isinstance(node, (tuple, list)) and all(isinstance(n, int) and not isinstance(n, bool) for n in node):
        return torch.randn(tuple(node), generator=generator)
    return node  # upstream metadata (epoch numbers, names) stays as given


def synthetic_checkpoint(fmt: str, model: nn.Module, *, seed: int = 0) -> Any:
    """The object an official ``fmt`` checkpoint for a network like ``model`` holds, with seeded random tensors."""
    registered = get_manager().components("weight_format").get(fmt)
    if registered.record.layout is None:
        raise ZooError(f"weight format {fmt!r} (plugin {registered.provider!r}) declares no layout; give its "
                       "WeightFormat a layout(model) describing the upstream checkpoint")
    return _fill(registered.load("layout")(model), torch.Generator().manual_seed(seed))


def write_checkpoint(path: str | Path, fmt: str, model: nn.Module, *, seed: int = 0) -> Path:
    """Write :func:`synthetic_checkpoint` to ``path`` (``torch.save``; ``.safetensors`` for a flat mapping),
    atomically. For a format with its own ``reader`` the layout is what the reader returns, not a file: use
    :func:`synthetic_checkpoint` and call the adapter on it."""
    path = Path(path)
    obj = synthetic_checkpoint(fmt, model, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file  # heavy

            save_file({k: v.contiguous() for k, v in obj.items()}, str(tmp))
        else:
            torch.save(obj, tmp)
    return path


def check_layout(fmt: str, model: nn.Module, folder: str | Path) -> str | None:
    """Adapt a synthetic ``fmt`` checkpoint for ``model`` (written to ``folder`` and read back by the core's loader,
    or handed to the adapter as is when the format has its own reader): what does not fit strictly, or None."""
    record = get_manager().components("weight_format").get(fmt).record
    if record.reader is None:
        raw = load_checkpoint(write_checkpoint(Path(folder) / f"synthetic-{fmt}.pth", fmt, model))
    else:
        raw = synthetic_checkpoint(fmt, model)
    return describe_mismatch(model, adapt(raw, fmt, model))
