"""Checkpoint layouts of the BasicSR family, adapted to the key names of :mod:`zoo_sr.archs`.

* ``basicsr``: BasicSR / Real-ESRGAN saves, ``{"params_ema": sd, "params": sd}`` or a bare state_dict.
  ``params_ema`` is preferred (as Real-ESRGAN's inference does), ``module.`` prefixes are dropped.
* ``esrgan-original``: xinntao/ESRGAN's 2019 names (``RRDB_trunk.N.RDBk``, ``trunk_conv``, ``upconvK``,
  ``HRconv``; MSRResNet's ``recon_trunk``) and the 2018 ``model.N`` names of the first ESRGAN release.
* ``mmedit``: OpenMMLab mmediting/mmagic checkpoints: ``{"state_dict": {"generator.<key>": ...}}`` with
  MSRResNet's ``trunk_net`` / ``upsample{k}.upsample_conv`` names.

Each format also has a ``sniff`` (recognises its layout from key names) and an ``infer_kwargs``
(block counts and widths from shapes) for :mod:`zoo.weights.formats`.

Each adapter returns a new mapping and never guesses silently: keys it cannot place are left as they
are, so the strict load that follows names them.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from zoo.errors import WeightsError

__all__ = ["unwrap_basicsr", "strip_prefix", "adapt_basicsr", "adapt_esrgan_original", "adapt_mmedit",
           "esrgan_2018_to_basicsr", "esrgan_2019_to_basicsr", "sniff_basicsr", "sniff_esrgan_original",
           "sniff_mmedit", "infer_sr_kwargs", "infer_basicsr_kwargs", "infer_esrgan_original_kwargs",
           "infer_mmedit_kwargs"]

BASICSR_WRAPPERS = ("params_ema", "params")


def _is_tensor_map(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(hasattr(v, "shape") for v in obj.values())


def unwrap_basicsr(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The state_dict inside a BasicSR save: ``params_ema`` if present, else ``params``, else the mapping itself."""
    for key in BASICSR_WRAPPERS:
        inner = checkpoint.get(key)
        if inner is not None:
            if not isinstance(inner, Mapping):
                raise WeightsError(f"checkpoint entry {key!r} is a {type(inner).__name__}, expected a state_dict")
            return inner
    if not _is_tensor_map(checkpoint):
        found = ", ".join(sorted(map(str, checkpoint))[:8])
        raise WeightsError(f"not a BasicSR checkpoint: no 'params_ema' or 'params' entry and the top level is not "
                           f"a state_dict (keys: {found})")
    return checkpoint


def strip_prefix(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Drop ``prefix`` from every key that starts with it (DataParallel's ``module.``)."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state_dict.items()}


def adapt_basicsr(state_dict: Mapping[str, Any], model: Any = None) -> dict[str, Any]:
    """Format ``basicsr``: unwrap ``params_ema``/``params``, strip ``module.``."""
    return strip_prefix(unwrap_basicsr(state_dict), "module.")


# --- original ESRGAN names ---------------------------------------------------------------------------------
_ESRGAN_2019 = [  # (pattern, replacement), applied in order to each key
    (re.compile(r"^RRDB_trunk\.(\d+)\.RDB(\d)\."), r"body.\1.rdb\2."),
    (re.compile(r"^recon_trunk\."), "body."),  # xinntao's MSRResNet (mmsr / old BasicSR)
    (re.compile(r"^trunk_conv\."), "conv_body."),
    (re.compile(r"^HRconv\."), "conv_hr."),
]
_RRDB_UPCONV = re.compile(r"^upconv([12])\.")


def esrgan_2019_to_basicsr(state_dict: Mapping[str, Any], rrdb: bool = True) -> dict[str, Any]:
    """xinntao/ESRGAN ``RRDBNet_arch.py`` names -> BasicSR names.

    ``upconvK`` becomes ``conv_upK`` for RRDBNet only (``rrdb=True``); MSRResNet keeps ``upconvK``.
    """
    out: dict[str, Any] = {}
    for key, value in state_dict.items():
        new = key
        for pattern, repl in _ESRGAN_2019:
            new = pattern.sub(repl, new)
        if rrdb:
            new = _RRDB_UPCONV.sub(r"conv_up\1.", new)
        out[new] = value
    return out


_M2018_RDB = re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$")
_M2018_TOP = re.compile(r"^model\.(\d+)\.(weight|bias)$")
_M2018_TRUNK = re.compile(r"^model\.1\.sub\.(\d+)\.(weight|bias)$")
_M2018_LAYERS = {0: "conv_first", 3: "conv_up1", 6: "conv_up2", 8: "conv_hr", 10: "conv_last"}


def esrgan_2018_to_basicsr(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The first ESRGAN release's ``model.N`` names (a ``nn.Sequential`` graph) -> BasicSR names.

    ``model.0`` conv_first; ``model.1.sub.i.RDBk.convm.0`` the dense blocks; ``model.1.sub.<num_block>``
    the trunk conv; ``model.3`` / ``model.6`` the upsampling convs; ``model.8`` HR conv; ``model.10`` last conv.
    """
    rdb_indices = {int(m.group(1)) for k in state_dict if (m := _M2018_RDB.match(k))}
    num_block = max(rdb_indices) + 1 if rdb_indices else None
    out: dict[str, Any] = {}
    for key, value in state_dict.items():
        if m := _M2018_RDB.match(key):
            out[f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{m.group(4)}"] = value
        elif (m := _M2018_TRUNK.match(key)) and num_block is not None and int(m.group(1)) == num_block:
            out[f"conv_body.{m.group(2)}"] = value
        elif (m := _M2018_TOP.match(key)) and int(m.group(1)) in _M2018_LAYERS:
            out[f"{_M2018_LAYERS[int(m.group(1))]}.{m.group(2)}"] = value
        else:
            out[key] = value  # left for the strict load to report
    return out


def _looks_like_rrdb(model: Any, state_dict: Mapping[str, Any]) -> bool:
    if model is not None:
        return hasattr(model, "conv_up1")
    return any("RDB" in k or k.startswith("trunk_conv") for k in state_dict)


def adapt_esrgan_original(state_dict: Mapping[str, Any], model: Any = None) -> dict[str, Any]:
    """Format ``esrgan-original``: 2018 ``model.N`` or 2019 ``RRDB_trunk`` names (also BasicSR-wrapped)."""
    sd = strip_prefix(unwrap_basicsr(state_dict), "module.")
    if any(k.startswith("model.") for k in sd):
        return esrgan_2018_to_basicsr(sd)
    return esrgan_2019_to_basicsr(sd, rrdb=_looks_like_rrdb(model, sd))


# --- mmediting / mmagic -------------------------------------------------------------------------------------
_MMEDIT_RENAMES = [
    (re.compile(r"^trunk_net\."), "body."),
    (re.compile(r"^upsample([12])\.upsample_conv\."), r"upconv\1."),
]


def adapt_mmedit(state_dict: Mapping[str, Any], model: Any = None) -> dict[str, Any]:
    """Format ``mmedit``: take ``state_dict``'s ``generator.*`` (or ``generator_ema.*``) keys, rename MSRResNet's.

    The EMA generator is preferred when the checkpoint has one, like ``params_ema`` for BasicSR.
    """
    sd = state_dict.get("state_dict", state_dict)
    if not isinstance(sd, Mapping):
        raise WeightsError(f"mmedit checkpoint entry 'state_dict' is a {type(sd).__name__}, expected a mapping")
    for prefix in ("generator_ema.", "generator."):
        picked = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if picked:
            break
    else:
        if not _is_tensor_map(sd):
            found = ", ".join(sorted(map(str, sd))[:8])
            raise WeightsError(f"not an mmedit generator checkpoint: no 'generator.' keys (keys: {found})")
        picked = dict(sd)
    out: dict[str, Any] = {}
    for key, value in strip_prefix(picked, "module.").items():
        for pattern, repl in _MMEDIT_RENAMES:
            key = pattern.sub(repl, key)
        out[key] = value
    return out


# --- recognising a layout (WeightFormat.sniff) ----------------------------------------------------------------
_BASICSR_NAMES = re.compile(r"^(module\.)?(conv_first|body\.\d+|conv_body|conv_up\d|conv_hr|conv_last|upconv\d)\.")
_ESRGAN_ORIGINAL_NAMES = re.compile(r"^(module\.)?(RRDB_trunk\.|trunk_conv\.|HRconv\.|recon_trunk\.|model\.1\.sub\.\d+\.)")


def _top_keys(state_dict: Mapping[str, Any]) -> list[str]:
    return [k for k in state_dict if isinstance(k, str)]


def _inner_for_sniff(checkpoint: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The tensor map of a BasicSR-style save (wrapped or bare), or None."""
    for key in BASICSR_WRAPPERS:
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping):
            return inner
    return checkpoint if _is_tensor_map(checkpoint) else None


def sniff_basicsr(checkpoint: Mapping[str, Any], model: Any = None) -> bool:
    """A BasicSR / Real-ESRGAN save: ``params``/``params_ema`` wrapper, or a bare map in BasicSR names."""
    inner = _inner_for_sniff(checkpoint)
    if inner is None or not inner:
        return False
    keys = _top_keys(inner)
    return bool(keys) and all(_BASICSR_NAMES.match(k) for k in keys)


def sniff_esrgan_original(checkpoint: Mapping[str, Any], model: Any = None) -> bool:
    """xinntao/ESRGAN's 2019 (``RRDB_trunk``, ``trunk_conv``, ``HRconv``) or 2018 (``model.1.sub``) names."""
    inner = _inner_for_sniff(checkpoint)
    return inner is not None and any(_ESRGAN_ORIGINAL_NAMES.match(k) for k in _top_keys(inner))


def sniff_mmedit(checkpoint: Mapping[str, Any], model: Any = None) -> bool:
    """An mmediting/mmagic save: ``{"state_dict": {"generator.*": ...}}`` or ``generator.*`` keys at the top."""
    sd = checkpoint.get("state_dict", checkpoint)
    return isinstance(sd, Mapping) and any(isinstance(k, str) and k.startswith(("generator.", "generator_ema."))
                                           for k in sd)


# --- architecture kwargs read off shapes (WeightFormat.infer_kwargs) -------------------------------------------
_BODY_INDEX = re.compile(r"^body\.(\d+)\.")


def _body_indices(state_dict: Mapping[str, Any]) -> list[int]:
    return sorted({int(m.group(1)) for k in state_dict if (m := _BODY_INDEX.match(k))})


def infer_sr_kwargs(state_dict: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Block counts and widths of RRDBNet / SRVGGNetCompact / MSRResNet from a state_dict in BasicSR names.

    Scale is never inferred (it is part of the entry's processing): a file of another scale fails the
    strict load with the shapes named.
    """
    def shape(key: str) -> tuple[int, ...]:
        value = state_dict.get(key)
        if value is None or not hasattr(value, "shape"):
            raise WeightsError(f"cannot infer the architecture: the checkpoint has no {key!r}")
        return tuple(value.shape)

    if "body.0.rdb1.conv1.weight" in state_dict:  # RRDBNet
        first = shape("conv_first.weight")
        return {"num_feat": first[0], "num_block": len(_body_indices(state_dict)),
                "num_grow_ch": shape("body.0.rdb1.conv1.weight")[0], "num_out_ch": shape("conv_last.weight")[0]}
    if "body.0.conv1.weight" in state_dict and "conv_first.weight" in state_dict:  # MSRResNet
        first = shape("conv_first.weight")
        return {"num_in_ch": first[1], "num_feat": first[0], "num_block": len(_body_indices(state_dict)),
                "num_out_ch": shape("conv_last.weight")[0]}
    convs = [i for i in _body_indices(state_dict) if len(shape(f"body.{i}.weight")) == 4]
    if convs and convs[0] == 0:  # SRVGGNetCompact: conv, act, (conv, act) * num_conv, conv
        first = shape("body.0.weight")
        return {"num_in_ch": first[1], "num_out_ch": first[1], "num_feat": first[0], "num_conv": len(convs) - 2}
    raise WeightsError("cannot infer the architecture: not an RRDBNet, MSRResNet or SRVGGNetCompact state_dict "
                       f"(keys: {', '.join(sorted(state_dict)[:6])})")


def infer_basicsr_kwargs(checkpoint: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return infer_sr_kwargs(adapt_basicsr(checkpoint), kwargs)


def infer_esrgan_original_kwargs(checkpoint: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    sd = strip_prefix(unwrap_basicsr(checkpoint), "module.")
    rrdb = any("RDB" in k or k.startswith("trunk_conv") for k in sd)
    return infer_sr_kwargs(adapt_esrgan_original(checkpoint, None) if rrdb else esrgan_2019_to_basicsr(sd, False),
                           kwargs)


def infer_mmedit_kwargs(checkpoint: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return infer_sr_kwargs(adapt_mmedit(checkpoint), kwargs)
