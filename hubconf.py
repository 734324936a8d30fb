"""torch.hub entry points: one per catalog entry, through the zoo's own weights hub.

    model = torch.hub.load("owner/zoo", "cyclegan_horse2zebra")                # from GitHub
    model = torch.hub.load("path/to/zoo", "cyclegan_horse2zebra", source="local")
    model = torch.hub.load(..., "realesrgan_x4plus", weights="my.pth", backend="onnxruntime")
    net = torch.hub.load(..., "cyclegan_horse2zebra", network_only=True)      # the bare nn.Module

Entry names become identifiers (``-`` and ``.`` -> ``_``). Each returns what ``zoo.load`` returns: a
pipeline that takes images (paths, PIL, numpy, tensors) with the entry's pre/post-processing;
``network_only=True`` returns the ``nn.Module``. Keyword arguments are ``zoo.load``'s (``pretrained``,
``weights``, ``weights_format``, ``infer_architecture``, ``backend``, ``device``, ``dtype``, ``tile``...).
Weights come from the zoo cache (``$ZOO_HOME``), not torch.hub's.
"""

from __future__ import annotations

import os as _os
import re as _re
import sys as _sys

dependencies = ["torch", "torchvision", "yaml", "pluggy", "safetensors", "filelock", "PIL", "numpy"]

_HERE = _os.path.dirname(_os.path.abspath(__file__))
for _path in (_os.path.join(_HERE, "plugins"), _HERE):
    if _path not in _sys.path:
        _sys.path.insert(0, _path)

import zoo as _zoo  # noqa: E402
from zoo.registry.manager import get_manager as _get_manager  # noqa: E402

#: the built-in plugins, registered here when the repository is used without being pip-installed
_BUILTIN_PLUGINS = {"translation": "zoo_translation", "sr": "zoo_sr", "style": "zoo_style"}


def _ensure_builtin_plugins() -> None:
    import importlib

    manager = _get_manager()
    for name, module_name in _BUILTIN_PLUGINS.items():
        module = importlib.import_module(module_name)
        if not manager.pm.is_registered(module) and not manager.pm.has_plugin(name):
            manager.register(module, name=name)


def _identifier(name: str) -> str:
    ident = _re.sub(r"\W", "_", name)
    return f"m_{ident}" if ident[:1].isdigit() else ident


def _entry_point(name: str):
    def load_model(pretrained: bool = True, *, network_only: bool = False, **kwargs):
        pipeline = _zoo.load(name, pretrained=pretrained, **kwargs)
        return pipeline.model if network_only else pipeline

    entry = _zoo.get_entry(name)
    load_model.__name__ = load_model.__qualname__ = _identifier(name)
    load_model.__doc__ = (f"{entry.description or name} (zoo entry {name!r}, architecture {entry.architecture}).\n\n"
                          f"Returns zoo.load({name!r}, pretrained=..., **kwargs); network_only=True returns the "
                          "nn.Module. Weights: " + ", ".join(s.uri for s in entry.weights))
    return load_model


def _define_entry_points() -> dict[str, str]:
    _ensure_builtin_plugins()
    names: dict[str, str] = {}
    for name in _zoo.list_models():
        ident = _identifier(name)
        if ident in names or ident in globals():
            raise RuntimeError(f"hubconf: catalog entries {names.get(ident, ident)!r} and {name!r} map to the same "
                               f"identifier {ident!r}")
        names[ident] = name
        globals()[ident] = _entry_point(name)
    return names


#: hub identifier -> catalog entry name
ENTRY_NAMES = _define_entry_points()
