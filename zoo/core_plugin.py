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


#: Images that ship with the zoo or its dependencies: quality runs with no dataset folder and no network.
EMBEDDED_IMAGES = (
    "package://zoo/assets/astronaut_hr.png",            # scikit-image's astronaut (NASA, public domain), 256 crop
    "package://skimage/data/chelsea.png",               # scikit-image (CC0 / public domain per its README)
    "package://skimage/data/coffee.png",
    "package://matplotlib/mpl-data/sample_data/grace_hopper.jpg",  # matplotlib sample data (public domain)
)


@hookimpl
def zoo_register_datasets(register: Callable) -> None:
    from .components import DataSource, Dataset

    register(Dataset(
        name="embedded", task="any", layout="images",
        sources=tuple(DataSource(url=url) for url in EMBEDDED_IMAGES),
        description="the default evaluation images: the zoo's bundled astronaut crop, scikit-image's chelsea and "
                    "coffee, matplotlib's grace_hopper (those installed), centre-cropped to 256x256",
        license="public domain / CC0 (see each package)", options={"center_crop": 256}))
