"""zoo: a plugin-based model zoo for conditional image generation."""

from __future__ import annotations

from .components import Architecture, DataSource, Dataset, Loss, Task, WeightFormat, WeightSource
from .errors import (CatalogError, ComponentArgumentsError, ImageInputError, PluginError, UnknownNameError,
                     WeightsError, WeightsUnavailableError, ZooError)
from .hookspecs import hookimpl
from .api import (build_model, download, get_architecture, get_component, get_entry, get_loss, list_components,
                  list_models, load)
from . import export  # callable module: zoo.export(name, output, ...) is zoo.export.export_model

__version__ = "0.1.0"

__all__ = [
    "Architecture", "Dataset", "DataSource", "Loss", "Task", "WeightFormat", "WeightSource", "hookimpl",
    "ZooError", "PluginError", "UnknownNameError", "CatalogError", "WeightsError", "WeightsUnavailableError",
    "ImageInputError", "ComponentArgumentsError", "__version__", "load", "build_model", "list_models", "get_entry",
    "download", "list_components", "get_component", "get_architecture", "get_loss", "export",
]
