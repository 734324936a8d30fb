"""Old module paths of the flat 0.1 layout, kept importable for one release with a DeprecationWarning.

``import zoo.hub`` (say) gives the module that now lives at ``zoo.weights.hub``, the very same module object,
so attributes, monkeypatching and ``isinstance`` checks behave as before. Nothing inside the zoo imports these
names (an import-linter contract checks it); they exist for third-party code written against 0.1.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Sequence

#: old module -> new module
MOVED = {
    "zoo.api": "zoo.inference.loading",
    "zoo.backends": "zoo.inference.backends",
    "zoo.catalog": "zoo.registry.catalog",
    "zoo.components": "zoo.registry.records",
    "zoo.conformance": "zoo.testing.conformance",
    "zoo.core_plugin": "zoo.registry.core_plugin",
    "zoo.evaluation_runners": "zoo.evaluation.runners",
    "zoo.formats": "zoo.weights.formats",
    "zoo.hf": "zoo.weights.hf",
    "zoo.hookspecs": "zoo.registry.hookspecs",
    "zoo.hub": "zoo.weights.hub",
    "zoo.options": "zoo.inference.options",
    "zoo.pipeline": "zoo.inference.pipeline",
    "zoo.plugins": "zoo.registry.manager",
    "zoo.runner": "zoo.inference.runner",
    "zoo.serialization": "zoo.weights.serialization",
}
REMOVED_IN = "0.3"


class _MovedModuleLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the import system stamped the old name's spec on the shared module object: give it back its own
        module.__spec__ = self.own_spec


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        warnings.warn(f"{fullname} moved to {new}; the old name stops working in zoo {REMOVED_IN}",
                      DeprecationWarning, stacklevel=2)
        return importlib.machinery.ModuleSpec(fullname, _MovedModuleLoader(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``import zoo`` does this)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
