"""The registry: what plugins provide and the catalog of named models, with the plugin manager that collects them.

Owns the hook specifications (:mod:`~zoo.registry.hookspecs`), the typed records plugins register
(:mod:`~zoo.registry.records`), the plugin manager (:mod:`~zoo.registry.manager`), the core's own plugin
(:mod:`~zoo.registry.core_plugin`), the catalog schema (:mod:`~zoo.registry.catalog`) and name lookups
(:mod:`~zoo.registry.lookup`). Imports only ``zoo.errors``: every other layer of the zoo builds on it.
No torch here; building a network (``build_model``) imports its plugin's module.
"""

from __future__ import annotations

from zoo.registry.catalog import (Catalog, Entry, Processing, WeightSpec, parse_entry, read_catalog_file)
from zoo.registry.hookspecs import hookimpl, hookspec
from zoo.registry.lookup import (TASK_ALIASES, build_model, get_architecture, get_component, get_entry, get_loss,
                                 list_components, list_models, matching_tasks, task_matches)
from zoo.registry.manager import (PluginInfo, ZooPluginManager, ZooPluginWarning, components, get_manager,
                                  use_manager)
from zoo.registry.records import (RECORD_KINDS, Architecture, ComponentTable, Dataset, DataSource, Loss, Recipe,
                                  Registered, Task, WeightFormat, WeightSource, import_object)

__all__ = [
    "Architecture", "Loss", "Task", "WeightFormat", "WeightSource", "DataSource", "Dataset", "Recipe", "Registered",
    "ComponentTable", "RECORD_KINDS", "import_object", "hookimpl", "hookspec",
    "Catalog", "Entry", "Processing", "WeightSpec", "parse_entry", "read_catalog_file",
    "PluginInfo", "ZooPluginManager", "ZooPluginWarning", "components", "get_manager", "use_manager",
    "TASK_ALIASES", "build_model", "get_architecture", "get_component", "get_entry", "get_loss", "list_components",
    "list_models", "matching_tasks", "task_matches",
]
