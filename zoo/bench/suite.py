"""Benchmark suites: YAML files naming models, input sizes, fast settings and quality runs.

A suite is validated field by field; every error names the file and the line of the offending node
(``cpu-smoke.yaml:12: models[2].size: expected a positive integer, got 'big'``). The default suite,
``cpu-smoke.yaml``, ships inside the package so ``zoo bench`` with no arguments works from a wheel.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from zoo.errors import OptionError, ZooError
from zoo.inference.settings import parse_budget
from zoo.registry.lookup import get_entry, list_models, task_matches

DEFAULT_SUITE = "cpu-smoke"
DTYPES = ("fp32", "bf16", "fp16")
#: speed_ratio / quality_rel: --baseline; recorded_rel: this run vs the catalog's recorded values;
#: noise_spread: a row whose images/s spread over rounds ((max - min) / median) is above it is noisy;
#: fast_min_psnr_db / fast_max_grey: the output budget a fast setting must keep to be the "best fast" one
DEFAULT_THRESHOLDS = {"speed_ratio": 0.8, "quality_rel": 0.02, "recorded_rel": 0.01, "noise_spread": 0.25,
                      "fast_min_psnr_db": 45.0, "fast_max_grey": 8.0}


class SuiteError(ZooError, ValueError):
    """A suite file (or a command-line override) that does not match the schema."""


def backend_names() -> tuple[str, ...]:
    """What ``zoo.load(backend=...)`` takes; imported only when a setting names one (it imports torch)."""
    from zoo.inference.backends import BACKENDS  # heavy
    return tuple(BACKENDS)


# -- YAML with line numbers ---------------------------------------------------------------------
class _MarkedDict(dict):
    """A mapping that remembers the line of each key (and its own)."""

    line: int = 0
    lines: dict[str, int]


class _MarkedList(list):
    line: int = 0
    lines: list[int]


class _MarkedLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _MarkedLoader, node: yaml.MappingNode) -> _MarkedDict:
    loader.flatten_mapping(node)
    out = _MarkedDict()
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _MarkedLoader, node: yaml.SequenceNode) -> _MarkedList:
    out = _MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line, out.lines = node.start_mark.line + 1, [child.start_mark.line + 1 for child in node.value]
    return out


_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Checker:
    """Reads typed fields out of a marked mapping, failing with ``file:line: path: problem``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int, path: str, problem: str) -> SuiteError:
        return SuiteError(f"{self.source}:{line}: {path}: {problem}")

    def line_of(self, mapping: Any, key: str | int) -> int:
        lines = getattr(mapping, "lines", None)
        if isinstance(lines, dict) and key in lines:
            return lines[key]
        if isinstance(lines, list) and isinstance(key, int) and key < len(lines):
            return lines[key]
        return getattr(mapping, "line", 0)

    def keys(self, mapping: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in mapping:
            if key not in allowed:
                raise self.fail(self.line_of(mapping, key), f"{path}{key}" if path else str(key),
                                f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def get(self, mapping: Mapping[str, Any], key: str, path: str, kind: str, default: Any = None) -> Any:
        if key not in mapping or mapping[key] is None:
            return default
        value, line, where = mapping[key], self.line_of(mapping, key), f"{path}{key}"
        return self.value(value, kind, line, where)

    def value(self, value: Any, kind: str, line: int, where: str) -> Any:
        def bad(expected: str) -> SuiteError:
            return self.fail(line, where, f"expected {expected}, got {_kind_name(value)} {value!r}")

        if kind == "posint":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise bad("a positive integer")
        elif kind == "nonneg":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise bad("an integer >= 0")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise bad("a positive number")
        elif kind == "bool":
            if not isinstance(value, bool):
                raise bad("true or false")
        elif kind == "str":
            if not isinstance(value, str) or not value.strip():
                raise bad("a non-empty string")
        elif kind in ("dtype", "backend"):
            known = DTYPES if kind == "dtype" else backend_names()
            if value not in known:
                raise bad(f"one of {', '.join(known)}")
        elif kind == "device":
            if not isinstance(value, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
                raise bad("auto, cpu or cuda[:N]")
        elif kind == "posints":
            items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
            if not isinstance(items, list) or not items:
                raise bad("a positive integer or a list of them")
            for i, item in enumerate(items):
                self.value(item, "posint", self.line_of(items, i), f"{where}[{i}]")
            return [int(i) for i in items]
        elif kind == "strs":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list):
                raise bad("a string or a list of strings")
            for i, item in enumerate(items):
                self.value(item, "str", self.line_of(items, i), f"{where}[{i}]")
            return list(items)
        elif kind == "map":
            if not isinstance(value, dict):
                raise bad("a mapping")
        else:  # pragma: no cover - programming error
            raise AssertionError(kind)
        return value


# -- the suite records ------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One way of running a model; every setting but the baseline is compared with fp32 eager."""

    name: str
    dtype: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    backend: str | None = None
    fast: str | None = None  # a zoo.load(fast=...) budget: whatever `zoo tune` chose within it

    @property
    def is_baseline(self) -> bool:
        return self == BASELINE

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "channels_last": self.channels_last,
                "compile": self.compile, "backend": self.backend, "fast": self.fast}


BASELINE = Setting("fp32-eager")


def fast_setting(budget: Any = True, name: str = "fast") -> Setting:
    """The setting ``zoo.load(fast=budget)`` picks (measured by ``zoo tune``, or calibrated on first use)."""
    return Setting(name, fast=str(parse_budget(budget)))


def setting_from_flags(dtype: str = "fp32", channels_last: bool = False, compile: bool = False,
                       backend: str | None = None) -> Setting | None:
    """The one fast setting the command-line flags describe (None if they describe the baseline)."""
    if compile and backend not in (None, "compile"):
        raise OptionError(f"--compile and --backend {backend} both say how the network runs; give one")
    parts = ([dtype] if dtype != "fp32" else []) + (["channels_last"] if channels_last else []) + \
        (["compile"] if compile else []) + ([f"backend={backend}"] if backend else [])
    if not parts:
        return None
    return Setting("+".join(parts), dtype=dtype, channels_last=channels_last, compile=compile, backend=backend)


@dataclass(frozen=True)
class ModelSpec:
    """One model of a suite with its own overrides (None: the suite's value)."""

    name: str
    size: int | None = None
    sizes: tuple[int, ...] | None = None  # more than one input side (``size: [256, 128]``); ``size`` is the first
    batch_sizes: tuple[int, ...] | None = None
    pretrained: str | None = None
    quality: bool | None = None
    datasets: tuple[str, ...] | None = None
    weights: str | None = None
    settings: tuple[str, ...] | None = None  # names of the suite's settings to run (None: all)
    max_images: int | None = None  # per dataset, for this model's quality run


@dataclass(frozen=True)
class QualitySpec:
    enabled: bool = False
    datasets: tuple[str, ...] | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    max_images: int | None = None
    metrics: tuple[str, ...] | None = None
    samples: int = 2


@dataclass(frozen=True)
class Suite:
    name: str
    source: str
    models: tuple[ModelSpec, ...]
    description: str = ""
    device: str = "auto"
    seed: int = 0
    size: int = 128
    batch_sizes: tuple[int, ...] = (1,)
    warmup: int = 2  # calls before timing, the first of them timed on its own (``warmup_s``)
    iters: int = 2  # timed calls per round
    rounds: int = 5  # interleaved rounds: every setting runs ``iters`` calls per round, settings alternating
    min_round_s: float = 0.0  # a setting runs more than ``iters`` calls in a round if they take less than this
    pretrained: str = "auto"  # "auto" (real weights when obtainable offline, else random), "true", "false"
    isolate: str = "auto"  # "auto" (a child process per model on the CPU), "true", "false"
    timeout_s: int = 900
    settings: tuple[Setting, ...] = ()
    quality: QualitySpec = field(default_factory=QualitySpec)
    peak_tflops: Mapping[str, float] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "description": self.description, "device": self.device,
                "seed": self.seed, "size": self.size, "batch_sizes": list(self.batch_sizes), "warmup": self.warmup,
                "iters": self.iters, "rounds": self.rounds, "min_round_s": self.min_round_s,
                "pretrained": self.pretrained, "isolate": self.isolate,
                "settings": [s.to_dict() for s in self.settings],
                "models": [{k: v for k, v in vars(m).items() if v is not None} for m in self.models],
                "quality": {"enabled": self.quality.enabled,
                            "datasets": list(self.quality.datasets) if self.quality.datasets else None,
                            "data": dict(self.quality.data), "max_images": self.quality.max_images,
                            "metrics": list(self.quality.metrics) if self.quality.metrics else None,
                            "samples": self.quality.samples},
                "peak_tflops": dict(self.peak_tflops), "thresholds": dict(self.thresholds)}


_TOP_KEYS = {"name", "description", "device", "seed", "size", "batch_sizes", "warmup", "iters", "rounds", "min_round_s",
             "pretrained", "isolate", "timeout_s", "models", "settings", "quality", "peak_tflops", "thresholds"}
_MODEL_KEYS = {"name", "pattern", "task", "optional", "size", "batch_sizes", "pretrained", "quality", "dataset",
               "datasets", "weights", "settings", "max_images"}
_SETTING_KEYS = {"name", "dtype", "channels_last", "compile", "backend", "fast"}
_QUALITY_KEYS = {"enabled", "dataset", "datasets", "data", "max_images", "metrics", "samples"}


def _datasets(check: _Checker, mapping: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    """``dataset: NAME`` or ``datasets: [NAME, ...]`` (not both)."""
    if "dataset" in mapping and "datasets" in mapping:
        raise check.fail(check.line_of(mapping, "datasets"), f"{path}datasets", "give 'dataset' or 'datasets', not both")
    names = check.get(mapping, "datasets", path, "strs") or check.get(mapping, "dataset", path, "strs")
    return tuple(names) if names else None


def expand_path(check: _Checker, mapping: Mapping[str, Any], key: str, path: str) -> str | None:
    """A path-like field with ``$VAR``/``${VAR}``/``${VAR:-default}`` and ``~`` expanded; an unset variable
    without a default is an error."""
    value = check.get(mapping, key, path, "str")
    if value is None:
        return None
    value = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1)) or m.group(2), value)
    missing = [v for v in re.findall(r"\$\{?(\w+)\}?", value) if v not in os.environ]
    if missing:
        raise check.fail(check.line_of(mapping, key), f"{path}{key}",
                         f"environment variable {missing[0]} (used in {value!r}) is not set")
    value = os.path.expanduser(os.path.expandvars(value))
    head, sep, rest = value.partition("file://")
    if sep and not head.rstrip("+").count("/") and not rest.startswith("/"):  # file://../x: relative to the cwd
        value = f"{head}{sep}{os.path.abspath(rest)}"
    return value


def _tristate(check: _Checker, mapping: Mapping[str, Any], key: str, path: str, default: str | None) -> str | None:
    if key not in mapping or mapping[key] is None:
        return default
    value = mapping[key]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "auto":
        return "auto"
    raise check.fail(check.line_of(mapping, key), f"{path}{key}", f"expected true, false or auto, got {value!r}")


def _expand_models(check: _Checker, items: Any, catalog_names: Sequence[str] | None) -> tuple[ModelSpec, ...]:
    if not isinstance(items, list) or not items:
        raise check.fail(getattr(items, "line", 0), "models", "expected a non-empty list of names, globs or mappings")
    specs: list[ModelSpec] = []
    for i, item in enumerate(items):
        line, path = check.line_of(items, i), f"models[{i}]"
        if isinstance(item, str):
            item = {"pattern": item}
        elif not isinstance(item, dict):
            raise check.fail(line, path, f"expected a name, a glob or a mapping, got {_kind_name(item)} {item!r}")
        else:
            check.keys(item, _MODEL_KEYS, f"{path}.")
        pattern = check.get(item, "name", f"{path}.", "str") or check.get(item, "pattern", f"{path}.", "str")
        task = check.get(item, "task", f"{path}.", "str")
        if pattern is None and task is None:
            raise check.fail(line, path, "needs 'name', 'pattern' or 'task'")
        names = list_models(pattern, task) if catalog_names is None else [
            n for n in catalog_names if fnmatch.fnmatchcase(n, pattern or "*") and (task is None or task_matches(task, get_entry(n).task))]
        if not names and check.get(item, "optional", f"{path}.", "bool", False):
            continue
        if not names:
            what = f"{pattern!r}" + (f" of task {task!r}" if task else "")
            raise check.fail(line, path, f"no catalog entry matches {what} (see `zoo list`)")
        sizes = check.get(item, "size", f"{path}.", "posints")
        overrides = dict(
            size=sizes[0] if sizes else None, sizes=tuple(sizes) if sizes and len(sizes) > 1 else None,
            batch_sizes=tuple(b) if (b := check.get(item, "batch_sizes", f"{path}.", "posints")) else None,
            pretrained=_tristate(check, item, "pretrained", f"{path}.", None),
            quality=check.get(item, "quality", f"{path}.", "bool"),
            datasets=_datasets(check, item, f"{path}."), weights=expand_path(check, item, "weights", f"{path}."),
            settings=tuple(n) if (n := check.get(item, "settings", f"{path}.", "strs")) is not None else None,
            max_images=check.get(item, "max_images", f"{path}.", "posint"))
        specs.extend(ModelSpec(name, **overrides) for name in names)
    unique: dict[str, ModelSpec] = {}
    for spec in specs:
        unique.setdefault(spec.name, spec)
    return tuple(unique.values())


def _settings(check: _Checker, items: Any) -> tuple[Setting, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise check.fail(getattr(items, "line", 0), "settings", "expected a list of mappings")
    out = []
    for i, item in enumerate(items):
        path = f"settings[{i}]."
        if not isinstance(item, dict):
            raise check.fail(check.line_of(items, i), f"settings[{i}]", f"expected a mapping, got {item!r}")
        check.keys(item, _SETTING_KEYS, path)
        if item.get("fast") not in (None, False):
            line = check.line_of(item, "fast")
            if set(item) - {"name", "fast"}:
                raise check.fail(line, f"{path}fast", "chooses dtype, memory format and backend itself; "
                                                      f"drop {', '.join(sorted(set(item) - {'name', 'fast'}))}")
            try:
                out.append(fast_setting(item["fast"], check.get(item, "name", path, "str") or "fast"))
            except ZooError as exc:
                raise check.fail(line, f"{path}fast", str(exc)) from None
            continue
        setting = setting_from_flags(check.get(item, "dtype", path, "dtype", "fp32"),
                                     check.get(item, "channels_last", path, "bool", False),
                                     check.get(item, "compile", path, "bool", False),
                                     check.get(item, "backend", path, "backend"))
        if setting is None:
            raise check.fail(check.line_of(items, i), f"settings[{i}]",
                             "describes the fp32 eager baseline, which is always measured; name a fast setting")
        name = check.get(item, "name", path, "str")
        out.append(replace(setting, name=name) if name else setting)
    return tuple(out)


def _quality(check: _Checker, value: Any) -> QualitySpec:
    if value is None:
        return QualitySpec()
    if isinstance(value, bool):
        return QualitySpec(enabled=value)
    check.value(value, "map", getattr(value, "line", 0), "quality")
    check.keys(value, _QUALITY_KEYS, "quality.")
    data = check.get(value, "data", "quality.", "map", {})
    data = {key: expand_path(check, data, key, "quality.data.") for key in data}
    metrics = check.get(value, "metrics", "quality.", "strs")
    return QualitySpec(enabled=check.get(value, "enabled", "quality.", "bool", True),
                       datasets=_datasets(check, value, "quality."), data=dict(data),
                       max_images=check.get(value, "max_images", "quality.", "posint"),
                       metrics=tuple(metrics) if metrics else None,
                       samples=check.get(value, "samples", "quality.", "nonneg", 2))


def _kind_name(value: Any) -> str:
    """What a YAML value is, in words (never the loader's own classes: "a list", not "_MarkedList")."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def parse_suite(text: str, source: str = "<suite>", *, catalog_names: Sequence[str] | None = None) -> Suite:
    """Validate a suite's YAML text; ``catalog_names`` replaces the live catalog (tests)."""
    check = _Checker(source)
    try:
        data = yaml.load(text, Loader=_MarkedLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuiteError(f"{source}:{line}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{source}:1: a suite is a mapping with at least 'models', got {_kind_name(data)}")
    check.keys(data, _TOP_KEYS, "")
    if "models" not in data:
        raise SuiteError(f"{source}:{data.line}: models: missing (a list of names, globs or mappings)")
    peaks = check.get(data, "peak_tflops", "", "map", {})
    for key, value in peaks.items():
        check.value(key, "dtype", check.line_of(peaks, key), f"peak_tflops.{key}")
        check.value(value, "number", check.line_of(peaks, key), f"peak_tflops.{key}")
    thresholds = dict(DEFAULT_THRESHOLDS)
    given = check.get(data, "thresholds", "", "map", {})
    for key, value in given.items():
        if key not in thresholds:
            raise check.fail(check.line_of(given, key), f"thresholds.{key}", f"unknown (allowed: {', '.join(thresholds)})")
        thresholds[key] = float(check.value(value, "number", check.line_of(given, key), f"thresholds.{key}"))
    settings = _settings(check, data.get("settings"))
    models = _expand_models(check, data["models"], catalog_names)
    known = {s.name for s in settings}
    for i, item in enumerate(data["models"]):
        wanted = item.get("settings") if isinstance(item, dict) else None
        for j, name in enumerate(wanted or []):
            if name not in known:
                raise check.fail(check.line_of(wanted, j), f"models[{i}].settings[{j}]",
                                 f"no setting named {name!r} in this suite (settings: {', '.join(sorted(known)) or 'none'})")
    return Suite(
        name=check.get(data, "name", "", "str", Path(source).stem), source=source, models=models,
        description=check.get(data, "description", "", "str", ""),
        device=check.get(data, "device", "", "device", "auto"), seed=check.get(data, "seed", "", "nonneg", 0),
        size=check.get(data, "size", "", "posint", 128),
        batch_sizes=tuple(check.get(data, "batch_sizes", "", "posints", [1])),
        warmup=check.get(data, "warmup", "", "nonneg", 2), iters=check.get(data, "iters", "", "posint", 2),
        rounds=check.get(data, "rounds", "", "posint", 5),
        min_round_s=float(check.get(data, "min_round_s", "", "number", 0.0)),
        pretrained=_tristate(check, data, "pretrained", "", "auto") or "auto",
        isolate=_tristate(check, data, "isolate", "", "auto") or "auto",
        timeout_s=check.get(data, "timeout_s", "", "posint", 900),
        settings=settings, quality=_quality(check, data.get("quality")),
        peak_tflops={k: float(v) for k, v in peaks.items()}, thresholds=thresholds)


def builtin_suite_path(name: str = DEFAULT_SUITE) -> Path:
    """A suite shipped inside the package (``zoo/bench/suites/NAME.yaml``)."""
    return Path(str(resources.files("zoo.bench") / "suites" / f"{name}.yaml"))


def builtin_suites() -> list[str]:
    """Names of the suites shipped inside the package (``--suite NAME``)."""
    return sorted(p.name[:-5] for p in resources.files("zoo.bench").joinpath("suites").iterdir()
                  if p.name.endswith(".yaml"))


def load_suite(path_or_name: str | Path | None = None) -> Suite:
    """A suite from a file path, or a built-in suite by name (default: ``cpu-smoke``)."""
    if path_or_name is None:
        path = builtin_suite_path()
    else:
        path = Path(path_or_name)
        if not path.is_file() and path.suffix == "" and builtin_suite_path(str(path_or_name)).is_file():
            path = builtin_suite_path(str(path_or_name))
    if not path.is_file():
        raise SuiteError(f"suite file {path} not found (give a YAML file or a built-in suite name: "
                         f"{', '.join(builtin_suites())})")
    return parse_suite(path.read_text(encoding="utf-8"), str(path))


def filter_models(suite: Suite, patterns: Sequence[str], task: str | None) -> Suite:
    """Keep the suite's models matching any of ``patterns`` (globs) and ``task`` (a task, family or alias)."""
    kept = [m for m in suite.models if (not patterns or any(fnmatch.fnmatchcase(m.name, p) for p in patterns))
            and (task is None or task_matches(task, get_entry(m.name).task))]
    if not kept:
        raise SuiteError(f"no model of suite {suite.name!r} matches {list(patterns) or ''} {('task ' + task) if task else ''}".strip())
    return replace(suite, models=tuple(kept))


def adhoc_suite(patterns: Sequence[str], task: str | None, base: Suite) -> Suite:
    """A suite of catalog models matching ``patterns``/``task``, with ``base``'s run parameters and settings.

    Its quality runs cover each dataset whole (``base``'s ``max_images`` is a property of its own model list,
    not of the models named here): ``--max-images`` narrows them.
    """
    names: list[str] = []
    for pattern in patterns or [None]:  # type: ignore[list-item]
        found = list_models(pattern, task)
        if not found:
            what = repr(pattern) if pattern else "anything"
            raise SuiteError(f"no catalog entry matches {what}" + (f" of task {task!r}" if task else "") + " (see `zoo list`)")
        names.extend(found)
    return replace(base, name="adhoc", source="command line", models=tuple(ModelSpec(n) for n in dict.fromkeys(names)),
                   quality=replace(base.quality, max_images=None))
