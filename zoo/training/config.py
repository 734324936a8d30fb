"""Training options: declared by each trainer, overridden by a YAML file and ``key=value`` pairs, validated.

A trainer declares ``options = {"lr": Option(2e-4, "Adam learning rate"), ...}``; the effective values are
the defaults, then the catalog entry's recipe (:mod:`zoo.training.recipes`), then ``--config FILE`` (a run's own
``config.yaml`` too), then ``key=value`` on the command line (values are parsed as YAML: ``betas=[0.5,0.999]``,
``amp=bf16``, ``kwargs={num_feat: 32}``). Unknown keys and values of the wrong type fail with an error naming the key (and the closest known key).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from zoo.errors import ZooError


class ConfigError(ZooError, ValueError):
    """A training option is unknown, malformed or of the wrong type."""


class TrainingError(ZooError):
    """Training cannot start or cannot go on (bad data folder, non-finite loss, missing weights, ...)."""


@dataclass(frozen=True)
class Option:
    """One declared option: its default, a one-line help, and optionally the allowed values.

    The type is the default's (``int`` accepts integers, ``float`` accepts integers too, ``None``
    defaults accept anything); ``kind`` overrides it for options whose default is ``None``.
    """

    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    kind: type | tuple[type, ...] | None = None

    def expected(self) -> tuple[type, ...] | None:
        if self.kind is not None:
            return self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return (bool,)
        if isinstance(self.default, float):
            return (float, int)
        if isinstance(self.default, (list, tuple)):
            return (list, tuple)
        return (type(self.default),)


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["lr=1e-3", "betas=[0.5, 0.999]"]`` -> ``{"lr": 0.001, "betas": [0.5, 0.999]}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {key!r}: value {text!r} is not valid YAML ({exc})") from None
        if isinstance(value, str) and _looks_like_float(value):
            value = float(value)  # YAML 1.1 reads "1e-3" as a string
        out[key] = value
    return out


def _looks_like_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return any(c.isdigit() for c in text)


#: the keys of a run's ``config.yaml`` around its ``options``
RUN_CONFIG_KEYS = {"target", "task", "data", "options", "name_from_folder"}


def read_config_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(options, run)``: the options of a YAML file, and for a run's ``config.yaml`` its ``target``, ``task``
    and ``data`` (empty for a plain mapping of options)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of option: value, got {type(data).__name__}")
    run: dict[str, Any] = {}
    if isinstance(data.get("options"), dict) and set(data) <= RUN_CONFIG_KEYS:
        run = {k: v for k, v in data.items() if k != "options"}
        data = dict(data["options"])
        if run.get("name_from_folder"):
            data.pop("name", None)  # a rerun is named after its own folder, not a copy of this run's name
    return {str(k): _fix_float(v) for k, v in data.items()}, run


def _fix_float(value: Any) -> Any:
    return float(value) if isinstance(value, str) and _looks_like_float(value) else value


def resolve_options(declared: Mapping[str, Option], layers: Iterable[tuple[str, Mapping[str, Any]]],
                    what: str = "trainer") -> dict[str, Any]:
    """Defaults overridden by each ``(source, mapping)`` layer in turn, every key and value checked."""
    values = {key: opt.default for key, opt in declared.items()}
    for source, layer in layers:
        for key, value in layer.items():
            if key not in declared:
                hint = difflib.get_close_matches(key, list(declared), n=1)
                raise ConfigError(f"{source}: unknown option {key!r} for the {what}"
                                  + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                  + "; `zoo train TASK --list-options` lists them")
            values[key] = check_value(key, declared[key], value, source)
    return values


def check_value(key: str, option: Option, value: Any, source: str) -> Any:
    expected = option.expected()
    if value is not None and expected is not None:
        bad_bool = isinstance(value, bool) and bool not in expected
        if bad_bool or not isinstance(value, expected):
            names = " or ".join(t.__name__ for t in expected)
            raise ConfigError(f"{source}: option {key!r} expects {names}, got {type(value).__name__} {value!r}")
        if float in expected and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
    if option.choices is not None and value not in option.choices:
        raise ConfigError(f"{source}: option {key!r} must be one of {', '.join(map(repr, option.choices))}, "
                          f"got {value!r}")
    return value


def plain(value: Any) -> Any:
    """Options as plain YAML/JSON data: tuples as lists, keys as strings, paths as strings."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def absolute_paths(options: Mapping[str, Any], declared: Mapping[str, Option] | None = None) -> dict[str, Any]:
    """Option values that name existing files or folders relative to here made absolute (``data/val``, ``val``,
    ``{lpips: w/alex.pth}``), so a run's config reruns from any working folder. ``name`` and values equal to
    their declared default (``vgg_weights=imagenet``) stay words even when a folder of that name is here."""
    declared = declared or {}
    return {key: value if key == "name" or (key in declared and value == declared[key].default) else _absolute(value)
            for key, value in options.items()}


def _absolute(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _absolute(v) for k, v in value.items()}
    if isinstance(value, str) and value and not os.path.isabs(value) and "://" not in value and os.path.exists(value):
        return os.path.abspath(value)
    return value
