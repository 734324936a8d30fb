"""Evaluation and training datasets: from a registered name (or a folder) to a validated local copy.

Owns name resolution (``--data``, ``ZOO_DATA``, the cache, downloads, packaged files), safe unpacking of
downloaded archives, and the folder layouts a dataset can have. May import ``zoo.weights`` (downloads go
through the weights hub), ``zoo.images``, ``zoo.registry``, ``zoo.files`` and ``zoo.errors``.
"""

from __future__ import annotations

from zoo.datasets.archives import unpack_archive
from zoo.datasets.layouts import LAYOUTS, check_layout
from zoo.datasets.resolve import (DataOverrides, LocalDataset, check_data_name, data_home, fetch_dataset, get_dataset,
                                  package_file, registered, resolve_dataset, source, validate)
from zoo.errors import DatasetError, DatasetUnavailableError, UnsafeArchiveError

__all__ = ["DataOverrides", "LocalDataset", "LAYOUTS", "DatasetError", "DatasetUnavailableError",
           "UnsafeArchiveError", "check_data_name", "check_layout", "data_home", "fetch_dataset", "get_dataset",
           "package_file", "registered", "resolve_dataset", "source", "unpack_archive", "validate"]
