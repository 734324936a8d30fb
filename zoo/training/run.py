"""From a name to a finished run: resolve the entry or task, build its trainer, fit, export a catalog entry.

A finished (or checkpointed) run folder holds ``model.safetensors`` (the exported model), ``catalog.yaml``
(one entry: task, architecture, kwargs, processing, the weights path relative to the YAML, and the final
validation metrics) and ``zoo_run_plugin.py`` (registers that YAML), so ``ZOO_PLUGINS_DIR=RUN``,
:func:`register_run` or ``zoo.load(entry, weights=RUN/model.safetensors)`` make it usable by
``zoo run`` / ``zoo bench`` / ``zoo export``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from zoo.errors import OptionError, UnknownNameError, WeightsUnavailableError, ZooError
from zoo.files import atomic_path, blocking_file
from zoo.inference.runs import (BEST_WEIGHTS_FILE, CATALOG_FILE, CHECKPOINTS, PLUGIN_FILE, WEIGHTS_FILE,
                                register_run_catalog)
from zoo.registry.catalog import Processing
from zoo.registry.manager import get_manager
from zoo.training.config import (ConfigError, TrainingError, absolute_paths, parse_overrides, plain,
                                 read_config_file, resolve_options)
from zoo.training.recipes import entry_layers
from zoo.training.resume import check_resume, data_of_run
from zoo.weights.hub import resolve_weights
from zoo.weights.loading import load_weights

_PLUGIN_SOURCE = '''"""zoo plugin of one training run: registers catalog.yaml beside this file (made by `zoo train`)."""
from pathlib import Path

from zoo.registry.hookspecs import hookimpl


@hookimpl
def zoo_register_catalogs(register):
    register(Path(__file__).with_name("{catalog}"))
'''


def resolve_target(target: str) -> tuple[Any, str, type]:
    """``(entry or None, task name, trainer class)`` for a catalog entry or a task name."""
    manager = get_manager()
    tasks = manager.components("task")
    entry = None
    if target in tasks:
        task_name = target
    else:
        try:
            entry = manager.catalog.get(target)
        except UnknownNameError as exc:
            raise UnknownNameError(f"{exc} (nor a task: {', '.join(tasks)})") from None
        task_name = entry.task
    registered = tasks.get(task_name)
    if registered.record.trainer is None:
        trainable = [n for n, r in tasks.items() if r.record.trainer is not None]
        raise TrainingError(f"task {task_name!r} has no trainer (tasks that train: {', '.join(trainable) or 'none'})")
    return entry, task_name, registered.load("trainer")


def default_out(target: str) -> Path:
    return Path("runs") / re.sub(r"[^A-Za-z0-9_.-]+", "-", target)


def check_out(out: Path) -> None:
    """The run folder must be a folder (or not exist yet, under folders): a one-line error before any work."""
    path = blocking_file(out, include_self=True)
    if path is not None:
        where = "" if path == out else f" (in --out {out})"
        raise ConfigError(f"--out {path}{where} is a file, not a folder; pass --out with a folder for the run")


def train(target: str, data: str | Path | None = None, *, config: str | Path | Mapping[str, Any] | None = None,
          overrides: Mapping[str, Any] | list[str] | None = None, out: str | Path | None = None,
          resume: bool = False, from_scratch: bool = False, weights: str | Path | None = None,
          allow_changes: bool = False) -> dict[str, Any]:
    """Train an entry (fine-tuning its pretrained weights unless ``from_scratch``) or a task from scratch.

    ``weights`` (a file, URL or plugin URI, like ``zoo.load(name, weights=...)``) replaces the entry's own
    pretrained weights as the starting point.

    ``config`` is a YAML file or mapping of options (a run's own ``RUN/config.yaml`` too, whose ``data`` is used
    when ``data`` is None), ``overrides`` a mapping or ``["key=value", ...]``. ``resume`` continues the run in
    ``out`` (its data unless ``data`` is given); options that would make it another run are refused unless
    ``allow_changes``. Returns ``{"out", "step", "val", "entry", "catalog"}``. Under torchrun every process calls this.
    """
    trainer = prepare(target, data, config=config, overrides=overrides, out=out, resume=resume,
                      from_scratch=from_scratch, weights=weights, allow_changes=allow_changes)
    return finish(trainer, trainer.fit())


def _folder_name(out: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", out.resolve().name)


def prepare(target: str, data: str | Path | None = None, *, config: str | Path | Mapping[str, Any] | None = None,
            overrides: Mapping[str, Any] | list[str] | None = None, out: str | Path | None = None,
            resume: bool = False, from_scratch: bool = False, weights: str | Path | None = None,
            allow_changes: bool = False) -> Any:
    """The trainer of a run, its options resolved and checked (``train`` = prepare + fit + finish).

    Nothing is written here: the run folder is made when training starts, after the data, the networks and
    the losses are built, so a run that cannot start leaves no folder behind."""
    from zoo.training.state import load_checkpoint  # heavy

    entry, task_name, trainer_cls = resolve_target(target)
    if weights is not None and (entry is None or from_scratch):
        raise ConfigError("--weights sets the starting point of fine-tuning an entry; "
                          + ("it cannot go with --from-scratch" if from_scratch else f"{target!r} is a task"))
    out = Path(out) if out is not None else default_out(target)
    check_out(out)
    given: list[tuple[str, Mapping[str, Any]]] = []
    run_config: dict[str, Any] = {}
    if config is not None:
        if isinstance(config, Mapping):
            given.append(("config", dict(config)))
        else:
            options_of_file, run_config = read_config_file(config)
            given.append((str(config), options_of_file))
    if overrides:
        layer = ("command line", parse_overrides(overrides)) if isinstance(overrides, list) \
            else ("overrides", dict(overrides))  # named as the caller gave them
        given.append(layer)
    ckpt_path = out / CHECKPOINTS / "last.pt"
    checkpoint = None
    if resume:
        checkpoint = load_checkpoint(ckpt_path)
        if checkpoint.get("task") != task_name:
            raise TrainingError(f"{ckpt_path} was written by a {checkpoint.get('task')!r} run, not {task_name!r}")
        layers = [(f"checkpoint {ckpt_path}", checkpoint["config"])]
        data = data if data is not None else data_of_run(out, checkpoint)
    else:
        if ckpt_path.is_file():
            raise TrainingError(f"{out} already holds a run (checkpoint at step "
                                f"{_step_of(ckpt_path)}); pass --resume to continue it or --out to start elsewhere")
        layers = entry_layers(entry)
        data = data if data is not None else run_config.get("data")
    if data is None:
        raise ConfigError("--data DIR is required (the training images, in the task's layout)")
    options = absolute_paths(resolve_options(trainer_cls.options, layers + given, what=f"{task_name!r} trainer"),
                             trainer_cls.options)
    name_set = any("name" in layer for _, layer in given)
    if options.get("name") is None:
        options["name"] = _folder_name(out)
    changes = None
    if checkpoint is not None:
        changes = check_resume(checkpoint, options, Path(data), safe=trainer_cls.RESUME_SAFE,
                               allow_changes=allow_changes, where=out, declared=trainer_cls.options)
    pretrained = entry is not None and not from_scratch and not resume
    trainer = trainer_cls(options, data=data, out=out, entry=entry, task=task_name, pretrained=pretrained,
                          checkpoint=checkpoint)
    trainer.pretrained_weights = weights
    trainer.target = target
    trainer.name_given = name_set or (resume and options["name"] != _folder_name(out))
    trainer.resume_changes = changes
    return trainer


def finish(trainer: Any, result: Mapping[str, Any]) -> dict[str, Any]:
    """Write the run's catalog entry (rank 0) and leave the process group."""
    from zoo.training.state import is_distributed  # heavy

    catalog = write_catalog(trainer, result.get("val") or {}) if trainer.is_main else trainer.out / CATALOG_FILE

    if is_distributed():
        import torch.distributed as dist  # heavy

        dist.barrier()
        dist.destroy_process_group()
    return {"out": trainer.out, "step": result["step"], "val": result.get("val"), "entry": trainer.config["name"],
            "catalog": catalog}


def _step_of(path: Path) -> Any:
    try:
        import torch  # heavy

        return torch.load(path, map_location="cpu", weights_only=True).get("step", "?")
    except Exception:  # noqa: BLE001 - only for the message
        return "?"


def load_pretrained(trainer: Any, model: Any) -> None:
    """Load the trainer's entry's weights into ``model`` (fine-tuning); a clear error when they are unreachable."""
    entry = trainer.entry
    try:
        resolved = resolve_weights(entry, trainer.pretrained_weights, progress=trainer.is_main)
    except (WeightsUnavailableError, ZooError) as exc:
        if trainer.pretrained_weights is not None:  # the user's own file: say what is wrong with it, nothing more
            raise TrainingError(f"cannot fine-tune {entry.name!r} from --weights {trainer.pretrained_weights}: {exc}") \
                from None
        raise TrainingError(f"cannot fine-tune {entry.name!r}: its pretrained weights are unavailable ({exc}); "
                            "pass --weights PATH to start from a local copy, or --from-scratch to train it from random "
                            "weights") from None
    load_weights(model, entry, resolved)


def export_state(model: Any, path: Path, metadata: Mapping[str, str]) -> Path:
    """A model's state_dict as safetensors, atomically."""
    from safetensors.torch import save_file  # heavy

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=dict(metadata))
    return path


def export_weights(trainer: Any) -> Path:
    """The exported model of the current step as ``RUN/model.safetensors``."""
    return export_state(trainer.models[trainer.export_model], trainer.out / WEIGHTS_FILE, trainer.weights_metadata())


def processing_dict(processing: Any) -> dict[str, Any]:
    """A :class:`~zoo.registry.catalog.Processing` (or mapping) as catalog YAML, defaults left out."""
    if isinstance(processing, Mapping):
        return plain(processing)
    default = Processing()
    return {f.name: plain(getattr(processing, f.name)) for f in dataclasses.fields(processing)
            if getattr(processing, f.name) != getattr(default, f.name)}


def write_catalog(trainer: Any, metrics: Mapping[str, float]) -> Path:
    """``catalog.yaml`` + ``zoo_run_plugin.py`` in the run folder; the entry's weights are the best validation
    step's (``best.safetensors``) when the run has one, else the last step's."""
    spec = trainer.export_entry()
    name = trainer.config["name"]
    best = getattr(trainer, "best", None)
    if best is not None and best.step is not None and (trainer.out / BEST_WEIGHTS_FILE).is_file():
        weights = {"url": BEST_WEIGHTS_FILE, "description": f"zoo train, best {best.metric} ({best.value:.5g}) at step "
                                                            f"{best.step} of {trainer.step}"}
        metrics = best.values or metrics
    else:
        weights = {"url": WEIGHTS_FILE, "description": f"zoo train, step {trainer.step}"}
    entry: dict[str, Any] = {
        "name": name, "task": trainer.task_name,
        "architecture": {"name": spec["architecture"], "kwargs": plain(spec.get("kwargs", {}))},
        "weights": [weights],
        "processing": processing_dict(spec.get("processing", {})),
        "description": spec.get("description") or f"Trained with `zoo train` ({trainer.task_name}) on {trainer.data}",
        "dataset": str(trainer.data),
        "tags": ["zoo-train", trainer.task_name],
    }
    if metrics:
        entry["metrics"] = [{"metric": k, "value": round(float(v), 4), "dataset": "validation", "source": "zoo train"}
                            for k, v in metrics.items()]
    path = trainer.out / CATALOG_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump({"entries": [entry]}, sort_keys=False), encoding="utf-8")
    with atomic_path(trainer.out / PLUGIN_FILE) as tmp:
        tmp.write_text(_PLUGIN_SOURCE.format(catalog=CATALOG_FILE), encoding="utf-8")
    return path


def register_run(run: str | Path) -> list[str]:
    """Add a run folder's catalog entries to this process's zoo; returns their names."""
    try:
        return register_run_catalog(run)
    except OptionError as exc:
        raise ConfigError(str(exc)) from None
