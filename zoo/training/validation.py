"""Validation during training: where the held-out data is, and the metrics that can run here.

``val_data=`` is a folder in the task's layout or a registered dataset name (resolved like ``zoo eval``'s
datasets). Weight-free metrics (PSNR, SSIM, cycle errors) always run; LPIPS (AlexNet trunk), FID/KID
(Inception) and the style distances (VGG16) run when their weights are in the cache, downloadable, or given
with ``metric_weights={lpips: PATH, fid: PATH, vgg16: PATH}``. A metric whose weights are absent is named
as unavailable (file, URL, cache path) in the run's log and never computed with random weights.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo.datasets import DatasetError, get_dataset, resolve_dataset
from zoo.datasets.layouts import scale_dir
from zoo.errors import UnknownNameError, ZooError
from zoo.evaluation import guarded
from zoo.metrics.fid import FID, KID
from zoo.metrics.inception import InceptionFeatures
from zoo.metrics.lpips import LPIPS
from zoo.metrics.psnr_ssim import psnr as psnr_np
from zoo.metrics.psnr_ssim import ssim as ssim_np
from zoo.metrics.style_distance import StyleDistance
from zoo.training.config import TrainingError

#: metric-name prefix -> the weights it needs (the key of ``metric_weights``); others need none
WEIGHT_GROUPS = {"lpips": "lpips", "fid": "fid", "kid": "fid", "content": "vgg16", "style": "vgg16"}
#: what a group's weights are, for the log
GROUP_NAMES = {"lpips": "LPIPS AlexNet trunk", "fid": "FID Inception", "vgg16": "VGG16 of the style distances"}


def weight_group(metric: str) -> str | None:
    """The ``metric_weights`` key a metric needs (``lpips_content`` -> ``lpips``), or None."""
    return WEIGHT_GROUPS.get(re.split(r"[_-]", metric)[0])


def higher_is_better(metric: str) -> bool:
    return metric.startswith(("psnr", "ssim"))


def resolve_val_data(value: str, *, scale: int | None = None, split: str | None = None) -> Path:
    """``val_data`` -> a local folder: an existing path, or a registered dataset (cached, ``ZOO_DATA``, download).

    ``scale`` picks an ``sr-pairs`` dataset's ``image_SRF_<scale>`` folder, ``split`` a paired dataset's split.
    """
    path = Path(value).expanduser()
    if path.exists():
        if not path.is_dir():
            raise TrainingError(f"option 'val_data': {path} is a file; expected a folder or a dataset name")
        return path
    try:
        record = get_dataset(value)
    except UnknownNameError:
        raise TrainingError(f"option 'val_data': {value!r} is neither a folder nor a registered dataset "
                            "(`zoo data list` lists them)") from None
    try:
        local = resolve_dataset(value, scales=[scale] if scale and record.layout == "sr-pairs" else None,
                                progress=False)
    except (DatasetError, ZooError) as exc:
        raise TrainingError(f"option 'val_data': dataset {value!r}: {str(exc).splitlines()[0]}") from None
    if local.root is None:  # packaged files
        parents = {f.parent for f in local.files}
        if len(parents) != 1:
            raise TrainingError(f"option 'val_data': dataset {value!r} is a set of packaged files; pass a folder")
        return parents.pop()
    if record.layout == "sr-pairs" and scale:
        return local.root / scale_dir(record, scale)
    split = split or record.options.get("split")
    if record.layout == "paired" and split and (local.root / split).is_dir():
        return local.root / split
    return local.root


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> H x W x C uint8 (gray as one channel)."""
    return (x.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


def mean_psnr_ssim(outputs: torch.Tensor, targets: torch.Tensor, *, crop_border: int = 0,
                   y_channel: bool = False) -> dict[str, float]:
    """Mean PSNR and SSIM (8-bit, BasicSR conventions) of (N, C, H, W) batches in [0, 1]."""
    rows = [(psnr_np(to_uint8(o), to_uint8(t), crop_border, y_channel),
             ssim_np(to_uint8(o), to_uint8(t), crop_border, y_channel)) for o, t in zip(outputs, targets)]
    return {"psnr": float(np.mean([r[0] for r in rows])), "ssim": float(np.mean([r[1] for r in rows]))}


def output_diversity(inputs: torch.Tensor, outputs: torch.Tensor) -> dict[str, float]:
    """Mean pairwise L1 distance between outputs for different inputs, and its ratio to the inputs' own (a ratio
    falling towards 0 means the outputs collapse onto one image)."""
    x, y = (t.float().flatten(1) for t in (inputs, outputs))
    n = y.shape[0]
    out_div = float((torch.cdist(y, y, p=1) / y.shape[1]).sum() / (n * (n - 1)))
    in_div = float((torch.cdist(x, x, p=1) / x.shape[1]).sum() / (n * (n - 1)))
    return {"diversity": out_div, "diversity_ratio": out_div / in_div if in_div > 0 else float("nan")}


class ValidationMetrics:
    """The weight-based metric networks a trainer validates with, built once; absent weights are recorded.

    ``names`` are the trainer's metric names (``lpips``, ``fid_AtoB``, ``content``...); ``unavailable`` maps
    each that cannot run here to the reason (file, URL, where to put it).
    """

    def __init__(self, names: Sequence[str], *, device: torch.device, weights: Mapping[str, Any] | None = None,
                 offline: bool | None = None) -> None:
        self.names = list(names)
        self.device = device
        self.weights = dict(weights or {})
        self.nets: dict[str, Any] = {}
        self.unavailable: dict[str, str] = {}
        groups = {g for g in map(weight_group, self.names) if g is not None}
        builders: dict[str, Callable[[], Any]] = {
            "lpips": lambda: LPIPS("alex", "0.1", input_range=(0, 1), backbone_weights=self.weights.get("lpips"),
                                   offline=offline).to(device),
            "fid": lambda: InceptionFeatures("clean", device=device, weights=self.weights.get("fid"), offline=offline),
            "vgg16": lambda: StyleDistance(device=device, weights=self.weights.get("vgg16"), offline=offline),
        }
        reasons: dict[str, str] = {}
        for group in sorted(groups):
            net, status = guarded(builders[group])
            if net is None:
                reasons[group] = self._reason(group, status)
            else:
                self.nets[group] = net
        for name in self.names:
            group = weight_group(name)
            if group in reasons:
                self.unavailable[name] = reasons[group]

    @staticmethod
    def _reason(group: str, status: str) -> str:
        text = status.removeprefix("unavailable: ")
        return f"{GROUP_NAMES[group]} weights are not here ({text}); pass metric_weights={{{group}: PATH}}"

    @property
    def available(self) -> list[str]:
        return [n for n in self.names if n not in self.unavailable]

    def wants(self, name: str) -> bool:
        return name in self.names and name not in self.unavailable

    @torch.no_grad()
    def lpips(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        """Mean LPIPS-alex v0.1 of (N, 3, H, W) batches in [0, 1] (gray is repeated to 3 channels); NaN for images
        smaller than the AlexNet trunk takes (31 px), where LPIPS is not defined."""
        net = self.nets["lpips"]
        if min(outputs.shape[-2:]) < net.spec.min_size:
            return float("nan")
        o, t = (x.float().clamp(0, 1).to(self.device) for x in (outputs, targets))
        if o.shape[1] == 1:
            o, t = o.expand(-1, 3, -1, -1), t.expand(-1, 3, -1, -1)
        return float(net(o, t).mean())

    def distribution(self, fakes: Sequence[torch.Tensor], reals: Sequence[torch.Tensor],
                     suffix: str = "") -> dict[str, float]:
        """FID and KID (clean flavour) of generated vs real images, lists of (3, H, W) in [0, 1]; each one only
        where it is among the names and computable (at least 2 images a side)."""
        out: dict[str, float] = {}
        extractor = self.nets.get("fid")
        if extractor is None:
            return out
        for metric, cls, kwargs in (("fid", FID, {}), ("kid", KID, {"subsets": 10})):
            name = metric + suffix
            if name not in self.names:
                continue
            m = cls(extractor=extractor, **kwargs)
            m.update(fake=[f[None].float().clamp(0, 1) for f in fakes],
                     real=[r[None].float().clamp(0, 1) for r in reals])
            value, _ = guarded(lambda metric=m: float(metric.compute().value))
            if value is not None:
                out[name] = value
        return out

    def style(self, outputs: Sequence[torch.Tensor], contents: Sequence[torch.Tensor],
              style_image: torch.Tensor | None) -> dict[str, float]:
        """Content and Gram style distances (VGG16, unweighted) of stylised outputs, (3, H, W) in [0, 1]."""
        net = self.nets.get("vgg16")
        if net is None:
            return {}
        u8 = (lambda x: (x.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu())
        got = net.mean_distances([u8(o) for o in outputs], [u8(c) for c in contents],
                                 None if style_image is None else u8(style_image))
        return {k: v for k, v in got.items() if k in self.names}
