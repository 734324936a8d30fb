"""Weights: where weight files come from, where they are kept, how they are read and fitted to a network.

Owns the weights hub (cache under ``$ZOO_HOME``, locks, downloads, sha256 checks; :mod:`~zoo.weights.hub`),
``hf://`` sources (:mod:`~zoo.weights.hf`), safe reading and deterministic writing of weight files
(:mod:`~zoo.weights.serialization`), weight formats with detection and architecture inference
(:mod:`~zoo.weights.formats`) and the entry -> network-with-weights step (:mod:`~zoo.weights.loading`).
May import ``zoo.registry``, ``zoo.files`` and ``zoo.errors``. Reading and writing tensors imports torch
on first use; nothing here imports torch at module level.

The names below are the public API for plugins (weight sources and formats): a resolver gets a
:class:`ResolveContext` and returns a local path, fetching with :func:`fetch_file` and writing converted
files with :func:`atomic_path` or :func:`save_state_dict`.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo.files import atomic_path, sha256_of, zoo_home
from zoo.weights.formats import PLAIN, LoadReport, describe_mismatch, load_into, load_state_dict_strict, read_weights
from zoo.weights.hub import (ChecksumMismatchError, ResolveContext, ResolvedWeights, cache_path_for, cached_file,
                             cached_weights, fetch_file, is_offline, is_url, local_path, resolve_weights, verify_spec,
                             weights_dir, weights_location)
from zoo.weights.loading import PretrainedNetwork, download, load_weights, pretrained_network

#: names of :mod:`zoo.weights.serialization`, which imports torch when first used
_SERIALIZATION_NAMES = ("load_checkpoint", "save_state_dict", "safetensors_bytes", "sniff_weights_file")

__all__ = [
    "atomic_path", "sha256_of", "zoo_home", "PLAIN", "LoadReport", "describe_mismatch", "load_into",
    "load_state_dict_strict", "read_weights", "ChecksumMismatchError", "ResolveContext", "ResolvedWeights",
    "cache_path_for", "cached_file", "cached_weights", "fetch_file", "is_offline", "is_url", "local_path",
    "resolve_weights", "verify_spec", "weights_dir", "weights_location", "PretrainedNetwork", "download",
    "load_weights", "pretrained_network", *_SERIALIZATION_NAMES,
]


def __getattr__(name: str) -> Any:
    if name in _SERIALIZATION_NAMES:
        return getattr(importlib.import_module("zoo.weights.serialization"), name)
    raise AttributeError(f"module 'zoo.weights' has no attribute {name!r}")
