"""Paired (full-reference) metrics over image pairs: LPIPS streaming, and folder-level LPIPS / PSNR / SSIM.

Folder pairs are matched by file name without extension (:func:`zoo.metrics.data.pair_by_stem`);
the reported value is the mean over images, with the per-image values kept for reports.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np
import torch

from zoo.errors import ImageInputError
from zoo.metrics import psnr_ssim
from zoo.metrics.data import ImagePairs, collate_pairs, decode_rgb_uint8, make_loader, pair_by_stem, to_uint8
from zoo.metrics.inception import default_device, reference_precision
from zoo.metrics.lpips import LPIPS
from zoo.metrics.result import MetricResult


class LPIPSMetric:
    """Accumulates per-pair LPIPS (and per-layer means) over batches; ``compute()`` gives the mean.

    Batches are uint8 (0..255) or floats in the explicit ``value_range``; they are mapped to [0, 1]
    on the device and fed to LPIPS with ``input_range=(0, 1)``.
    """

    def __init__(self, net: str = "alex", version: str = "0.1", *, device: str | torch.device | None = None,
                 value_range: Sequence[float] = (0.0, 1.0), backbone_weights: str | os.PathLike[str] | None = None,
                 offline: bool | None = None, model: LPIPS | None = None) -> None:

        self.device = torch.device(device) if device is not None else default_device()
        self.model = (model or LPIPS(net, version, input_range=(0, 1), backbone_weights=backbone_weights,
                                     offline=offline)).to(self.device)
        if self.model.input_range != (0.0, 1.0):
            raise ValueError("LPIPSMetric needs an LPIPS model built with input_range=(0, 1)")
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.values: list[torch.Tensor] = []
        self.layer_sums = torch.zeros(len(self.model.lins), dtype=torch.float64)
        self.names: list[str] = []

    def _unit(self, images: torch.Tensor | Sequence[torch.Tensor], what: str) -> list[torch.Tensor]:
        batches = [images] if isinstance(images, torch.Tensor) else list(images)
        out = []
        for b in batches:
            b = b.unsqueeze(0) if b.ndim == 3 else b
            out.append(to_uint8(b, self.value_range, what=what).to(self.device, non_blocking=True).float() / 255)
        return out

    @torch.inference_mode()
    def update(self, a, b, names: Sequence[str] | None = None) -> torch.Tensor:
        """Add pairs (equal-shaped (N,3,H,W) tensors, or lists of per-pair tensors); returns their values."""
        values = []
        for x, y in zip(self._unit(a, "first images"), self._unit(b, "second images"), strict=True):
            with reference_precision(self.device):
                total, layers = self.model(x, y, per_layer=True)
            values.append(total.double().cpu())
            self.layer_sums += torch.stack([layer.double().sum().cpu() for layer in layers])
        batch = torch.cat(values)
        self.values.append(batch)
        self.names.extend(names if names is not None else [str(len(self.names) + i) for i in range(len(batch))])
        return batch

    def compute(self) -> MetricResult:
        if not self.values:
            raise ValueError("LPIPS: no image pairs were given")
        values = torch.cat(self.values)
        n = values.numel()
        info = self.model.weights_info
        details = {"net": self.model.net, "version": self.model.version, "n": n,
                   "std": float(values.std()) if n > 1 else 0.0,
                   "per_layer_mean": [float(v) / n for v in self.layer_sums],
                   "backbone_sha256": (info.get("backbone") or {}).get("sha256"),
                   "backbone_verified": (info.get("backbone") or {}).get("verified"),
                   "per_image": dict(zip(self.names, values.tolist()))}
        return MetricResult(self.model.name, float(values.mean()), details)


def lpips_folders(folder_a, folder_b, *, net: str = "alex", version: str = "0.1", device=None, batch_size: int = 16,
                  workers: int | None = None, backbone_weights=None, offline: bool | None = None,
                  model: LPIPS | None = None) -> MetricResult:
    """Mean LPIPS between same-named images of two folders."""
    pairs = pair_by_stem(folder_a, folder_b)  # before loading weights: naming problems are reported first
    metric = LPIPSMetric(net, version, device=device, backbone_weights=backbone_weights, offline=offline, model=model)
    workers = default_workers(metric.device) if workers is None else workers
    loader = make_loader(ImagePairs(pairs), batch_size=batch_size, workers=workers, device=metric.device,
                         collate=collate_pairs)
    for a, b, names in loader:
        metric.update(a, b, names)
    result = metric.compute()
    result.details.update(folder_a=str(folder_a), folder_b=str(folder_b))
    return result


def pixel_folders(name: str, folder_a, folder_b, *, crop_border: int | None = None, test_y_channel: bool | None = None,
                  protocol: str | None = None, scale: int | None = None) -> MetricResult:
    """Mean PSNR or SSIM (SR-paper conventions of :mod:`zoo.metrics.psnr_ssim`) over same-named images; a named
    ``protocol`` at ``scale`` (``sr-y``, 4) sets the crop and channel as :func:`psnr_ssim.psnr` does."""
    fn = {"psnr": psnr_ssim.psnr, "ssim": psnr_ssim.ssim}[name]
    crop_border, test_y_channel = psnr_ssim.protocol_options(protocol, scale, crop_border, test_y_channel)
    per_image = {}
    for a, b in pair_by_stem(folder_a, folder_b):
        x, y = decode_rgb_uint8(a), decode_rgb_uint8(b)
        if x.shape != y.shape:

            raise ImageInputError(f"{a} ({x.shape[2]}x{x.shape[1]}) and {b} ({y.shape[2]}x{y.shape[1]}) differ in size")
        per_image[a.stem] = fn(x.numpy(), y.numpy(), crop_border=crop_border, test_y_channel=test_y_channel,
                               input_order="CHW")
    values = np.array(list(per_image.values()), dtype=np.float64)
    finite = values[np.isfinite(values)]
    details = {"n": len(values), "protocol": protocol, "scale": scale, "crop_border": crop_border,
               "y_channel": test_y_channel,
               "identical_pairs": int(len(values) - len(finite)), "folder_a": str(folder_a),
               "folder_b": str(folder_b), "per_image": per_image}
    mean = float(values.mean()) if len(finite) == len(values) else (float(finite.mean()) if len(finite) else math.inf)
    if len(finite) != len(values):
        details["note"] = "identical pairs (PSNR = inf) are left out of the mean"
    return MetricResult(name, mean, details)


def default_workers(device: torch.device) -> int:
    """Decode in parallel when a GPU does the math; on CPU the cores are better spent on the network."""
    return min(8, os.cpu_count() or 1) if device.type == "cuda" else 0
