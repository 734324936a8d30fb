"""Which weight format a checkpoint is in, and which architecture kwargs it was trained with.

``zoo.load(name, weights=FILE)`` first reads ``FILE`` in the entry's own format. When it does not
fit (keys or shapes), every registered :class:`~zoo.registry.records.WeightFormat` is asked whether it
recognises the file (``sniff``: key names and shapes only); the recognised ones are adapted and
checked against the model strictly. Exactly one fit (or several that give the same tensors) loads,
and the result says which format it used; none or several different fits is an error that lists
every format and why it did not fit. ``weights_format=`` turns detection off.

With ``infer_architecture=True`` the format's ``infer_kwargs`` reads block counts and widths off the
checkpoint's shapes and the network is rebuilt with them before the strict load (never silently:
the inferred kwargs are recorded in ``model.metadata["weights"]``).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

from zoo.errors import WeightsError
from zoo.registry.manager import get_manager

if TYPE_CHECKING:
    from torch import nn

    from zoo.registry.catalog import Entry
    from zoo.weights.hub import ResolvedWeights

#: The core's own format: a plain state_dict in the model's key layout.
PLAIN = "state_dict"
#: formats that are only used when named: with a reader of their own, or no sniff
NEVER_GUESSED = "never guessed"


@dataclass
class LoadReport:
    """How a checkpoint was loaded: its format, whether it was detected, kwargs inferred from it."""

    format: str
    entry_format: str
    detected: bool = False
    equivalent: tuple[str, ...] = ()
    inferred_kwargs: dict[str, Any] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"format": self.format, "format_detected": self.detected}
        if self.detected:
            meta["entry_format"] = self.entry_format
        if self.equivalent:
            meta["equivalent_formats"] = list(self.equivalent)
        if self.inferred_kwargs:
            meta["inferred_kwargs"] = dict(self.inferred_kwargs)
        return meta


def _show(items: list[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def describe_mismatch(model: nn.Module, state_dict: Mapping[str, Any]) -> str | None:
    """What keeps ``state_dict`` from loading strictly into ``model`` (missing / unexpected / shapes), or None."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [f"{k}: model {tuple(own[k].shape)} vs file {tuple(state_dict[k].shape)}" for k in own
             if k in state_dict and hasattr(state_dict[k], "shape") and tuple(own[k].shape) != tuple(state_dict[k].shape)]
    parts = [f"{len(missing)} missing: {_show(missing)}" if missing else "",
             f"{len(unexpected)} unexpected: {_show(unexpected)}" if unexpected else "",
             f"{len(wrong)} with another shape: {_show(wrong)}" if wrong else ""]
    text = "; ".join(p for p in parts if p)
    return text or None


def misspelt_keys(model: nn.Module, state_dict: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(file key, model key) pairs that differ by a spelling slip, when every key that does not fit has such a
    partner: the file (or the format's adapter) names the same tensors differently; no other architecture."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if not missing or len(missing) != len(unexpected):
        return []
    pairs = []
    for key in unexpected:
        close = difflib.get_close_matches(key, missing, n=1, cutoff=0.75)
        if not close or not hasattr(state_dict[key], "shape") or tuple(state_dict[key].shape) != tuple(own[close[0]].shape):
            return []
        pairs.append((key, close[0]))
        missing.remove(close[0])
    return pairs


def mismatch_hint(model: nn.Module, state_dict: Mapping[str, Any]) -> str:
    """What to try when ``state_dict`` does not fit ``model``: the misspelt names, or, when the file has other block
    counts or widths (other shapes, or only numbered blocks more or fewer), ``infer_architecture=True``."""
    pairs = misspelt_keys(model, state_dict)
    if pairs:
        shown = ", ".join(f"{a!r} for {b!r}" for a, b in pairs[:3]) + (" ..." if len(pairs) > 3 else "")
        return f"; the file names {shown}: a misspelt key in the file or the format's adapter"
    own = model.state_dict()
    norm = {re.sub(r"\d+", "#", k) for k in own}
    other_shape = any(k in own and hasattr(v, "shape") and tuple(v.shape) != tuple(own[k].shape)
                      for k, v in state_dict.items())
    other_count = all(re.sub(r"\d+", "#", k) in norm for k in state_dict if k not in own)
    if other_shape or other_count:
        return "; infer_architecture=True reads block counts and widths off the file"
    return ""


def _is_tensor_map(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(hasattr(v, "shape") for v in obj.values())


#: Wrappers trainers put around a state_dict (Lightning/most scripts: ``state_dict``; others ``model``, ``net``).
WRAPPER_KEYS = ("state_dict", "model", "net", "network", "generator")


def unwrap_plain(state_dict: Mapping[str, Any], model: nn.Module) -> Mapping[str, Any]:
    """A plain checkpoint as the model names it: one wrapper level removed, and a prefix every key shares
    (``model.``, ``net_g.``, ...) stripped when that makes the keys the model's. Anything else is returned as is."""
    if not _is_tensor_map(state_dict):
        inner = [state_dict[k] for k in WRAPPER_KEYS if isinstance(state_dict, Mapping) and _is_tensor_map(state_dict.get(k))]
        if len(inner) != 1:
            return state_dict
        state_dict = inner[0]
    own = model.state_dict()
    if all(k in own for k in state_dict):
        return state_dict
    first = next(iter(state_dict))
    prefix = first[: first.index(".") + 1] if "." in first else ""
    if prefix and all(k.startswith(prefix) for k in state_dict):
        stripped = {k[len(prefix):]: v for k, v in state_dict.items()}
        if all(k in own for k in stripped):
            return stripped
    return state_dict


def sniff_plain(state_dict: Mapping[str, Any], model: nn.Module) -> bool:
    """The core format: a flat mapping of tensors sharing at least one key with the model (after
    :func:`unwrap_plain`)."""
    state_dict = unwrap_plain(state_dict, model)
    if not _is_tensor_map(state_dict):
        return False
    own = model.state_dict()
    return any(k in own for k in state_dict)


def format_names() -> list[str]:
    """Every format a checkpoint can be in: the core's ``state_dict`` and the registered ones."""
    return [PLAIN, *get_manager().components("weight_format")]


def adapt(state_dict: Mapping[str, Any], fmt: str, model: nn.Module) -> Mapping[str, Any]:
    """The format's adapter applied to a checkpoint read from disk (identity for ``state_dict``)."""
    if fmt == PLAIN:
        return unwrap_plain(state_dict, model)
    registered = get_manager().components("weight_format").get(fmt)
    return registered.load("adapter")(state_dict, model) if registered.record.adapter else state_dict


def _sniffer(fmt: str) -> tuple[Callable | None, str | None]:
    """(sniff callable, reason it cannot be used) for a format."""
    if fmt == PLAIN:
        return sniff_plain, None
    registered = get_manager().components("weight_format").get(fmt)
    record = registered.record
    if record.reader is not None:
        return None, f"{NEVER_GUESSED}: it has its own file reader ({record.reader})"
    if record.sniff is None:
        return None, f"{NEVER_GUESSED}: plugin {registered.provider!r} gives it no sniff"
    return registered.load("sniff"), None


def _same_tensors(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    import torch  # heavy

    return a.keys() == b.keys() and all(
        a[k] is b[k] or (isinstance(a[k], torch.Tensor) and isinstance(b[k], torch.Tensor)
                         and a[k].shape == b[k].shape and torch.equal(a[k], b[k])) for k in a)


class _NoFit(Exception):
    """One format's attempt at a checkpoint failed; the message says why, ``hint`` what to try."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class _Attempt:
    fmt: str
    model: Any
    state_dict: Mapping[str, Any]
    overrides: dict[str, Any]


def _attempt(raw: Mapping[str, Any], fmt: str, model: nn.Module, entry: Entry,
             build: Callable[..., nn.Module] | None) -> _Attempt:
    """Adapt ``raw`` as ``fmt`` (rebuilding the model with inferred kwargs when ``build`` is given) and check the fit."""
    overrides: dict[str, Any] = {}
    if build is not None:
        try:
            overrides = infer_kwargs(raw, fmt, entry)
        except WeightsError as exc:
            raise _NoFit(f"cannot infer the architecture: {exc}") from None
        if overrides:
            try:
                model = build(**overrides)
            except (TypeError, ValueError) as exc:
                raise _NoFit(f"inferred kwargs {overrides} do not build: {exc}") from None
    try:
        state_dict = adapt(raw, fmt, model)
    except (WeightsError, KeyError, TypeError, ValueError, AttributeError) as exc:  # a plugin's adapter on a foreign layout
        raise _NoFit(f"is refused by the format's adapter: {exc}") from None
    mismatch = describe_mismatch(model, state_dict)
    if mismatch:
        built = f" (built with inferred {overrides})" if overrides else ""
        hint = mismatch_hint(model, state_dict)
        if "infer_architecture" not in hint:  # misspelt names belong with the mismatch they explain
            mismatch, hint = mismatch + hint, ""
        raise _NoFit(f"does not fit {type(model).__name__}{built}: {mismatch}", "" if build is not None else hint)
    return _Attempt(fmt, model, state_dict, overrides)


def detect_format(raw: Mapping[str, Any], model: nn.Module, entry: Entry, *, origin: str,
                  tried: dict[str, str] | None = None, build: Callable[..., nn.Module] | None = None,
                  hints: tuple[str, ...] = ()) -> tuple[_Attempt, tuple[str, ...]]:
    """The one format that recognises ``raw`` and loads strictly into ``model`` (or a rebuilt one, with ``build``).

    Returns the winning attempt and the other formats that give the same tensors. ``tried`` holds
    reasons for formats already ruled out (the entry's own). Raises :class:`WeightsError` listing every
    format and why it did not fit when none or several different ones fit.
    """
    reasons: dict[str, str] = dict(tried or {})
    hint_set = {h for h in hints if h}
    fits: list[_Attempt] = []
    for fmt in format_names():
        if fmt in reasons:
            continue
        sniff, why_not = _sniffer(fmt)
        if sniff is None:
            reasons[fmt] = why_not or "cannot be recognised"
            continue
        try:
            recognised = bool(sniff(raw, model))
        except Exception as exc:  # noqa: BLE001 - a plugin's sniff failing means "not recognised", with why
            reasons[fmt] = f"its sniff failed ({type(exc).__name__}: {exc})"
            continue
        if not recognised:
            reasons[fmt] = (f"not a flat map of tensors sharing keys with {type(model).__name__}" if fmt == PLAIN
                            else "layout not recognised")
            continue
        try:
            fits.append(_attempt(raw, fmt, model, entry, build))
        except _NoFit as exc:
            reasons[fmt] = f"recognised, but {exc}"
            hint_set.add(exc.hint)
    if fits:
        first = fits[0]
        if all(_same_tensors(first.state_dict, other.state_dict) for other in fits[1:]):
            return first, tuple(a.fmt for a in fits[1:])
        names = ", ".join(a.fmt for a in fits)
        raise WeightsError(f"weights {origin}: ambiguous checkpoint, formats {names} all recognise it and load "
                           f"different weights; pass weights_format= one of them")
    keys = sorted(map(str, raw))[:6] if isinstance(raw, Mapping) else []
    unrecognised = [fmt for fmt, reason in reasons.items() if reason == "layout not recognised"]
    never = [fmt for fmt, reason in reasons.items() if reason.startswith(NEVER_GUESSED)]
    listing = "\n".join(f"  - {fmt}: {reason}" for fmt, reason in reasons.items()
                        if fmt not in unrecognised and fmt not in never)
    if unrecognised:
        listing += f"\n  - layout not recognised by {', '.join(unrecognised)}"
    if never:
        listing += f"\n  - {NEVER_GUESSED} (pass weights_format=NAME to use one): {', '.join(never)}"
    hint = "" if build is not None or not any("infer_architecture" in h for h in hint_set) else (
        "\n  (a checkpoint of the same architecture with other block counts or widths loads with "
        "infer_architecture=True)")
    first = next(iter(tried.values()), "").removeprefix("the entry's format: ") if tried else ""
    head = f"weights {origin} fit no known format" + (f": in the entry's format it {first}" if first else "")
    raise WeightsError(f"{head}; top-level keys: {_show(keys, 6)}; formats tried:\n{listing}{hint}")


def infer_kwargs(raw: Mapping[str, Any], fmt: str, entry: Entry) -> dict[str, Any]:
    """Architecture kwargs read off ``raw`` by format ``fmt``'s ``infer_kwargs`` (only those that differ)."""
    if fmt == PLAIN:
        return {}
    registered = get_manager().components("weight_format").get(fmt)
    if registered.record.infer_kwargs is None:
        raise WeightsError(f"weight format {fmt!r} (plugin {registered.provider!r}) has no infer_kwargs")
    inferred = dict(registered.load("infer_kwargs")(raw, dict(entry.kwargs)))
    return {k: v for k, v in inferred.items() if entry.kwargs.get(k) != v}


def read_weights(resolved: ResolvedWeights) -> Mapping[str, Any]:
    """Read a resolved file with its format's reader (or the core's safe loader)."""
    from zoo.weights.serialization import load_checkpoint  # heavy

    fmt = resolved.spec.format
    if fmt == "state_dict":
        return load_checkpoint(resolved.path)
    registered = get_manager().components("weight_format").get(fmt)
    reader = registered.load("reader") if registered.record.reader else load_checkpoint
    return reader(resolved.path)


def _with_refresh_hint(exc: WeightsError, resolved: ResolvedWeights, entry: Entry) -> WeightsError:
    """A file the zoo fetched or converted itself and cannot read is damaged: say how to get it again."""
    if resolved.origin in ("explicit", "local"):
        return exc
    return WeightsError(f"{exc}. The zoo keeps this file in its cache ({resolved.origin}): remove it with "
                        f"`zoo cache rm {resolved.path.name}` and fetch or convert it again with "
                        f"`zoo download {entry.name}`")


def load_state_dict_strict(model: nn.Module, state_dict: Mapping[str, Any], origin: str) -> None:
    """``load_state_dict(strict=True)`` with an error that lists what does not fit, by key and shape."""
    mismatch = describe_mismatch(model, state_dict)
    if mismatch:
        raise WeightsError(f"weights {origin} do not fit {type(model).__name__}: {mismatch}")
    model.load_state_dict(state_dict, strict=True)


def load_into(model: nn.Module, entry: Entry, resolved: ResolvedWeights, *, detect: bool = False,
              infer_architecture: bool = False,
              build: Callable[..., nn.Module] | None = None) -> tuple[nn.Module, ResolvedWeights, LoadReport]:
    """Read ``resolved``, load it strictly into ``model`` and say how.

    ``detect``: when the file does not fit its format, find the format that fits (module docstring).
    ``infer_architecture``: rebuild the model with ``build(**kwargs)``, kwargs inferred from the file.
    Returns ``(model, resolved naming the format used, report)``.
    """
    fmt = resolved.spec.format
    where = f"{resolved.path} (format {fmt!r}, entry {entry.name!r})"
    if infer_architecture and build is None:
        raise ValueError("infer_architecture needs build=, the function that rebuilds the model from kwargs")
    rebuild = build if infer_architecture else None
    hints: tuple[str, ...] = ()
    try:
        raw = read_weights(resolved)
    except WeightsError as exc:
        if not detect or fmt == PLAIN:
            raise _with_refresh_hint(exc, resolved, entry) from None
        from zoo.weights.serialization import load_checkpoint  # heavy

        try:
            raw = load_checkpoint(resolved.path)
        except WeightsError as again:  # neither: the entry's own reader says what is wrong (a missing part...)
            if not resolved.path.is_file():  # ...unless it is no file at all (a folder): say that alone
                raise _with_refresh_hint(again, resolved, entry) from None
            both = WeightsError(f"weights file {resolved.path}: the entry's format {fmt!r} cannot read it: {exc}; "
                                f"nor is it a plain checkpoint: {again}")
            raise _with_refresh_hint(both, resolved, entry) from None
        tried = {fmt: f"the entry's format: its reader failed: {exc}"}
    else:
        try:
            attempt = _attempt(raw, fmt, model, entry, rebuild)
        except _NoFit as exc:
            if not detect:
                raise WeightsError(f"weights {where} {exc}{exc.hint}") from None
            tried, hints = {fmt: f"the entry's format: {exc}"}, (exc.hint,)
        else:
            attempt.model.load_state_dict(attempt.state_dict, strict=True)
            return attempt.model, resolved, LoadReport(fmt, fmt, inferred_kwargs=attempt.overrides)
    origin = f"{resolved.path} (entry {entry.name!r}, format {fmt!r})"
    attempt, same = detect_format(raw, model, entry, origin=origin, tried=tried, build=rebuild,
                                  hints=hints)
    attempt.model.load_state_dict(attempt.state_dict, strict=True)
    report = LoadReport(attempt.fmt, fmt, detected=True, equivalent=same, inferred_kwargs=attempt.overrides)
    return attempt.model, replace(resolved, spec=replace(resolved.spec, format=attempt.fmt)), report


def size_multiple_for(model: nn.Module, multiple: int) -> int:
    """The entry's size multiple, widened to the rebuilt model's own (a deeper U-Net needs more)."""
    own = getattr(model, "size_multiple", None)
    return multiple if not isinstance(own, int) else multiple * own // math.gcd(multiple, own)
