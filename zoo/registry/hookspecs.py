"""The hooks a zoo plugin can implement.

Every hook receives a ``register`` callback (typed: ``Callable[[Architecture], None]`` for architectures, and so
on) and is called once per plugin manager. docs/plugins.md, "Hook reference", has one example per hook.
Plugins hand over small typed records (see :mod:`zoo.registry.records`) that name their code
by import path, so listing the zoo never imports a model module. Pluggy passes only the
arguments an implementation asks for, so a hook may gain arguments without breaking
existing plugins.

Everything one plugin registers (all its hooks, records and catalog files) is validated
together: if any of it fails, the whole plugin is disabled with a warning naming it, and
the rest of the zoo works (``ZOO_STRICT_PLUGINS=1`` makes it an error). A function named
``zoo_register_*`` counts as an implementation even without ``@zoo.hookimpl`` (as in
pytest), so a misspelt hook name is reported instead of silently ignored.
Names are shared by all plugins: a name that a built-in plugin already has is refused
unless the user sets ``ZOO_PREFER=<plugin>`` (see docs/plugins.md).
"""

from __future__ import annotations

import os
from typing import Callable

import pluggy

from zoo.registry.records import Architecture, Dataset, Loss, Recipe, Task, WeightFormat, WeightSource

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@hookspec
def zoo_register_architectures(register: Callable[[Architecture], None]) -> None:
    """Register network architectures.

    Call ``register(Architecture(name=..., factory="pkg.module:Class"))`` once per
    architecture. Catalog entries refer to architectures by ``name``. The factory is
    imported only when a model is built.
    """


@hookspec
def zoo_register_losses(register: Callable[[Loss], None]) -> None:
    """Register training losses: ``register(Loss(name=..., factory="pkg.module:Class"))``.

    The factory is a loss class (an ``nn.Module``, instantiated with keyword arguments) or a loss function
    (keyword arguments bound with ``functools.partial``); :func:`zoo.get_loss` builds either, and trainers get
    losses through it. Called as ``loss(prediction, target)`` unless ``example_inputs`` says otherwise, a loss
    returns a finite scalar tensor that gradients flow through (checked by the conformance check, and by
    ``zoo train`` at the first call).
    """


@hookspec
def zoo_register_tasks(register: Callable[[Task], None]) -> None:
    """Register tasks (super-resolution, paired-translation, ...).

    A task names the inference pipeline that turns user images into model inputs and
    model outputs back into images: ``register(Task(name=..., pipeline="pkg.mod:Class"))``;
    optionally its ``trainer`` (a :class:`zoo.training.Trainer` subclass, for ``zoo train``) and its
    ``evaluation`` (the protocol of ``zoo bench --quality``: ``kind``, ``dataset``, ``metrics``...). Reusing a
    built-in task (``super-resolution``...) in a catalog entry brings its pipeline, trainer and evaluation.
    """


@hookspec
def zoo_register_weight_formats(register: Callable[[WeightFormat], None]) -> None:
    """Register checkpoint formats: how a file is read and adapted to a model's state_dict.

    ``register(WeightFormat(name="junyanz", adapter="pkg.mod:adapt"))``. Catalog weight
    sources name their format; the core reads ``.pth``/``.safetensors`` safely unless the
    format brings its own ``reader``.
    """


@hookspec
def zoo_register_weight_sources(register: Callable[[WeightSource], None]) -> None:
    """Register resolvers for weight URIs by scheme.

    ``register(WeightSource(scheme="pypi-ncnn", resolver="pkg.mod:resolve"))`` makes
    ``pypi-ncnn://...`` URIs in the catalog (or in ``zoo.load(weights=...)``) resolvable.
    The resolver is called as ``resolver(uri, context)`` and returns the path of an existing
    local file (or folder, for multi-file formats), or raises
    :class:`zoo.errors.WeightsUnavailableError` saying what the user can do.

    ``context`` is a :class:`zoo.weights.hub.ResolveContext`:

    - ``context.spec``: the catalog's :class:`~zoo.registry.catalog.WeightSpec` (``uri``, ``sha256``,
      ``file_name``, ``format``, ...);
    - ``context.entry``: the catalog entry being loaded (``entry.kwargs``, ``entry.name``),
      or None when a bare URI was given;
    - ``context.offline``: True under ``ZOO_OFFLINE=1`` (and in the conformance check):
      never touch the network, raise WeightsUnavailableError if the file is not local;
    - ``context.cache_dir``: the zoo's weights cache (``$ZOO_HOME/weights``); keep files
      in a sub-folder named after your scheme;
    - ``context.progress``: whether a download may show a progress bar.

    Helpers: :func:`zoo.weights.serialization.save_state_dict` writes a state_dict atomically,
    :func:`zoo.weights.hub.fetch_file` downloads into the cache (sha256-checked, atomic, locked),
    :func:`zoo.weights.hub.atomic_path` gives a temporary path renamed into place on success.
    ``WeightSource.example_uri`` is resolved by the conformance check.
    """


@hookspec
def zoo_register_datasets(register: Callable[[Dataset], None]) -> None:
    """Register datasets: ``register(Dataset(name="set5", task="super-resolution", layout="sr-pairs", ...))``.

    A dataset names its official downloads (with sha256) and its layout; benchmark suites and
    catalog entries refer to it by name, and training reads folders in the same layouts.
    """


@hookspec
def zoo_register_recipes(register: Callable[[Recipe], None]) -> None:
    """Register training recipes: ``register(Recipe(name="pix2pix", task="paired-translation", options={...},
    source="https://github.com/junyanz/..."))``.

    A catalog entry names the recipe its weights were trained with (``recipe: pix2pix``); ``zoo train ENTRY``
    then starts from the recipe's options (over the trainer's defaults, under ``--config`` and ``key=value``),
    and ``zoo train ENTRY --list-options`` says which default comes from where.
    """


@hookspec
def zoo_register_catalogs(register: Callable[[str | os.PathLike[str]], None]) -> None:
    """Register catalog files: ``register(path_to_yaml)``.

    Their entries join those of the zoo's own ``registry.yaml`` and are validated the same way.
    """
