"""name -> catalog entry -> model built by a plugin -> weights resolved and adapted -> pipeline."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import replace
from typing import Any, Mapping, Sequence

from typing import TYPE_CHECKING

from .catalog import Entry
from .components import Registered
from .errors import ComponentArgumentsError, WeightsError
from .hub import ResolvedWeights, resolve_weights
from .options import OptionError, check_load_options, task_matches
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


def _construct(kind: str, name: str, factory: Any, kwargs: Mapping[str, Any], where: str = "") -> Any:
    """Call a component's factory; bad arguments become one ComponentArgumentsError naming them."""
    try:
        return factory(**kwargs)
    except (TypeError, ValueError, AssertionError, KeyError) as exc:
        raise ComponentArgumentsError(f"{kind} {name!r}{where} rejected kwargs {dict(kwargs)}: "
                                      f"{type(exc).__name__}: {exc}") from None


def build_model(name_or_entry: str | Entry, **overrides: Any) -> nn.Module:
    """The entry's network with freshly initialised weights; ``overrides`` replace architecture kwargs."""
    entry = _entry(name_or_entry)
    factory = get_manager().components("architecture").get(entry.architecture).load("factory")
    where = f" of entry {entry.name!r} ({entry.source})" if entry.source else f" of entry {entry.name!r}"
    return _construct("architecture", entry.architecture, factory, {**entry.kwargs, **overrides}, where)


def list_components(kind: str | None = None) -> list[str] | dict[str, list[str]]:
    """Names of the registered components of ``kind`` ('architecture', 'loss', 'task', 'weight_format',
    'weight_source', 'dataset'), or, without ``kind``, a mapping of every kind to its names."""
    from .components import RECORD_KINDS

    manager = get_manager()
    if kind is not None:
        return list(manager.components(kind))
    return {k: list(manager.components(k)) for k in RECORD_KINDS}


def get_component(kind: str, name: str) -> Registered:
    """The registered record of one component (``.record``) and the plugin that provides it (``.provider``)."""
    return get_manager().components(kind).get(name)


def get_architecture(name: str, **kwargs: Any) -> nn.Module:
    """A registered architecture built with ``kwargs`` (random weights): ``zoo.get_architecture("rrdbnet", num_block=6)``."""
    factory = get_component("architecture", name).load("factory")
    return _construct("architecture", name, factory, kwargs)


def get_loss(name: str, **kwargs: Any) -> Any:
    """A registered loss, ready to call: a loss class is instantiated with ``kwargs``; a loss function is
    returned as is, or with ``kwargs`` bound (``functools.partial``)."""
    import functools
    import inspect

    factory = get_component("loss", name).load("factory")
    if inspect.isclass(factory):
        return _construct("loss", name, factory, kwargs)
    if kwargs:
        try:
            inspect.signature(factory).bind_partial(**kwargs)
        except TypeError as exc:
            raise ComponentArgumentsError(f"loss {name!r} rejected kwargs {kwargs}: {exc}") from None
        return functools.partial(factory, **kwargs)
    return factory


def read_weights(resolved: ResolvedWeights) -> Mapping[str, torch.Tensor]:
    """Read a resolved file with its format's reader (or the core's safe loader)."""
    from .serialization import load_checkpoint

    fmt = resolved.spec.format
    if fmt == "state_dict":
        return load_checkpoint(resolved.path)
    registered = get_manager().components("weight_format").get(fmt)
    reader = registered.load("reader") if registered.record.reader else load_checkpoint
    return reader(resolved.path)


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
        raise OptionError("infer_architecture=True reads the architecture off a weights file; it needs weights "
                         "(pretrained=True or weights=...)")
    check_load_options(entry, device, dtype, **pipeline_options)
    if weights is not None and (not isinstance(weights, (str, os.PathLike)) or not os.fspath(weights).strip()):
        raise OptionError(f"weights must be a file path, URL or URI (e.g. 'model.pth', 'hf://owner/repo/file'), "
                          f"got {weights!r}")
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
