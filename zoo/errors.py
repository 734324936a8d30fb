"""Errors the zoo raises on purpose; each message says what to do next."""

from __future__ import annotations


class ZooError(Exception):
    """Base class of every error the zoo raises deliberately."""


class PluginError(ZooError):
    """A plugin failed to load, or two plugins provide the same component."""


class UnknownNameError(ZooError, KeyError):
    """A model, architecture, task, format or scheme name that nothing provides."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ComponentArgumentsError(ZooError, ValueError, TypeError):
    """A registered component (architecture, loss) refused the arguments it was built with.

    Also a TypeError, as the constructor's own error was, so older ``except TypeError`` still works.
    """


class CatalogError(ZooError):
    """A catalog file or entry does not match the schema."""


class WeightsUnavailableError(ZooError):
    """Weights could not be found in the cache nor fetched; the message names file, URL and env vars."""


class WeightsError(ZooError):
    """A weights file exists but is corrupt, unsafe or does not fit the model."""


class ImageInputError(ZooError, ValueError):
    """An input image that the pipeline cannot use."""


class OptionError(ZooError, ValueError):
    """A user-facing argument with a wrong type or value."""


class DatasetError(ZooError, ValueError):
    """A dataset name, override or folder that cannot be used; the message names it and what was expected."""


class DatasetUnavailableError(DatasetError):
    """The dataset is neither local nor downloadable here; the message names the archive, URL and where to seed it."""


class UnsafeArchiveError(DatasetError):
    """An archive member would land outside the dataset folder, or is a link or device file."""
