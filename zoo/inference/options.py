"""One validation layer for every user-facing option, shared by ``zoo.load``, the pipeline call and the CLI.

Each ``check_*`` function returns the normalised value or raises :class:`OptionError` (a ``ValueError``
and a :class:`zoo.errors.ZooError`) with one sentence naming the option, what was given and what is
allowed; the CLI prints it as ``zoo <cmd>: error: ...`` and exits 2. ``arg_*`` wrappers turn the same
checks into argparse ``type=`` callables, so a bad command-line value is an argparse error (exit 2).

This module does not import torch at module level: ``zoo list`` and ``zoo --help`` stay fast.
"""

from __future__ import annotations

import argparse
import inspect
import math
import numbers
from typing import Any, Callable

from zoo.errors import OptionError
from zoo.registry.manager import get_manager

#: dtype spellings the zoo accepts, by canonical name.
DTYPE_NAMES = {"fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
               "half": "float16", "bf16": "bfloat16", "bfloat16": "bfloat16"}
ERROR_POLICIES = ("raise", "skip", "return")

def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value: Any, *, minimum: int = 0, what: str = "") -> int:
    """An integer >= ``minimum``; bools and non-integral floats are refused (``64.5``, ``True``)."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise OptionError(f"{name} must be an integer{what}, got {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value):
        raise OptionError(f"{name} must be an integer{what}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise OptionError(f"{name} must be >= {minimum}{what}, got {value}")
    return int(value)


def check_tile(value: Any) -> int | str | None:
    """``None`` (the entry's default), ``0`` (no tiling), a tile side in pixels, or ``"auto"``."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return check_int("tile", value, what=" (pixels; 0 for no tiling) or 'auto'")


def check_tile_pad(value: Any) -> int | None:
    if value is None:
        return None
    return check_int("tile_pad", value, what=" (pixels of context around each tile)")


def check_outscale(value: Any) -> float | None:
    """A finite factor > 0 (the final output scale relative to the input)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise OptionError(f"outscale must be a number > 0, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except ValueError:
        raise OptionError(f"outscale must be a number > 0, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise OptionError(f"outscale must be a finite number > 0, got {value!r}")
    return number


def check_batch_size(value: Any) -> int | None:
    if value is None:
        return None
    return check_int("batch_size", value, minimum=1, what=" (images per forward pass)")


def check_errors(value: Any) -> str:
    if value not in ERROR_POLICIES:
        raise OptionError(f"errors must be one of {', '.join(map(repr, ERROR_POLICIES))}, got {value!r}")
    return value


def check_quality(value: Any) -> int:
    quality = check_int("quality", value, minimum=-(10**9), what=" from 1 to 100 (JPEG/WebP)")
    if not 1 <= quality <= 100:
        raise OptionError(f"quality must be an integer from 1 to 100 (JPEG/WebP), got {quality}")
    return quality


def check_dtype(value: Any):
    """``None`` (float32), a name such as ``"fp16"``, or a floating ``torch.dtype`` -> ``torch.dtype``."""
    import torch  # heavy

    if value is None:
        return torch.float32
    if isinstance(value, torch.dtype):
        if value not in (torch.float32, torch.float16, torch.bfloat16):
            raise OptionError(f"dtype must be float32, float16 or bfloat16, got {value}")
        return value
    name = DTYPE_NAMES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if name is None:
        raise OptionError(f"unknown dtype {value!r}; use one of {', '.join(DTYPE_NAMES)}")
    return getattr(torch, name)


def check_device(value: Any):
    """``None`` (cuda if available, else cpu) or a device that exists on this machine -> ``torch.device``."""
    import torch  # heavy

    if value is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = value if isinstance(value, torch.device) else torch.device(str(value).strip())
    except (RuntimeError, ValueError, TypeError):
        raise OptionError(f"unknown device {value!r}; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"device {str(value)!r} was asked for, but no CUDA GPU is available here "
                              "(torch.cuda.is_available() is False); use device 'cpu'")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise OptionError(f"device {str(value)!r} does not exist: this machine has {count} CUDA device(s) "
                              f"(cuda:0 to cuda:{count - 1})")
    elif device.type == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise OptionError(f"device {str(value)!r} was asked for, but Apple MPS is not available here; use 'cpu'")
    return device


def argparse_type(check: Callable[[Any], Any], name: str) -> Callable[[str], Any]:
    """``check`` as an argparse ``type=``: a bad value becomes argparse's one-line error, exit 2."""
    def convert(text: str) -> Any:
        try:
            return check(text)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name  # argparse names the type in its message
    return convert


arg_tile = argparse_type(check_tile, "tile")
arg_tile_pad = argparse_type(check_tile_pad, "tile_pad")
arg_outscale = argparse_type(check_outscale, "outscale")
arg_batch_size = argparse_type(check_batch_size, "batch_size")
arg_quality = argparse_type(check_quality, "quality")
arg_workers = argparse_type(lambda v: check_int("workers", v, what=" (decoding processes; 0 decodes in-process)"),
                            "workers")


def check_load_options(entry: Any, device: Any = None, dtype: Any = None, **pipeline_options: Any) -> None:
    """What :func:`zoo.load` checks before building a model or reading weights, so a typo costs no download.

    ``entry`` is a catalog entry; ``pipeline_options`` are the keyword arguments meant for its task's
    pipeline (``tile``, ``tile_pad``, ``mode``, ``batch_size``, and whatever the pipeline adds).
    """


    check_device(device)
    check_dtype(dtype)
    tile = check_tile(pipeline_options.get("tile"))
    check_tile_pad(pipeline_options.get("tile_pad"))
    check_batch_size(pipeline_options.get("batch_size"))
    processing_options = entry.processing.options
    if tile and tile != "auto" and not processing_options.get("tileable", True):
        raise OptionError(f"entry {entry.name!r} cannot be tiled (tile={tile!r}): its network normalises over the "
                          "whole image, so tiles would come out different from the whole; use tile=0 (CLI: --tile 0)")
    mode = pipeline_options.get("mode")
    modes = dict(processing_options.get("modes") or {})
    if mode is not None and mode != "eval" and mode not in modes:
        raise OptionError(f"entry {entry.name!r} has no inference mode {mode!r} (modes: {', '.join(['eval', *modes])})")
    pipeline_cls = get_manager().components("task").get(entry.task).load("pipeline")
    accepted: set[str] = set()
    for cls in getattr(pipeline_cls, "__mro__", (pipeline_cls,)):
        init = cls.__dict__.get("__init__") if isinstance(cls, type) else cls
        if init is None:
            continue
        try:
            accepted |= {p.name for p in inspect.signature(init).parameters.values()
                         if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
        except (TypeError, ValueError):
            return  # a signature we cannot read: let the pipeline itself complain
    unknown = sorted(set(pipeline_options) - accepted)
    if unknown:
        known = sorted(accepted - {"self", "model", "entry", "device", "dtype", "weights"})
        raise OptionError(f"unknown option(s) {', '.join(unknown)} for entry {entry.name!r} (task {entry.task!r}); "
                          f"its pipeline takes: {', '.join(known)}")
