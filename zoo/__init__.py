"""zoo: a plugin-based model zoo for conditional image generation.

The facade: everything a user needs by name (``zoo.load``, ``zoo.list_models``, the records a plugin
registers, the errors). How the package is layered, and where each concern lives, is in
docs/architecture.md. ``import zoo`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from zoo import _moved
from zoo.errors import (CatalogError, ComponentArgumentsError, ImageInputError, OptionError, PluginError,
                        UnknownNameError, WeightsError, WeightsUnavailableError, ZooError)
from zoo.registry import (Architecture, Dataset, DataSource, Loss, Recipe, Task, WeightFormat, WeightSource,
                          build_model, get_architecture, get_component, get_entry, get_loss, hookimpl,
                          list_components, list_models)
from zoo.version import VERSION as __version__

_moved.install()

__all__ = [
    "Architecture", "Dataset", "DataSource", "Loss", "Recipe", "Task", "WeightFormat", "WeightSource", "hookimpl",
    "ZooError", "PluginError", "UnknownNameError", "CatalogError", "WeightsError", "WeightsUnavailableError",
    "ImageInputError", "ComponentArgumentsError", "OptionError", "__version__", "load", "build_model", "list_models",
    "get_entry", "download", "list_components", "get_component", "get_architecture", "get_loss", "export",
]


#: facade names whose packages load on first use (``import zoo`` then reads only the registry)
_LAZY = {"load": ("zoo.inference", "load"), "download": ("zoo.weights", "download"),
         "export": ("zoo.export", None)}  # ``zoo.export(name, output, ...)``: the callable package itself


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        loaded = importlib.import_module(module)
        return loaded if attr is None else getattr(loaded, attr)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
