"""Test helpers: parse the upstream key dumps, map their headings to our constructors, fake old checkpoints."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo_translation.networks import NLayerDiscriminator, PixelDiscriminator, ResnetGenerator, UnetGenerator

_HEADING = re.compile(r"^### (?P<title>.+?): (?P<keys>\d+) keys, (?P<params>\d+) params\s*$")
_LINE = re.compile(r"^\s+(?P<key>\S+) \((?P<shape>[\d, ]*)\)\s*$")


@dataclass
class KeySection:
    """One ``### title: N keys, P params`` section; ``keys`` is empty where the dump gives only counts."""

    title: str
    n_keys: int
    n_params: int
    keys: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)


def parse_key_dump(path: Path) -> list[KeySection]:
    sections: list[KeySection] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        heading = _HEADING.match(line)
        if heading:
            sections.append(KeySection(heading["title"], int(heading["keys"]), int(heading["params"])))
            continue
        entry = _LINE.match(line)
        if not entry or not sections:
            raise ValueError(f"{path}:{number}: unexpected line {line!r}")
        shape = tuple(int(v) for v in entry["shape"].replace(" ", "").split(",") if v)
        sections[-1].keys.append((entry["key"], shape))
    return sections


def config_from_title(title: str) -> tuple[str, dict[str, Any]]:
    """``'resnet_9blocks instance (CycleGAN G)'`` -> ``('resnet_generator', {...})``: upstream's option names."""
    norm_match = re.search(r"\b(instance|batch|none)\b", title)
    if not norm_match:
        raise ValueError(f"no norm in section title {title!r}")
    norm = norm_match.group(1)
    in_match = re.search(r"in=(\d+)", title)
    input_nc = int(in_match.group(1)) if in_match else 3
    resnet = re.match(r"resnet_(\d+)blocks\b", title)
    if resnet:
        return "resnet_generator", {"input_nc": input_nc, "output_nc": 3, "ngf": 64, "norm": norm,
                                    "n_blocks": int(resnet.group(1))}
    unet = re.match(r"unet_(\d+)\b", title)
    if unet:
        size = int(unet.group(1))
        num_downs = size.bit_length() - 1
        assert 2 ** num_downs == size, title
        return "unet_generator", {"input_nc": input_nc, "output_nc": 3, "num_downs": num_downs, "ngf": 64, "norm": norm}
    if title.startswith("NLayerD basic"):
        return "nlayer_discriminator", {"input_nc": input_nc, "ndf": 64, "n_layers": 3, "norm": norm}
    if title.startswith("PixelD"):
        return "pixel_discriminator", {"input_nc": input_nc, "ndf": 64, "norm": norm}
    raise ValueError(f"unknown architecture in section title {title!r}")


CONSTRUCTORS = {"resnet_generator": ResnetGenerator, "unet_generator": UnetGenerator,
                "nlayer_discriminator": NLayerDiscriminator, "pixel_discriminator": PixelDiscriminator}


def build(name: str, **kwargs: Any) -> nn.Module:
    return CONSTRUCTORS[name](**kwargs)


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics, so that mix-ups of any tensor show in the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=gen) * 0.2 - 0.1)
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
                module.running_var.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
                module.num_batches_tracked.fill_(11)
    return model


def legacy_checkpoint(model: nn.Module, path: Path, *, module_prefix: bool = False,
                      drop_batch_counters: bool = False) -> Path:
    """Save ``model``'s weights as an old official checkpoint looks: pre-0.4 InstanceNorms with running
    stats (random values) and their ``num_batches_tracked``, ``_metadata``, optionally DataParallel's
    ``module.`` prefix and no BatchNorm ``num_batches_tracked`` (files older than PyTorch 0.4.1)."""
    legacy = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(1)
    for parent in list(legacy.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                tracking = nn.InstanceNorm2d(child.num_features, affine=False, track_running_stats=True)
                tracking.running_mean.copy_(torch.rand(child.num_features, generator=gen))
                tracking.running_var.copy_(torch.rand(child.num_features, generator=gen) + 0.5)
                tracking.num_batches_tracked.fill_(5)
                setattr(parent, name, tracking)
    state = legacy.state_dict()  # an OrderedDict carrying ._metadata, as torch.save writes it upstream
    if drop_batch_counters:
        for key in [k for k in state if k.endswith("num_batches_tracked")]:
            owner = legacy.get_submodule(key.rsplit(".", 1)[0])
            if isinstance(owner, nn.BatchNorm2d):
                del state[key]
    if module_prefix:
        metadata = state._metadata
        state = type(state)(("module." + k, v) for k, v in state.items())
        state._metadata = metadata
    torch.save(state, path)
    return path
