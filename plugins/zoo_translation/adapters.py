"""The ``junyanz`` weight format: official CycleGAN/pix2pix ``.pth`` files -> our modules' state_dicts.

Official checkpoints are plain state_dicts (``latest_net_G.pth``) in exactly our key layout, with
three kinds of noise that a strict load rejects:

* ``_metadata`` (an attribute, or occasionally a key) and ``module.`` prefixes from DataParallel;
* ``running_mean``/``running_var``/``num_batches_tracked`` of InstanceNorm layers, saved by
  PyTorch < 0.4 whose InstanceNorm tracked running stats by default. They are dropped only where
  the owning module in *our* model is an InstanceNorm without that buffer (found by walking the
  model, not by pattern), so a BatchNorm's statistics can never be discarded by mistake;
* BatchNorm layers saved before ``num_batches_tracked`` existed: the counter is filled with 0,
  as ``torch.nn`` does for such files.

For :class:`~zoo_translation.networks.ResnetGenerator` the number of residual blocks is checked
first (a clear error instead of dozens of missing keys), and a checkpoint trained with dropout
(second conv at ``conv_block.6``) is renamed to load into a model without dropout and vice versa:
dropout has no weights, so this is exact in eval mode. Remaining mismatches are reported by the
core's strict load (missing / unexpected keys and shapes).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import torch
from torch import nn

from zoo.errors import WeightsError

from .networks import ResnetBlock, ResnetGenerator

_BLOCK_KEY = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.")
_INSTANCE_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def _where(origin: str | None) -> str:
    return f" (file {origin})" if origin else ""


def strip_prefixes(state_dict: Mapping[str, Any], origin: str | None = None) -> dict[str, torch.Tensor]:
    """A plain ``dict`` copy without ``_metadata`` and without leading ``module.`` prefixes."""
    plain: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key == "_metadata":
            continue
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"checkpoint entry {key!r} is a {type(value).__name__}, not a tensor{_where(origin)}; "
                               "junyanz checkpoints are plain state_dicts (latest_net_G.pth)")
        name = key
        while name.startswith("module."):
            name = name[len("module."):]
        if name in plain:
            raise WeightsError(f"checkpoint has {key!r} both with and without a 'module.' prefix{_where(origin)}")
        plain[name] = value
    return plain


def infer_resnet_blocks(state_dict: Mapping[str, Any]) -> int:
    """How many ResNet blocks a ResnetGenerator checkpoint holds (distinct ``model.N.conv_block`` indices).

    Returns 0 when there are none (not a ResNet generator, or one built with ``n_blocks=0``).
    """
    blocks = set()
    for key in state_dict:
        name = key
        while name.startswith("module."):
            name = name[len("module."):]
        match = _BLOCK_KEY.match(name)
        if match:
            blocks.add(int(match.group(1)))
    return len(blocks)


def check_resnet_blocks(state_dict: Mapping[str, Any], model: ResnetGenerator, origin: str | None = None) -> None:
    """Raise :class:`WeightsError` when the checkpoint has another number of blocks than ``model``."""
    found = infer_resnet_blocks(state_dict)
    if found and found != model.n_blocks:
        raise WeightsError(
            f"ResnetGenerator checkpoint does not fit: expected {model.n_blocks} residual blocks, checkpoint has "
            f"{found}{_where(origin)}; build the model with n_blocks={found} (architecture kwargs in the catalog "
            f"entry, or zoo.build_model(..., n_blocks={found}))")


def _keyed_children(keys: Any, prefix: str) -> list[int]:
    """Sorted indices ``i`` of ``prefix + 'i.'`` keys: the sub-layers of a Sequential that own weights."""
    found = set()
    for key in keys:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def _conv_indices(state_dict: Mapping[str, Any], prefix: str) -> list[int]:
    """Indices of the 3x3 convolutions (4-D ``weight`` tensors) among ``prefix + 'i.'`` keys."""
    return [i for i in _keyed_children(state_dict, prefix)
            if getattr(state_dict.get(f"{prefix}{i}.weight"), "ndim", 0) == 4]


def remap_resnet_dropout_layout(state_dict: dict[str, torch.Tensor], model: ResnetGenerator) -> dict[str, torch.Tensor]:
    """Rename ResNet block layers between the with-dropout and without-dropout index layouts.

    A block is ``[pad] conv norm relu [dropout] [pad] conv norm``: dropout shifts the second conv and
    its norm by one. Per block, when both the checkpoint and the model have two convolutions, the
    first at the same index and the second one apart, the checkpoint's second conv and everything
    after it are moved to the model's index. Anything else is left for the strict load to report.
    """
    own_state = model.state_dict()
    renames: dict[str, str] = {}
    for index, layer in enumerate(model.model):
        if not isinstance(layer, ResnetBlock):
            continue
        prefix = f"model.{index}.conv_block."
        own, theirs = _conv_indices(own_state, prefix), _conv_indices(state_dict, prefix)
        if len(own) != 2 or len(theirs) != 2 or own[0] != theirs[0] or abs(own[1] - theirs[1]) != 1:
            continue
        shift = own[1] - theirs[1]
        for key in state_dict:
            if key.startswith(prefix):
                head, _, rest = key[len(prefix):].partition(".")
                if head.isdigit() and int(head) >= theirs[1]:
                    renames[key] = f"{prefix}{int(head) + shift}.{rest}"
    if not renames:
        return state_dict
    return {renames.get(key, key): value for key, value in state_dict.items()}


def drop_untracked_instance_norm_stats(state_dict: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Drop InstanceNorm running stats / counters that the corresponding module of ``model`` does not keep."""
    kept: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        owner_path, _, leaf = key.rpartition(".")
        if leaf in _NORM_BUFFERS:
            try:
                owner = model.get_submodule(owner_path)
            except AttributeError:
                owner = None
            if isinstance(owner, _INSTANCE_NORMS) and getattr(owner, leaf, None) is None:
                continue
        kept[key] = value
    return kept


def fill_batch_norm_counters(state_dict: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Add ``num_batches_tracked = 0`` for BatchNorm layers saved before PyTorch 0.4.1 introduced it."""
    for path, module in model.named_modules():
        if isinstance(module, _BATCH_NORMS) and module.track_running_stats:
            prefix = f"{path}." if path else ""
            if prefix + "running_mean" in state_dict and prefix + "num_batches_tracked" not in state_dict:
                state_dict[prefix + "num_batches_tracked"] = torch.tensor(0, dtype=torch.long)
    return state_dict


def adapt_junyanz_state_dict(state_dict: Mapping[str, Any], model: nn.Module, *,
                             origin: str | None = None) -> dict[str, torch.Tensor]:
    """The ``junyanz`` WeightFormat adapter: an official checkpoint -> a state_dict ``model`` loads strictly.

    ``origin`` (the file) only improves error messages. The input mapping is not modified.
    """
    adapted = strip_prefixes(state_dict, origin)
    if isinstance(model, ResnetGenerator):
        check_resnet_blocks(adapted, model, origin)
        adapted = remap_resnet_dropout_layout(adapted, model)
    adapted = drop_untracked_instance_norm_stats(adapted, model)
    return fill_batch_norm_counters(adapted, model)


def infer_architecture(state_dict: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Guess ``(architecture name, kwargs)`` of a junyanz generator checkpoint from its keys and shapes.

    Recognises ResnetGenerator and UnetGenerator; raises :class:`WeightsError` otherwise.
    """
    sd = strip_prefixes(state_dict)
    has_batch_stats = any(k.endswith(".running_mean") for k in sd) and any(
        k.endswith(".weight") and v.ndim == 1 for k, v in sd.items())
    if "model.1.weight" in sd and sd["model.1.weight"].ndim == 4 and sd["model.1.weight"].shape[-1] == 7:
        first = sd["model.1.weight"]
        n_blocks = infer_resnet_blocks(sd)
        last = sd.get(f"model.{ResnetGenerator.FIRST_BLOCK_INDEX + n_blocks + 7}.weight")
        if last is None:
            raise WeightsError("checkpoint looks like a ResnetGenerator but its final convolution is missing")
        norm = "batch" if has_batch_stats else "instance" if "model.1.bias" in sd else "none"
        block_layers = _keyed_children(sd, f"model.{ResnetGenerator.FIRST_BLOCK_INDEX}.conv_block.")
        convs = [i for i in block_layers if sd.get(f"model.{ResnetGenerator.FIRST_BLOCK_INDEX}.conv_block.{i}.weight",
                                                    torch.empty(0)).ndim == 4]
        padding_gap = 0 if len(convs) < 2 else convs[1] - convs[0]
        padding_type = "zero" if convs and convs[0] == 0 else "reflect"
        use_dropout = padding_gap == (5 if padding_type == "reflect" else 4)
        return "resnet_generator", {"input_nc": int(first.shape[1]), "output_nc": int(last.shape[0]),
                                    "ngf": int(first.shape[0]), "norm": norm, "use_dropout": use_dropout,
                                    "n_blocks": n_blocks, "padding_type": padding_type}
    if "model.model.0.weight" in sd:
        first = sd["model.model.0.weight"]
        depth, prefix = 1, "model.model.1."
        while f"{prefix}model.3.model.1.weight" in sd:  # descend while the next level is not the innermost
            depth, prefix = depth + 1, f"{prefix}model.3."
        num_downs = depth + 1  # the innermost level
        norm = "batch" if has_batch_stats else "instance" if "model.model.1.model.1.bias" in sd else "none"
        return "unet_generator", {"input_nc": int(first.shape[1]), "output_nc": int(sd["model.model.3.weight"].shape[1]),
                                  "num_downs": num_downs, "ngf": int(first.shape[0]), "norm": norm}
    raise WeightsError("not a junyanz ResnetGenerator or UnetGenerator checkpoint (no 'model.1.weight' 7x7 conv "
                       "and no 'model.model.0.weight')")


_JUNYANZ_KEY = re.compile(r"^(module\.)*model\.(\d+|model\.)")


def sniff_junyanz(state_dict: Mapping[str, Any], model: nn.Module | None = None) -> bool:
    """A junyanz generator save: a plain map of tensors whose keys all sit under ``model.`` (``_metadata`` aside).

    ResNet generators use ``model.<index>.``, U-Nets ``model.model.``; which one fits is left to the strict load.
    """
    keys = [k for k in state_dict if k != "_metadata"]
    return bool(keys) and all(isinstance(k, str) and _JUNYANZ_KEY.match(k) and isinstance(state_dict[k], torch.Tensor)
                              for k in keys)


#: kwargs :func:`infer_kwargs` may change: counts and widths read off shapes. Norm, dropout and padding
#: stay the entry's (they change behaviour, and dropout/padding are not always visible in the keys).
_INFERABLE = {"resnet_generator": ("input_nc", "output_nc", "ngf", "n_blocks"),
              "unet_generator": ("input_nc", "output_nc", "ngf", "num_downs")}


def infer_kwargs(state_dict: Mapping[str, Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``junyanz`` format's ``infer_kwargs``: ResNet block count / U-Net depth and widths from shapes.

    ``kwargs`` are the entry's; a checkpoint of the other generator family is an error naming both.
    """
    arch, found = infer_architecture(state_dict)
    expected = "unet_generator" if "num_downs" in kwargs else "resnet_generator" if "n_blocks" in kwargs else None
    if expected is not None and arch != expected:
        raise WeightsError(f"checkpoint holds a {arch} but the entry builds a {expected}; use an entry of that "
                           "architecture")
    return {k: found[k] for k in _INFERABLE[arch]}
