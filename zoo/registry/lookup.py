"""Looking names up: catalog entries, registered components, and networks built from them.

These are the functions behind ``zoo.list_models``, ``zoo.get_entry``, ``zoo.build_model``,
``zoo.list_components``, ``zoo.get_component``, ``zoo.get_architecture`` and ``zoo.get_loss``.
They read the plugin manager's tables; building a network imports its plugin's module (and torch).
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from zoo.errors import ComponentArgumentsError
from zoo.registry.catalog import Entry
from zoo.registry.manager import get_manager
from zoo.registry.records import RECORD_KINDS, Registered

if TYPE_CHECKING:
    from torch import nn

#: ``--task`` shorthands; a query also matches every task in its family (``super-resolution`` matches
#: ``super-resolution-y``: ``<query>-<variant>``) and every task ending in ``-<query>``.
TASK_ALIASES = {"sr": "super-resolution", "style": "style-transfer"}


def task_matches(query: str, task: str) -> bool:
    """Whether ``task`` is what a user means by ``--task query`` (exact, alias, family or suffix)."""
    query = TASK_ALIASES.get(query.strip().lower(), query.strip().lower())
    return task == query or task.startswith(query + "-") or task.endswith("-" + query)


def matching_tasks(query: str, tasks: Iterable[str]) -> list[str]:
    return sorted({t for t in tasks if task_matches(query, t)})



def list_models(pattern: str | Sequence[str] | None = None, task: str | None = None) -> list[str]:
    """Catalog names matching any glob ``pattern`` (``"cyclegan-*"``, or a list) and/or a task.

    ``task`` also takes a family or alias (:func:`task_matches`): ``"super-resolution"`` or
    ``"sr"`` includes ``super-resolution-y``, ``"translation"`` both translation tasks.
    """
    catalog = get_manager().catalog
    patterns = [pattern] if isinstance(pattern, str) else list(pattern or [])
    return [n for n in catalog.names() if (not patterns or any(fnmatch.fnmatchcase(n, p) for p in patterns))
            and (task is None or task_matches(task, catalog.get(n).task))]


def get_entry(name: str) -> Entry:
    return get_manager().catalog.get(name)


def _entry(name_or_entry: str | Entry) -> Entry:
    return name_or_entry if isinstance(name_or_entry, Entry) else get_entry(name_or_entry)


def _construct(kind: str, name: str, factory: Any, kwargs: Mapping[str, Any], where: str = "") -> Any:
    """Call a component's factory; bad arguments become one ComponentArgumentsError naming them."""
    try:
        return factory(**kwargs)
    except (TypeError, ValueError, AssertionError, KeyError) as exc:
        raise ComponentArgumentsError(f"{kind} {name!r}{where} rejected kwargs {dict(kwargs)}: "
                                      f"{type(exc).__name__}: {exc}") from None


def build_model(name_or_entry: str | Entry, **overrides: Any) -> nn.Module:
    """The entry's network with freshly initialised weights; ``overrides`` replace architecture kwargs."""
    entry = _entry(name_or_entry)
    factory = get_manager().components("architecture").get(entry.architecture).load("factory")
    where = f" of entry {entry.name!r} ({entry.source})" if entry.source else f" of entry {entry.name!r}"
    return _construct("architecture", entry.architecture, factory, {**entry.kwargs, **overrides}, where)


def list_components(kind: str | None = None) -> list[str] | dict[str, list[str]]:
    """Names of the registered components of ``kind`` ('architecture', 'loss', 'task', 'weight_format',
    'weight_source', 'dataset'), or, without ``kind``, a mapping of every kind to its names."""
    manager = get_manager()
    if kind is not None:
        return list(manager.components(kind))
    return {k: list(manager.components(k)) for k in RECORD_KINDS}


def get_component(kind: str, name: str) -> Registered:
    """The registered record of one component (``.record``) and the plugin that provides it (``.provider``)."""
    return get_manager().components(kind).get(name)


def get_architecture(name: str, **kwargs: Any) -> nn.Module:
    """A registered architecture built with ``kwargs`` (random weights): ``zoo.get_architecture("rrdbnet", num_block=6)``."""
    factory = get_component("architecture", name).load("factory")
    return _construct("architecture", name, factory, kwargs)


def get_loss(name: str, **kwargs: Any) -> Any:
    """A registered loss, ready to call: a loss class is instantiated with ``kwargs``; a loss function is
    returned as is, or with ``kwargs`` bound (``functools.partial``)."""
    factory = get_component("loss", name).load("factory")
    if inspect.isclass(factory):
        return _construct("loss", name, factory, kwargs)
    if kwargs:
        try:
            inspect.signature(factory).bind_partial(**kwargs)
        except TypeError as exc:
            raise ComponentArgumentsError(f"loss {name!r} rejected kwargs {kwargs}: {exc}") from None
        return functools.partial(factory, **kwargs)
    return factory
