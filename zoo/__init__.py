"""zoo: a plugin-based model zoo for conditional image generation.

The facade: everything a user needs by name (``zoo.load``, ``zoo.list_models``, the records a plugin
registers, the errors). How the package is layered, and where each concern lives, is in
docs/architecture.md. ``import zoo`` does not import torch.
"""

from __future__ import annotations

from zoo import _moved, export
from zoo.errors import (
                        CatalogError,
                        ComponentArgumentsError,
                        ImageInputError,
                        OptionError,
                        PluginError,
                        UnknownNameError,
                        WeightsError,
                        WeightsUnavailableError,
                        ZooError,
)
from zoo.inference import load
from zoo.registry import (
                        Architecture,
                        Dataset,
                        DataSource,
                        Loss,
                        Task,
                        WeightFormat,
                        WeightSource,
                        build_model,
                        get_architecture,
                        get_component,
                        get_entry,
                        get_loss,
                        hookimpl,
                        list_components,
                        list_models,
)
from zoo.version import VERSION as __version__
from zoo.weights import download

_moved.install()

__all__ = [
    "Architecture", "Dataset", "DataSource", "Loss", "Task", "WeightFormat", "WeightSource", "hookimpl",
    "ZooError", "PluginError", "UnknownNameError", "CatalogError", "WeightsError", "WeightsUnavailableError",
    "ImageInputError", "ComponentArgumentsError", "OptionError", "__version__", "load", "build_model", "list_models",
    "get_entry", "download", "list_components", "get_component", "get_architecture", "get_loss", "export",
]
