"""Fast by default: the fastest way to run an entry on this machine whose output stays within a budget.

``zoo.load(name, fast=True)`` (CLI ``--fast``) measures, once per entry, weights, input size class, device,
torch version and CPU, every setting available here (fp32 / bf16 / fp16 on a GPU, channels_last,
``torch.compile``, onnxruntime, CUDA graphs on a GPU) against fp32 eager on the bundled calibration images,
and keeps the fastest whose output differs from fp32 eager's by no more than the budget (default: PSNR
>= 45 dB and at most 8 grey levels). Measurements, not choices, are cached in ``$ZOO_HOME/tuning.json``, so a
stricter or looser budget later reuses them. A load calibrates the cheap settings (dtype and memory
format, a few seconds); ``zoo tune`` (:func:`tune`) also tries the ones that need a compile or an export, and
later loads reuse what it measured.

No torch at module level: :mod:`zoo.inference.calibration` does the measuring.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from zoo.errors import OptionError
from zoo.export import state_dict_digest
from zoo.files import write_text_atomic, zoo_home
from zoo.inference.options import check_device
from zoo.inference.settings import (BASELINE, DEFAULT_BUDGET, Budget, FastSetting, Measurement, candidate_settings,
                                    parse_budget)
from zoo.weights.loading import pretrained_network

if TYPE_CHECKING:
    from torch import nn

    from zoo.registry.catalog import Entry

TUNING_FILE = "tuning.json"
FORMAT = "zoo-tuning"
FORMAT_VERSION = 1
#: a setting must beat fp32 eager by this factor to replace it (below it, timing noise decides)
MIN_GAIN = 1.05
SIZE_CLASSES = (32, 64, 128, 256, 512, 1024, 2048)


@dataclass
class Tuning:
    """Every setting measured for one cache key; the choice depends on the budget (:meth:`choose`)."""

    key: str
    fields: dict[str, Any]
    side: int
    results: list[Measurement]
    thorough: bool = False
    created: str = ""
    seconds: float = 0.0
    cached: bool = False
    path: Path | None = field(default=None, compare=False)

    def choose(self, budget: Budget) -> Measurement:
        """The fastest setting within ``budget``; fp32 eager unless one beats it by :data:`MIN_GAIN`."""
        baseline = next((m for m in self.results if m.setting == BASELINE), None) or Measurement(BASELINE, speedup=1.0)
        allowed = [m for m in self.results if m.ok and budget.allows(m.psnr_db, m.max_grey)]
        best = max(allowed, key=lambda m: m.speedup or 0.0, default=baseline)
        return best if best.setting == BASELINE or (best.speedup or 0) >= MIN_GAIN else baseline

    def to_dict(self) -> dict[str, Any]:
        return {"fields": self.fields, "side": self.side, "thorough": self.thorough, "created": self.created,
                "seconds": round(self.seconds, 2), "results": [m.to_dict() for m in self.results]}

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> Tuning:
        if not isinstance(data.get("results"), list) or not isinstance(data.get("fields"), dict):
            raise ValueError("a record needs 'fields' and 'results'")
        return cls(key, dict(data["fields"]), int(data["side"]), [Measurement.from_dict(m) for m in data["results"]],
                   bool(data.get("thorough", False)), str(data.get("created", "")), float(data.get("seconds", 0.0)))

    def describe(self, budget: Budget, chosen: Measurement | None = None) -> dict[str, Any]:
        """What ``model.metadata["fast"]`` says: the choice (default: :meth:`choose`), its speedup and difference."""
        chosen = chosen or self.choose(budget)
        return {"setting": chosen.setting.name, "dtype": chosen.setting.dtype, "backend": chosen.setting.backend,
                "backend_options": chosen.setting.backend_options, "speedup": chosen.speedup,
                "psnr_db": chosen.psnr_db, "max_grey": chosen.max_grey, "budget": str(budget), "size": self.side,
                "device": self.fields.get("device"), "tried": [m.setting.name for m in self.results],
                "thorough": self.thorough, "cached": self.cached, "cache": str(self.path) if self.path else None}


def summary(meta: Mapping[str, Any]) -> str:
    """One line for ``zoo run``: ``bf16+channels_last (2.41x over fp32 eager, 47.2 dB, max 5.3 grey levels; ...)``."""
    psnr = "identical output" if meta.get("psnr_db") is None else f"{meta['psnr_db']:.1f} dB"
    grey = f", max {meta['max_grey']:g} grey levels" if meta.get("max_grey") else ""
    speed = f"{meta['speedup']:.2f}x" if meta.get("speedup") else "?x"
    return (f"{meta['setting']} ({speed} over fp32 eager, {psnr}{grey}; budget {meta['budget']}; "
            f"measured at {meta['size']} px on {meta['device']}{', cached' if meta.get('cached') else ''})")


def table_rows(results: Sequence[Measurement], budget: Budget, chosen: FastSetting | None) -> list[list[str]]:
    """``zoo tune``'s table: setting (``*`` chosen), ms/call, spread, speedup, PSNR, max grey, prepare s, status."""
    rows = []
    for m in results:
        status = m.status if not m.ok or budget.allows(m.psnr_db, m.max_grey) else f"over budget ({budget})"
        rows.append([("* " if m.setting == chosen else "  ") + m.setting.name,
                     "-" if m.ms_median is None else f"{m.ms_median:.1f}",
                     "-" if m.spread_pct is None else f"{m.spread_pct:.0f}%",
                     "-" if m.speedup is None else f"{m.speedup:.2f}x",
                     "-" if m.max_grey is None else ("identical" if m.psnr_db is None else f"{m.psnr_db:.1f}"),
                     "-" if m.max_grey is None else f"{m.max_grey:g}",
                     "-" if m.prepare_s is None else f"{m.prepare_s:.1f}", status])
    return rows


TABLE_HEADER = ["setting", "ms/call", "spread", "speedup", "PSNR dB", "max grey", "prepare s", "status"]


# -- cache keys -----------------------------------------------------------------------------------------------
def size_class(side: int) -> int:
    """The power of two nearest to ``side`` (log scale), within 32..2048: the size a choice is measured at."""
    side = max(int(side), 1)
    return min(SIZE_CLASSES, key=lambda c: abs(math.log2(c) - math.log2(side)))


def default_size(entry: Entry) -> int:
    """The input side an entry is usually run at: upstream's test size, its tile, else 256 (128 for upscalers)."""
    p = entry.processing
    return int(p.options.get("upstream_test_size") or p.tile or (256 if p.scale == 1 else 128))


def cpu_flags() -> str:
    """A short digest of the CPU's feature flags (AVX-512, AMX, ...), which decide what runs fast."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle if line.startswith(("flags", "Features"))), [])
    except OSError:
        flags = []
    text = " ".join(sorted(flags)) or f"{platform.machine()} {platform.processor()}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            name = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        name = ""
    return name or platform.processor() or platform.machine() or "cpu"


def machine_fields(device: Any) -> dict[str, Any]:
    """Device name, torch version and CPU flags: the part of a cache key that describes this machine."""
    import torch  # heavy

    device = torch.device(device)
    if device.type == "cuda":
        name = f"cuda: {torch.cuda.get_device_name(device)}"
    elif device.type == "cpu":
        name = f"cpu: {cpu_name()}, {torch.get_num_threads()} threads"
    else:
        name = device.type
    return {"device": name, "torch": torch.__version__, "cpu_flags": cpu_flags()}


def tuning_key(entry: str, weights_digest: str, size: int, machine: Mapping[str, Any]) -> str:
    """``entry|weights sha256|size class|device|torch|cpu flags``: what a measurement holds for."""
    return (f"{entry}|weights {weights_digest[:16]}|{size_class(size)} px|{machine['device']}|torch {machine['torch']}"
            f"|cpu {machine['cpu_flags']}")


# -- the cache file -------------------------------------------------------------------------------------------
def tuning_path() -> Path:
    return zoo_home() / TUNING_FILE


def read_tunings(path: Path | None = None, *, warn: bool = True) -> dict[str, Tuning]:
    """The records of ``tuning.json``; a corrupt, stale or foreign file (or record) is ignored with a warning."""
    path = path or tuning_path()
    if not path.is_file():
        return {}

    def ignore(why: str) -> dict[str, Tuning]:
        if warn:
            warnings.warn(f"{path}: {why}; ignored (it is rewritten at the next tuning)", RuntimeWarning, stacklevel=3)
        return {}

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return ignore(f"not valid JSON ({str(exc).splitlines()[0][:120]})")
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("records"), dict):
        return ignore(f"not a {FORMAT} file")
    if data.get("version") != FORMAT_VERSION:
        return ignore(f"stale format version {data.get('version')!r} (this zoo writes {FORMAT_VERSION})")
    out: dict[str, Tuning] = {}
    for key, record in data["records"].items():
        try:
            out[key] = Tuning.from_dict(key, record)
        except (KeyError, TypeError, ValueError) as exc:
            if warn:
                warnings.warn(f"{path}: record {key!r} is malformed ({exc}); ignored", RuntimeWarning, stacklevel=2)
    return out


def store_tuning(tuning: Tuning, path: Path | None = None) -> Path:
    """Add ``tuning`` to the cache file under a lock, rewriting the whole file atomically (valid records kept)."""
    from filelock import FileLock  # heavy

    path = path or tuning_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        records = read_tunings(path, warn=False)
        records[tuning.key] = tuning
        data = {"format": FORMAT, "version": FORMAT_VERSION,
                "records": {key: records[key].to_dict() for key in sorted(records)}}
        write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


# -- measuring and choosing -------------------------------------------------------------------------------------
def measure_network(network: nn.Module, entry: Entry, *, device: Any = None, size: int | None = None,
                    thorough: bool = False, settings: Sequence[FastSetting] | None = None, eager_only: bool = False,
                    rounds: int | None = None, timer: Callable[[], float] = time.perf_counter, progress: bool = True,
                    use_cache: bool = True) -> Tuning:
    """The measurements for ``network`` (fp32, the entry's weights): from the cache, else calibrated and stored.

    ``use_cache=False`` always calibrates (``zoo tune``). A cached quick calibration does not satisfy
    ``thorough=True``. ``settings`` replaces :func:`candidate_settings` (fp32 eager is always measured).
    """
    from zoo.inference import calibration  # heavy

    dev = check_device(device)
    side = size_class(size or default_size(entry))
    machine = machine_fields(dev)
    key = tuning_key(entry.name, state_dict_digest(network), side, machine)
    path = tuning_path()
    if use_cache:
        found = read_tunings(path).get(key)
        if found is not None and (found.thorough or not thorough) and (settings is None or {
                s.name for s in settings} <= {m.setting.name for m in found.results}):
            found.cached, found.path = True, path
            return found
    candidates = list(settings) if settings is not None else candidate_settings(
        dev.type, thorough=thorough, eager_only=eager_only)
    candidates = [BASELINE] + [s for s in candidates if s != BASELINE]
    start = timer()
    results = calibration.calibrate(network, entry, candidates, device=dev, side=side, rounds=rounds, timer=timer,
                                    progress=progress)
    tuning = Tuning(key, {"entry": entry.name, "size": side, **machine}, side, results,
                    thorough=thorough or any(s.costly for s in candidates),
                    created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), seconds=timer() - start)
    try:
        tuning.path = store_tuning(tuning, path)
    except OSError as exc:  # a read-only cache: the measurement still serves this process
        warnings.warn(f"cannot write {path}: {exc}; the fast setting is not cached", RuntimeWarning, stacklevel=2)
    return tuning


def fast_setting(network: nn.Module, entry: Entry, budget: Budget, *, device: Any = None, size: int | None = None,
                 eager_only: bool = False, progress: bool = True,
                 timer: Callable[[], float] = time.perf_counter) -> tuple[FastSetting, dict[str, Any]]:
    """The setting :func:`zoo.load` uses for ``fast=``, and what ``model.metadata["fast"]`` says about it."""
    tuning = measure_network(network, entry, device=device, size=size, eager_only=eager_only, progress=progress,
                             timer=timer)
    chosen = tuning.choose(budget)
    if eager_only and chosen.setting.backend != "eager":  # measured by zoo tune, but this mode needs eager
        eager = [m for m in tuning.results if m.setting.backend == "eager"]
        chosen = Tuning(tuning.key, tuning.fields, tuning.side, eager).choose(budget)
    meta = tuning.describe(budget, chosen)
    if progress and not tuning.cached:
        print(f"zoo: fast setting for {entry.name}: {summary(meta)}", file=sys.stderr)
    return chosen.setting, meta


def tune(name: str, *, size: int | None = None, device: Any = None, budget: Any = True, thorough: bool = True,
         settings: Sequence[str] | None = None, rounds: int | None = None, pretrained: bool = True,
         weights: str | os.PathLike[str] | None = None, weights_format: str | None = None,
         infer_architecture: bool = False, offline: bool | None = None, progress: bool = True) -> tuple[Tuning, Measurement]:
    """``zoo tune``: measure every setting for entry ``name`` now, cache it, and return it with the choice."""
    parsed = parse_budget(budget) or DEFAULT_BUDGET
    chosen_settings = None
    if settings:
        known = {s.name: s for s in candidate_settings(check_device(device).type, thorough=True)}
        unknown = [s for s in settings if s not in known]
        if unknown:
            raise OptionError(f"unknown setting(s) {', '.join(unknown)}; here: {', '.join(known)}")
        chosen_settings = [known[s] for s in settings]
    built = pretrained_network(name, pretrained=pretrained, weights=weights, weights_format=weights_format,
                               infer_architecture=infer_architecture, offline=offline, progress=progress)
    tuning = measure_network(built.network.eval(), built.entry, device=device, size=size, thorough=thorough,
                             settings=chosen_settings, rounds=rounds, progress=progress, use_cache=False)
    return tuning, tuning.choose(parsed)
