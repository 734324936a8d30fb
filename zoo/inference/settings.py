"""The vocabulary of ``zoo.load(fast=...)``: output budgets, fast settings, and what was measured for each.

A :class:`Budget` bounds how far a setting's output may be from fp32 eager's; a :class:`FastSetting` is a dtype,
a backend of :mod:`zoo.inference.backends` and its options; a :class:`Measurement` is one setting's speed and
output difference as :mod:`zoo.inference.calibration` measured it. Light: no torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from zoo.errors import OptionError


# -- the budget -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """How far a fast setting's output may be from fp32 eager's (outputs mapped to [0, 1]); None: no limit."""

    min_psnr: float | None = 45.0
    max_grey: float | None = 8.0

    def allows(self, psnr_db: float | None, max_grey: float | None) -> bool:
        """``psnr_db`` None means identical outputs (infinite PSNR)."""
        if self.min_psnr is not None and psnr_db is not None and not psnr_db >= self.min_psnr:
            return False
        if self.max_grey is not None and (max_grey is None or not max_grey <= self.max_grey):
            return False
        return True

    def __str__(self) -> str:
        parts = ([f"psnr>={self.min_psnr:g}"] if self.min_psnr is not None else []) + \
            ([f"max_grey<={self.max_grey:g}"] if self.max_grey is not None else [])
        return ", ".join(parts) or "any output"


DEFAULT_BUDGET = Budget()


def output_difference(reference: Any, other: Any, out_range: tuple[float, float]) -> tuple[float, float | None]:
    """What a :class:`Budget` judges: (max abs difference in 8-bit grey levels, PSNR in dB or None when
    identical) between two output tensors mapped from ``out_range`` to [0, 1]."""
    lo, hi = out_range
    a = ((reference.float() - lo) / (hi - lo)).clamp(0, 1)
    b = ((other.float().to(a.device) - lo) / (hi - lo)).clamp(0, 1)
    if a.shape != b.shape:
        raise ValueError(f"output shape {tuple(b.shape)} differs from fp32 eager's {tuple(a.shape)}")
    diff = (a - b).abs()
    mse = float((diff.double() ** 2).mean())
    return round(float(diff.max()) * 255, 3), (None if mse == 0 else round(10 * math.log10(1 / mse), 2))
_BUDGET_KEYS = {"psnr": "min_psnr", "min_psnr": "min_psnr", "max_grey": "max_grey"}
_BUDGET_HELP = ("fast=True, a budget such as 'psnr>=40', 'max_grey<=1', 'psnr>=40,max_grey<=4' "
                "(a limit set to 'none' is dropped) or a dict {'psnr': 40, 'max_grey': 1}")


def _limit(key: str, value: Any, given: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "any")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not math.isfinite(number) or number < 0 or (key == "min_psnr" and number == 0):
        raise OptionError(f"fast budget {given!r}: {key.replace('min_', '')} must be a number "
                          f"{'> 0 (dB)' if key == 'min_psnr' else '>= 0 (grey levels of 255)'}, got {value!r}")
    return number


def parse_budget(value: Any) -> Budget | None:
    """``fast=`` of :func:`zoo.load` -> a :class:`Budget` (None for ``False``/``None``: exact fp32).

    Limits that are not named keep their defaults (PSNR >= 45 dB, max 8 grey levels).
    """
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_BUDGET
    if isinstance(value, Budget):
        return value
    limits: dict[str, Any] = {}
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "true", "default", "yes", "on", "1"):
            return DEFAULT_BUDGET
        for part in re.split(r"[,\s]+(?:and\s+)?", text):
            match = re.fullmatch(r"([a-z_]+)\s*(>=|<=|=)\s*(\S+)", part)
            key = _BUDGET_KEYS.get(match.group(1)) if match else None
            if key is None:
                raise OptionError(f"fast budget {value!r}: cannot read {part!r}; use {_BUDGET_HELP}")
            op = match.group(2)
            if (key == "min_psnr" and op == "<=") or (key == "max_grey" and op == ">="):
                bound = "psnr>=N (a lower bound)" if key == "min_psnr" else "max_grey<=N (an upper bound)"
                raise OptionError(f"fast budget {value!r}: {part!r} points the wrong way; write {bound}")
            if key in limits:
                raise OptionError(f"fast budget {value!r}: {match.group(1)} is given twice; give each limit once")
            limits[key] = match.group(3)
    elif isinstance(value, Mapping):
        for name, limit in value.items():
            key = _BUDGET_KEYS.get(str(name))
            if key is None:
                raise OptionError(f"fast budget {dict(value)!r}: unknown key {name!r} (known: psnr, max_grey)")
            limits[key] = limit
    else:
        raise OptionError(f"fast must be {_BUDGET_HELP}; got {type(value).__name__} {value!r}")
    return Budget(**{**asdict(DEFAULT_BUDGET), **{k: _limit(k, v, value) for k, v in limits.items()}})


# -- the settings ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FastSetting:
    """One way to run the network: a dtype, a backend of :mod:`zoo.inference.backends` and its options."""

    name: str
    dtype: str = "fp32"
    backend: str = "eager"
    options: tuple[tuple[str, Any], ...] = ()
    #: needs a compile or an export first (tried by ``zoo tune``; a load tries the others)
    costly: bool = False

    @property
    def backend_options(self) -> dict[str, Any]:
        return dict(self.options)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "backend": self.backend, "options": self.backend_options,
                "costly": self.costly}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FastSetting:
        options = data.get("options") or {}
        if not isinstance(data.get("name"), str) or not isinstance(options, dict):
            raise ValueError(f"not a setting: {data!r}")
        return cls(data["name"], str(data.get("dtype", "fp32")), str(data.get("backend", "eager")),
                   tuple(sorted(options.items())), bool(data.get("costly", False)))


BASELINE = FastSetting("fp32")


def candidate_settings(device_type: str, *, thorough: bool = False, eager_only: bool = False) -> list[FastSetting]:
    """The settings worth measuring on a device of this type, fp32 eager first."""
    cl = (("channels_last", True),)
    dtypes = {"cpu": ["bf16"], "cuda": ["fp16", "bf16"], "mps": ["fp16"]}.get(device_type, [])
    out = [BASELINE] + ([FastSetting("channels_last", options=cl)] if device_type != "mps" else [])
    for dtype in dtypes:
        out.append(FastSetting(dtype, dtype))
        if device_type != "mps":
            out.append(FastSetting(f"{dtype}+channels_last", dtype, options=cl))
    if thorough and not eager_only and device_type in ("cpu", "cuda"):
        low = dtypes[0]
        out += [FastSetting("compile", backend="compile", costly=True),
                FastSetting(f"{low}+compile", low, "compile", costly=True)]
        if device_type == "cpu":
            out.append(FastSetting("onnxruntime", backend="onnxruntime", costly=True))
        else:  # CUDA graphs: compile's reduce-overhead mode replays captured graphs
            out.append(FastSetting(f"{low}+cudagraphs", low, "compile", (("mode", "reduce-overhead"),), costly=True))
    return out


# -- measurements -----------------------------------------------------------------------------------------
@dataclass
class Measurement:
    """One setting as measured against fp32 eager; ``status`` is ``ok`` or why it cannot be used."""

    setting: FastSetting
    status: str = "ok"
    ms_median: float | None = None
    spread_pct: float | None = None
    speedup: float | None = None
    psnr_db: float | None = None  # None: identical to fp32 eager
    max_grey: float | None = None
    prepare_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.speedup is not None

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "setting"}, "setting": self.setting.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        numbers = {k: data.get(k) for k in ("ms_median", "spread_pct", "speedup", "psnr_db", "max_grey", "prepare_s")}
        if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in numbers.values()):
            raise ValueError(f"not a measurement: {data!r}")
        return cls(FastSetting.from_dict(data["setting"]), str(data.get("status", "ok")), **numbers)
