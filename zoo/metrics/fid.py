"""Streaming FID and KID: ``update(fake=..., real=...)`` per batch, ``compute()`` at the end.

Both accept uint8 images (0..255) or float images in an explicit ``value_range`` (rounded to uint8
first, like a saved PNG). Under ``torch.distributed`` each rank feeds its own shard and ``compute()``
(called on every rank) sums FID's float64 sufficient statistics / gathers KID's features.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping, Sequence

import torch
import torch.distributed as dist

from zoo.metrics.data import to_uint8
from zoo.metrics.inception import InceptionFeatures
from zoo.metrics.reference import ReferenceStats
from zoo.metrics.result import MetricResult
from zoo.metrics.stats import (GaussianStats, all_gather_rows, distributed_world, frechet_distance,
                               kernel_inception_distance)


def _is_distributed() -> bool:
    return distributed_world()[1] > 1


class _InceptionMetric:
    """Shared feature extraction: one extractor, optionally a second precision on the same batches."""

    def __init__(self, flavour: str = "clean", *, dims: int = 2048, device: str | torch.device | None = None,
                 precision: str = "fp32", weights: str | os.PathLike[str] | None = None,
                 offline: bool | None = None, extractor: InceptionFeatures | None = None,
                 value_range: Sequence[float] = (0.0, 1.0), compare_reference: bool = False) -> None:
        self.extractor = extractor or InceptionFeatures(flavour, dims=dims, device=device, precision=precision,
                                                        weights=weights, offline=offline)
        self.value_range = (float(value_range[0]), float(value_range[1]))
        # In fast mode, optionally also run the fp32 reference on the same batches to report the difference.
        self.precisions = [self.extractor.precision]
        if compare_reference and self.extractor.precision != "fp32":
            self.precisions.append("fp32")

    @property
    def dims(self) -> int:
        return self.extractor.dims

    def features(self, images, what: str) -> dict[str, torch.Tensor]:
        batches = [images] if isinstance(images, torch.Tensor) else list(images)
        u8 = [to_uint8(b, self.value_range, what=what) for b in batches]
        out = {}
        for precision in self.precisions:
            self.extractor.precision = precision
            out[precision] = self.extractor(u8)
        self.extractor.precision = self.precisions[0]
        return out

    def update(self, fake=None, real=None) -> None:
        """Add a batch of generated (``fake``) and/or real images: (N,3,H,W) tensors or lists of them."""
        if fake is None and real is None:
            raise ValueError("update() needs fake=... and/or real=...")
        for side, images in (("fake", fake), ("real", real)):
            if images is not None:
                self.update_features(side, self.features(images, f"{side} images"))

    def update_features(self, side: str, features: Mapping[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        return self.extractor.describe()


class FID(_InceptionMetric):
    """Frechet Inception Distance with float64 running statistics (constant memory in the image count)."""

    def __init__(self, flavour: str = "clean", **kwargs) -> None:
        super().__init__(flavour, **kwargs)
        device = self.extractor.device
        self.stats = {side: {p: GaussianStats.zeros(self.dims, device) for p in self.precisions}
                      for side in ("fake", "real")}
        self.reference: ReferenceStats | None = None

    def update_features(self, side: str, features: Mapping[str, torch.Tensor]) -> None:
        for precision, f in features.items():
            self.stats[side][precision].update(f)

    def set_reference(self, reference: ReferenceStats) -> None:
        """Use precomputed real statistics (checked to match this metric's flavour, dims and weights)."""
        reference.check_compatible(self.describe())
        self.reference = reference

    def reset(self, *, real: bool = False) -> None:
        for side in ("fake", "real") if real else ("fake",):
            self.stats[side] = {p: GaussianStats.zeros(self.dims, self.extractor.device) for p in self.precisions}

    def gathered(self, side: str, precision: str) -> GaussianStats:
        stats = self.stats[side][precision]
        return stats.all_reduce() if _is_distributed() else stats

    def real_moments(self, precision: str):
        if self.reference is not None:
            return self.reference.mu, self.reference.sigma, self.reference.count, self.reference.source
        real = self.gathered("real", precision)
        return real.mean(), real.covariance(), real.count, "images"

    def compute(self) -> MetricResult:
        """The FID (every rank must call this under torch.distributed)."""
        values = {}
        for precision in self.precisions:
            fake = self.gathered("fake", precision)
            mu, sigma, n_real, source = self.real_moments(precision)
            if fake.count < 2 or n_real < 2:
                raise ValueError(f"FID needs at least 2 images per side, got {fake.count} fake and {n_real} real")
            values[precision] = frechet_distance(fake.mean(), fake.covariance(), mu, sigma, device=fake.total.device)
        main = self.precisions[0]
        details = {**self.describe(), "n_fake": fake.count, "n_real": n_real, "real_source": source}
        if min(fake.count, n_real) <= self.dims:
            details["note"] = (f"fewer images than feature dimensions ({min(fake.count, n_real)} <= {self.dims}): "
                               f"covariances are singular and FID is strongly biased upwards; compare only at equal n "
                               f"and report KID too")
        if len(values) > 1:
            details["fp32_reference_value"] = values["fp32"]
            details["fast_minus_reference"] = values[main] - values["fp32"]
        return MetricResult(f"fid-{self.extractor.flavour.name}", values[main], details)


class KID(_InceptionMetric):
    """Kernel Inception Distance (unbiased cubic-polynomial MMD^2 over subsets); keeps all features."""

    def __init__(self, flavour: str = "clean", *, subsets: int = 100, subset_size: int = 1000, seed: int = 2020,
                 **kwargs) -> None:
        super().__init__(flavour, **kwargs)
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed
        self.feats: dict[str, dict[str, list[torch.Tensor]]] = {
            side: {p: [] for p in self.precisions} for side in ("fake", "real")}

    def update_features(self, side: str, features: Mapping[str, torch.Tensor]) -> None:
        for precision, f in features.items():
            self.feats[side][precision].append(f.to("cpu", torch.float64))

    def all_features(self, side: str, precision: str) -> torch.Tensor:
        parts = self.feats[side][precision]
        local = torch.cat(parts) if parts else torch.zeros(0, self.dims, dtype=torch.float64)
        if _is_distributed():
            device = self.extractor.device if dist.get_backend() == "nccl" else torch.device("cpu")
            local = all_gather_rows(local.to(device)).cpu()
        return local

    def compute(self) -> MetricResult:
        values = {}
        for precision in self.precisions:
            fake, real = self.all_features("fake", precision), self.all_features("real", precision)
            values[precision] = kernel_inception_distance(fake, real, subsets=self.subsets,
                                                          subset_size=self.subset_size, seed=self.seed,
                                                          device=self.extractor.device)
        main = values[self.precisions[0]]
        details = {**self.describe(), "kid_std": main.std, "subsets": main.subsets, "subset_size": main.subset_size,
                   "seed": self.seed, "n_fake": int(fake.shape[0]), "n_real": int(real.shape[0])}
        if main.subset_size < self.subset_size:
            details["note"] = f"subset_size lowered from {self.subset_size} to {main.subset_size} (set size)"
        if len(values) > 1:
            details["fp32_reference_value"] = values["fp32"].mean
            details["fast_minus_reference"] = main.mean - values["fp32"].mean
        return MetricResult(f"kid-{self.extractor.flavour.name}", main.mean, details)


def feed_folder(metric: _InceptionMetric, side: str, batches: Iterable) -> int:
    """Stream decoded uint8 batches of one folder into ``metric`` as ``side``; returns the image count."""
    count = 0
    for batch in batches:
        metric.update(**{side: batch})
        count += batch.shape[0] if isinstance(batch, torch.Tensor) else len(batch)
    return count
