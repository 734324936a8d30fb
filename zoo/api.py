"""name -> catalog entry -> model built by a plugin -> weights resolved and adapted -> pipeline."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Mapping

from typing import TYPE_CHECKING

from .catalog import Entry
from .errors import WeightsError
from .hub import ResolvedWeights, resolve_weights
from .plugins import get_manager

if TYPE_CHECKING:  # torch is imported when a model is built, not when the zoo is listed
    import torch
    from torch import nn


def list_models(pattern: str | None = None, task: str | None = None) -> list[str]:
    """Catalog names matching a glob ``pattern`` (``"cyclegan-*"``) and/or a task."""
    return get_manager().catalog.names(pattern, task)


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
        raise TypeError(f"architecture {entry.architecture!r} of entry {entry.name!r} rejected kwargs {kwargs}: {exc}") from exc


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
    """A checkpoint read from disk in format ``fmt`` -> a state_dict in ``model``'s key layout."""
    from .formats import adapt

    return adapt(state_dict, fmt, model)


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, Any], origin: str) -> None:
    """``load_state_dict(strict=True)`` with an error that lists what does not fit, by key and shape."""
    from .formats import describe_mismatch

    mismatch = describe_mismatch(model, state_dict)
    if mismatch:
        raise WeightsError(f"weights {origin} do not fit {type(model).__name__}: {mismatch}")
    model.load_state_dict(state_dict, strict=True)


def load_weights(model: nn.Module, entry: Entry, resolved: ResolvedWeights, *, detect: bool = False) -> nn.Module:
    """Load ``resolved`` into ``model`` strictly in its format; with ``detect``, in whichever format fits
    (:mod:`zoo.formats`). Returns the model."""
    from .formats import load_into

    return load_into(model, entry, resolved, detect=detect)[0]


def load(name: str, pretrained: bool = True, *, weights: str | os.PathLike[str] | None = None,
         weights_format: str | None = None, infer_architecture: bool = False, backend: str = "eager",
         backend_options: Mapping[str, Any] | None = None, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
         offline: bool | None = None, progress: bool = True, **pipeline_options: Any):
    """A ready model by name: the entry's network, its weights and its pre/post-processing.

    ``weights`` (a path, URL, ``hf://owner/repo/file`` or plugin URI) takes precedence over the
    catalog's sources. A ``weights`` file that does not fit the entry's format is loaded in the
    registered format that recognises it and fits (``model.metadata["weights"]["format"]``);
    ``weights_format`` names the format instead and turns that detection off.
    ``infer_architecture=True`` rebuilds the network with block counts / widths read off the file.
    ``backend``: ``"eager"`` (PyTorch), ``"compile"`` (``torch.compile``) or ``"onnxruntime"`` (an
    ONNX export run by onnxruntime, cached in the zoo cache); pre/post-processing is the same
    (``backend_options``: see :mod:`zoo.backends`).
    Other keyword arguments go to the task's pipeline (e.g. ``tile=``, ``tile_pad=``, and ``mode=`` for
    an entry's alternative inference mode, such as pix2pix's ``mode="paper"``: batch statistics + dropout).
    """
    from .formats import load_into, size_multiple_for

    entry = get_entry(name)
    if infer_architecture and not (pretrained or weights is not None):
        raise ValueError("infer_architecture=True reads the architecture off a weights file; it needs weights "
                         "(pretrained=True or weights=...)")
    model = build_model(entry)
    resolved = None
    if pretrained or weights is not None:
        resolved = resolve_weights(entry, weights, offline=offline, progress=progress)
        if weights_format is not None:
            resolved = replace(resolved, spec=replace(resolved.spec, format=weights_format))
        model, resolved, report = load_into(
            model, entry, resolved, detect=weights is not None and weights_format is None,
            infer_architecture=infer_architecture, build=lambda **kw: build_model(entry, **kw))
        resolved = replace(resolved, details=report.as_metadata())
        if report.inferred_kwargs:
            processing = entry.processing
            multiple = size_multiple_for(model, processing.size_multiple)
            entry = replace(entry, kwargs={**entry.kwargs, **report.inferred_kwargs},
                            processing=replace(processing, size_multiple=multiple))
    if backend != "eager" or backend_options:
        from .backends import wrap_backend

        model = wrap_backend(model, entry, backend, resolved=resolved, device=device, dtype=dtype,
                             options=backend_options, pipeline_options=pipeline_options)
    task = get_manager().components("task").get(entry.task)
    pipeline_cls = task.load("pipeline")
    return pipeline_cls(model, entry, device=device, dtype=dtype, weights=resolved, **pipeline_options)


def download(name: str, *, offline: bool | None = None, progress: bool = True) -> ResolvedWeights:
    """Make sure the entry's weights are in the cache; returns where they are."""
    return resolve_weights(get_entry(name), offline=offline, progress=progress)
