"""The core's own plugin: the zoo's catalog (``registry.yaml``) and the components that belong to no model family."""

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
