"""name -> catalog entry -> model built by a plugin -> weights resolved and adapted -> pipeline."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import replace
from typing import Any, Mapping, Sequence

from typing import TYPE_CHECKING

from .catalog import Entry
from .errors import CatalogError, WeightsError
from .hub import ResolvedWeights, resolve_weights
from .options import check_load_options, task_matches
from .plugins import get_manager

if TYPE_CHECKING:  # torch is imported when a model is built, not when the zoo is listed
    import torch
    from torch import nn


def list_models(pattern: str | Sequence[str] | None = None, task: str | None = None) -> list[str]:
    """Catalog names matching any glob ``pattern`` (``"cyclegan-*"``, or a list) and/or a task.

    ``task`` also takes a family or alias (:func:`zoo.options.task_matches`): ``"super-resolution"`` or
    ``"sr"`` includes ``super-resolution-y``, ``"translation"`` both translation tasks.
    """
    catalog = get_manager().catalog
    patterns = [pattern] if isinstance(pattern, str) else list(pattern or [])
    return [n for n in catalog.names() if (not patterns or any(fnmatch.fnmatchcase(n, p) for p in patterns))
            and (task is None or task_matches(task, catalog.get(n).task))]


def get_entry(name: str) -> Entry:
    return get_manager().catalog.get(name)


def _entry(name_or_entry: str | Entry) -> Entry:
    return name_or_entry if isinstance(name_or_entry, Entry) else get_entry(name_or_entry)


def build_model(name_or_entry: str | Entry, **overrides: Any) -> nn.Module:
    """The entry's network with freshly initialised weights; ``overrides`` replace architecture kwargs."""
    entry = _entry(name_or_entry)
    factory = get_manager().components("architecture").get(entry.architecture).load("factory")
    kwargs = {**entry.kwargs, **overrides}
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise CatalogError(f"architecture {entry.architecture!r} of entry {entry.name!r} rejected kwargs {kwargs} "
                           f"({exc})") from None


def read_weights(resolved: ResolvedWeights) -> Mapping[str, torch.Tensor]:
    """Read a resolved file with its format's reader (or the core's safe loader)."""
    from .serialization import load_checkpoint

    fmt = resolved.spec.format
    if fmt == "state_dict":
        return load_checkpoint(resolved.path)
    registered = get_manager().components("weight_format").get(fmt)
    reader = registered.load("reader") if registered.record.reader else load_checkpoint
    return reader(resolved.path)


def adapt_weights(state_dict: Mapping[str, Any], fmt: str, model: nn.Module) -> Mapping[str, Any]:
    if fmt == "state_dict":
        return state_dict
    registered = get_manager().components("weight_format").get(fmt)
    return registered.load("adapter")(state_dict, model) if registered.record.adapter else state_dict


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, Any], origin: str) -> None:
    """``load_state_dict(strict=True)`` with an error that lists what does not fit, by key and shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [f"{k}: model {tuple(own[k].shape)} vs file {tuple(state_dict[k].shape)}" for k in own
             if k in state_dict and hasattr(state_dict[k], "shape") and tuple(own[k].shape) != tuple(state_dict[k].shape)]
    if missing or unexpected or wrong:
        def show(items: list[str]) -> str:
            return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
        parts = [f"{len(missing)} missing: {show(missing)}" if missing else "",
                 f"{len(unexpected)} unexpected: {show(unexpected)}" if unexpected else "",
                 f"{len(wrong)} with another shape: {show(wrong)}" if wrong else ""]
        raise WeightsError(f"weights {origin} do not fit {type(model).__name__}: " + "; ".join(p for p in parts if p))
    model.load_state_dict(state_dict, strict=True)


def load_weights(model: nn.Module, entry: Entry, resolved: ResolvedWeights) -> nn.Module:
    origin = f"{resolved.path} (format {resolved.spec.format!r}, entry {entry.name!r})"
    raw = read_weights(resolved)
    try:
        state_dict = adapt_weights(raw, resolved.spec.format, model)
    except WeightsError as exc:
        raise WeightsError(f"weights {origin}: {exc}") from exc
    load_state_dict_strict(model, state_dict, origin)
    return model


def load(name: str, pretrained: bool = True, *, weights: str | os.PathLike[str] | None = None,
         weights_format: str | None = None, device: str | torch.device | None = None,
         dtype: str | torch.dtype | None = None, offline: bool | None = None, progress: bool = True,
         **pipeline_options: Any):
    """A ready model by name: the entry's network, its weights and its pre/post-processing.

    ``weights`` (a path, URL or plugin URI) takes precedence over the catalog's sources;
    ``weights_format`` says how to read it when it is not in the entry's format. Other keyword
    arguments go to the task's pipeline (e.g. ``tile=``, ``tile_pad=``, and ``mode=`` for an entry's
    alternative inference mode, such as pix2pix's ``mode="paper"``: batch statistics + dropout).
    """
    entry = get_entry(name)
    check_load_options(entry, device, dtype, **pipeline_options)
    model = build_model(entry)
    resolved = None
    if pretrained or weights is not None:
        resolved = resolve_weights(entry, weights, offline=offline, progress=progress)
        if weights_format is not None:
            resolved = replace(resolved, spec=replace(resolved.spec, format=weights_format))
        load_weights(model, entry, resolved)
    task = get_manager().components("task").get(entry.task)
    pipeline_cls = task.load("pipeline")
    return pipeline_cls(model, entry, device=device, dtype=dtype, weights=resolved, **pipeline_options)


def download(name: str, *, offline: bool | None = None, progress: bool = True) -> ResolvedWeights:
    """Make sure the entry's weights are in the cache; returns where they are."""
    return resolve_weights(get_entry(name), offline=offline, progress=progress)
