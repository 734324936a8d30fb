"""Typed records that plugins register, and the lookup of registered components.

A record names its code either as a callable or as an import path ``"pkg.module:attr"``;
import paths are imported on first use, so discovering components stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

from zoo.errors import PluginError, UnknownNameError

Factory = Union[str, Callable[..., Any]]


def import_object(target: Factory, *, what: str = "object", provider: str | None = None) -> Any:
    """Return ``target`` itself, or the attribute an ``"pkg.module:attr"`` path names."""
    if not isinstance(target, str):
        return target
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{what}: {target!r} is not an import path of the form 'pkg.module:attr'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # noqa: BLE001 - any failure of a plugin's code is reported with its origin
        by = f" (provided by plugin {provider!r})" if provider else ""
        raise PluginError(f"cannot import {what} {target!r}{by}: {type(exc).__name__}: {exc}") from exc
    return obj


@dataclass(frozen=True)
class Architecture:
    """A network constructor. ``example_kwargs``/``example_input`` give a tiny build for conformance tests."""

    name: str
    factory: Factory
    description: str = ""
    example_kwargs: Mapping[str, Any] = field(default_factory=dict)
    example_input: tuple[int, ...] = (1, 3, 32, 32)


@dataclass(frozen=True)
class Loss:
    """A training loss (an ``nn.Module`` class or a function).

    ``example_inputs`` names a callable returning ``(args, kwargs)`` for one call of the built loss
    (conformance checks call it and expect a finite scalar that gradients flow through); without it,
    the loss is called on two random ``(2, 3, 32, 32)`` tensors (prediction, target).
    """

    name: str
    factory: Factory
    description: str = ""
    example_kwargs: Mapping[str, Any] = field(default_factory=dict)
    example_inputs: Factory | None = None


@dataclass(frozen=True)
class Task:
    """A kind of image-to-image job.

    ``pipeline`` turns user images into outputs around a model (inference); ``trainer`` (optional)
    is how an entry of this task is trained: its models, losses, optimisers, schedule and defaults.
    """

    name: str
    description: str = ""
    pipeline: Factory = "zoo.inference:ImagePipeline"
    trainer: Factory | None = None
    #: how quality is measured for entries of this task (:mod:`zoo.evaluation`): ``kind`` (restoration |
    #: paired | unpaired | style), default ``dataset``/``metrics``/``y_channel``..., and ``degrade``
    #: ("pkg.mod:fn", fn(hr uint8 HxWx3, scale) -> lr) to make inputs from a plain image set.
    #: Catalog entries override these with their ``evaluation:`` mapping.
    evaluation: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WeightFormat:
    """How a checkpoint of some upstream layout becomes a state_dict for our module.

    ``reader(path) -> Mapping[str, Tensor]`` reads a file (default: the core's safe loader).
    ``adapter(state_dict, model) -> Mapping[str, Tensor]`` renames/drops keys before the strict load; it gets
    what the reader returned (wrappers such as ``{"params_ema": ...}`` included) and the freshly built network.
    The contracts of ``sniff``, ``infer_kwargs`` and ``layout`` are below; docs/plugins.md has examples.
    """

    name: str
    reader: Factory | None = None
    adapter: Factory | None = None
    description: str = ""
    #: ``sniff(state_dict, model) -> bool``: cheap recognition (key names and shapes only) of a file
    #: in this layout, used when a ``weights=`` file does not fit the entry's own format. It gets the object the
    #: core loader read (formats with a ``reader`` are never guessed), must not change it, and says "this is my
    #: layout", not "it fits": the fit is checked strictly after ``adapter``. Raising counts as "not recognised".
    sniff: Factory | None = None
    #: ``infer_kwargs(state_dict, kwargs) -> dict``: architecture kwargs read off a checkpoint's
    #: shapes (block counts, widths), used only when the user asks (``infer_architecture=True``). It gets the
    #: object read and the entry's kwargs, returns the kwargs the file implies (those that differ are applied), and
    #: raises :class:`zoo.errors.WeightsError` when the file does not say.
    infer_kwargs: Factory | None = None
    #: ``layout(model) -> mapping``: the upstream checkpoint's structure for a network built like ``model``, as the
    #: official file has it (wrapper keys, prefixes, names; nested mappings whose leaves are tensor shapes), or as
    #: ``reader`` returns it. :func:`zoo.testing.write_checkpoint` writes a synthetic file from it, and the
    #: conformance check adapts one for every entry in this format, so the adapter is tested without the real file.
    layout: Factory | None = None


@dataclass(frozen=True)
class WeightSource:
    """A resolver for weight URIs of one scheme (``scheme://...``).

    ``resolver(uri, context) -> Path`` fetches or builds the file (see :class:`zoo.weights.hub.ResolveContext`).
    ``example_uri`` is a URI the conformance check resolves (offline) to test the resolver; catalog
    entries using the scheme are resolved too. Two optional helpers let the core check and show what
    the source keeps in the cache (``zoo info``, ``zoo list``, ``zoo cache verify``, and the sha256
    check on first use); keep their modules free of torch imports:

    - ``locate(uri, context) -> Path | None``: where the file of ``uri`` is (or would be) kept, without
      fetching anything; ``None`` when the source cannot say.
    - ``digest_files(path) -> list[Path]``: the files, in order, whose concatenated bytes the catalog's
      ``sha256`` covers (default: ``[path]``), e.g. the variable files of a multi-file checkpoint.
    """

    scheme: str
    resolver: Factory
    description: str = ""
    example_uri: str | None = None
    locate: Factory | None = None
    digest_files: Factory | None = None


@dataclass(frozen=True)
class DataSource:
    """Where a dataset comes from: an official download (an archive, zip/tar, or an image file) with its sha256,
    or a local folder (``url="file:///data/mine"`` or a plain path), used in place, never copied.

    ``root`` is the folder inside the archive (or the local folder) that holds the dataset's layout.
    """

    url: str
    sha256: str | None = None
    file_name: str | None = None
    root: str = ""


@dataclass(frozen=True)
class Dataset:
    """An evaluation or training dataset in one of the zoo's layouts.

    ``layout`` is one of ``sr-pairs`` (HR/LR images by scale), ``paired`` (A/B pairs),
    ``unpaired`` (trainA/trainB/testA/testB folders), ``images`` (a plain folder, e.g. style
    content images). ``options`` holds layout details (scales, splits, file patterns).
    Local copies override the sources: ``--data NAME=DIR`` or ``ZOO_DATA`` (:mod:`zoo.datasets.resolve`).
    """

    name: str
    task: str
    layout: str
    sources: tuple[DataSource, ...] = ()
    description: str = ""
    license: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """A published training recipe: the trainer options an upstream project trained its models with.

    Catalog entries name it (``recipe: NAME``), so ``zoo train ENTRY`` starts from the recipe that made the
    entry's weights instead of the task's generic defaults. ``source`` says where the values come from
    (an upstream config file or script, a paper section); ``differences`` lists what this zoo does
    differently on purpose (features not implemented, values that cannot carry over).
    """

    name: str
    task: str
    options: Mapping[str, Any]
    source: str
    description: str = ""
    differences: tuple[str, ...] = ()


RECORD_KINDS: dict[str, tuple[type, str, str]] = {
    # kind: (record type, hook name, key attribute)
    "architecture": (Architecture, "zoo_register_architectures", "name"),
    "loss": (Loss, "zoo_register_losses", "name"),
    "task": (Task, "zoo_register_tasks", "name"),
    "weight_format": (WeightFormat, "zoo_register_weight_formats", "name"),
    "weight_source": (WeightSource, "zoo_register_weight_sources", "scheme"),
    "dataset": (Dataset, "zoo_register_datasets", "name"),
    "recipe": (Recipe, "zoo_register_recipes", "name"),
}


#: The attributes of each record type that name code (import paths or callables).
CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "architecture": ("factory",),
    "loss": ("factory", "example_inputs"),
    "task": ("pipeline", "trainer"),
    "weight_format": ("reader", "adapter", "sniff", "infer_kwargs", "layout"),
    "weight_source": ("resolver",),
    "dataset": (),
    "recipe": (),
}


def _check_import_path(target: str, what: str) -> None:
    """Syntax of ``"pkg.module:attr"`` and, without importing anything new, that the module exists."""
    module_name, sep, attr = target.partition(":")
    if not (sep and module_name and attr and all(p.isidentifier() for p in module_name.split("."))
            and all(p.isidentifier() for p in attr.split("."))):
        raise PluginError(f"{what} {target!r} is not an import path of the form 'pkg.module:attr'")
    if module_name in sys.modules:
        return
    parent = module_name.rpartition(".")[0]
    # find_spec of a dotted name imports its parents: only look that deep where they are imported already
    probe = module_name if not parent or parent in sys.modules else module_name.split(".")[0]
    try:
        found = importlib.util.find_spec(probe)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise PluginError(f"{what} {target!r}: module {probe!r} cannot be found (not installed, or left out of the wheel?)")


def validate_record(kind: str, record: Any) -> str:
    """Check one registered record of ``kind`` without importing its code; return its name. Raises PluginError."""
    record_type, hook_name, key_attr = RECORD_KINDS[kind]
    if not isinstance(record, record_type):
        raise PluginError(f"its hook {hook_name} registered {record!r}; expected a zoo.{record_type.__name__} record")
    key = getattr(record, key_attr)
    if not isinstance(key, str) or not key.strip():
        raise PluginError(f"it registered a {kind} with an empty {key_attr} ({record!r})")
    if kind == "recipe":
        if not isinstance(record.source, str) or not record.source.strip():
            raise PluginError(f"recipe {key!r} has no source (the upstream config, script or paper its values "
                              "come from)")
        if not isinstance(record.options, Mapping):
            raise PluginError(f"recipe {key!r}: options is {type(record.options).__name__}; expected a mapping")
    for attr in CODE_FIELDS[kind]:
        target = getattr(record, attr)
        what = f"{kind} {key!r}: {attr}"
        if target is None:
            if attr in ("factory", "pipeline", "resolver"):
                raise PluginError(f"{what} is missing")
        elif isinstance(target, str):
            _check_import_path(target, what)
        elif not callable(target):
            raise PluginError(f"{what} is {target!r}; expected a callable or an import path 'pkg.module:attr'")
    return key


@dataclass(frozen=True)
class Registered:
    """A record together with the plugin that registered it."""

    record: Any
    provider: str

    def load(self, attr: str) -> Any:
        target = getattr(self.record, attr)
        key = getattr(self.record, "name", None) or getattr(self.record, "scheme", "?")
        return import_object(target, what=f"{type(self.record).__name__} {key!r}.{attr}", provider=self.provider)


class ComponentTable:
    """Name -> registered record, for one kind; duplicates raise naming both providers."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Registered] = {}

    def add(self, record: Any, provider: str) -> None:
        record_type, _, key_attr = RECORD_KINDS[self.kind]
        if not isinstance(record, record_type):
            raise PluginError(
                f"plugin {provider!r} registered {record!r} as a {self.kind}; expected a {record_type.__name__} record"
            )
        key = getattr(record, key_attr)
        if not isinstance(key, str) or not key.strip():
            raise PluginError(f"plugin {provider!r} registered a {self.kind} with an empty {key_attr}")
        if key in self._items:
            other = self._items[key].provider
            raise PluginError(f"{self.kind} {key!r} is provided by both plugin {other!r} and plugin {provider!r}")
        self._items[key] = Registered(record, provider)

    def get(self, key: str) -> Registered:
        try:
            return self._items[key]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"no {self.kind} named {key!r} is registered (known: {known})") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self):
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, Registered]]:
        return sorted(self._items.items())
