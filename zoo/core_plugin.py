"""The core's own plugin: the zoo's catalog (``registry.yaml``) and the components that belong to no model family
(the ``hf://`` weight source, :mod:`zoo.hf`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Callable

from .hookspecs import hookimpl


def registry_path() -> Path:
    return Path(str(resources.files("zoo") / "registry.yaml"))


@hookimpl
def zoo_register_catalogs(register: Callable) -> None:
    register(registry_path())


@hookimpl
def zoo_register_weight_sources(register: Callable) -> None:
    from .components import WeightSource

    register(WeightSource(
        scheme="hf", resolver="zoo.hf:resolve_hf_uri",
        description="Hugging Face Hub model repositories: hf://owner/repo[@revision]/path via huggingface_hub "
                    "(its cache, HF_HUB_CACHE/HF_HOME; HF_HUB_OFFLINE=1 or ZOO_OFFLINE=1: cache only)"))
