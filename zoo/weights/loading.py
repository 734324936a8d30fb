"""From a catalog entry to its network with weights in it: the step every user of a model shares.

``zoo.load`` (a pipeline around the network) and ``zoo.export`` (a file of the network) both start here,
so a checkpoint loads the same way, with the same errors, whichever way the model is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from zoo.errors import OptionError
from zoo.registry.catalog import Entry
from zoo.registry.lookup import build_model, get_entry
from zoo.weights.formats import load_into, size_multiple_for
from zoo.weights.hub import ResolvedWeights, resolve_weights

if TYPE_CHECKING:
    from torch import nn


@dataclass
class PretrainedNetwork:
    """A built network with its weights loaded, the entry it was built for, and where the weights came from.

    ``entry`` differs from the catalog's when ``infer_architecture`` rebuilt the network with kwargs read
    off the file (those kwargs and the widened size multiple are in it).
    """

    network: nn.Module
    entry: Entry
    weights: ResolvedWeights | None


def check_weights_argument(weights: object) -> None:
    """``weights=`` must name a file, URL or URI; anything else is one OptionError before any work."""
    if weights is not None and (not isinstance(weights, (str, os.PathLike)) or not os.fspath(weights).strip()):
        raise OptionError(f"weights must be a file path, URL or URI (e.g. 'model.pth', 'hf://owner/repo/file'), "
                          f"got {weights!r}")


def pretrained_network(name_or_entry: str | Entry, *, pretrained: bool = True,
                       weights: str | os.PathLike[str] | None = None, weights_format: str | None = None,
                       infer_architecture: bool = False, offline: bool | None = None,
                       progress: bool = True) -> PretrainedNetwork:
    """The entry's network with its weights: the catalog's (``pretrained``) or ``weights=`` (path, URL, URI).

    A ``weights`` file that does not fit the entry's format is loaded in the registered format that
    recognises it and fits, unless ``weights_format`` names one; ``infer_architecture=True`` rebuilds the
    network with block counts / widths read off the file (:mod:`zoo.weights.formats`).
    """
    entry = name_or_entry if isinstance(name_or_entry, Entry) else get_entry(name_or_entry)
    if infer_architecture and not (pretrained or weights is not None):
        raise OptionError("infer_architecture=True reads the architecture off a weights file; it needs weights "
                          "(pretrained=True or weights=...)")
    check_weights_argument(weights)
    network = build_model(entry)
    if not (pretrained or weights is not None):
        return PretrainedNetwork(network, entry, None)
    resolved = resolve_weights(entry, weights, offline=offline, progress=progress)
    if weights_format is not None:
        resolved = replace(resolved, spec=replace(resolved.spec, format=weights_format))
    built = entry
    network, resolved, report = load_into(
        network, entry, resolved, detect=weights is not None and weights_format is None,
        infer_architecture=infer_architecture, build=lambda **kw: build_model(built, **kw))
    resolved = replace(resolved, details=report.as_metadata())
    if report.inferred_kwargs:
        processing = entry.processing
        multiple = size_multiple_for(network, processing.size_multiple)
        entry = replace(entry, kwargs={**entry.kwargs, **report.inferred_kwargs},
                        processing=replace(processing, size_multiple=multiple))
    return PretrainedNetwork(network, entry, resolved)


def load_weights(model: nn.Module, entry: Entry, resolved: ResolvedWeights, *, detect: bool = False) -> nn.Module:
    """Load ``resolved`` into ``model`` strictly in its format; with ``detect``, in whichever format fits
    (:mod:`zoo.weights.formats`). Returns the model."""
    return load_into(model, entry, resolved, detect=detect)[0]


def download(name: str, *, offline: bool | None = None, progress: bool = True) -> ResolvedWeights:
    """Make sure the entry's weights are in the cache; returns where they are."""
    return resolve_weights(get_entry(name), offline=offline, progress=progress)
