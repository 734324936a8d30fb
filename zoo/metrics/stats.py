"""Feature statistics for FID/KID: float64 sufficient statistics, the Frechet distance and the KID estimator.

Sufficient statistics (sum, sum of outer products, count) add up exactly across batches and across
ranks, so sharded extraction merges with one all-reduce. The Frechet distance uses the symmetric
eigen method: tr sqrt(S1 S2) = sum sqrt(eig(R S2 R)) with R = S1^(1/2), all symmetric, eigenvalues
clamped at 0, which stays real and finite for singular covariances (fewer samples than dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class GaussianStats:
    """Running float64 sums of features: ``total`` (d,), ``outer`` (d, d) and ``count``."""

    total: torch.Tensor
    outer: torch.Tensor
    count: int = 0

    @classmethod
    def zeros(cls, dims: int, device: torch.device | str | None = None) -> "GaussianStats":
        return cls(torch.zeros(dims, dtype=torch.float64, device=device),
                   torch.zeros(dims, dims, dtype=torch.float64, device=device), 0)

    @classmethod
    def from_features(cls, features: torch.Tensor) -> "GaussianStats":
        stats = cls.zeros(features.shape[1], features.device)
        stats.update(features)
        return stats

    @property
    def dims(self) -> int:
        return int(self.total.shape[0])

    def update(self, features: torch.Tensor) -> None:
        """Add a batch of features (N, d); accumulated in float64 whatever their dtype."""
        if features.ndim != 2 or features.shape[1] != self.dims:
            raise ValueError(f"expected features of shape (N, {self.dims}), got {tuple(features.shape)}")
        f = features.to(device=self.total.device, dtype=torch.float64)
        self.total += f.sum(dim=0)
        self.outer += f.T @ f
        self.count += int(f.shape[0])

    def merge(self, other: "GaussianStats") -> "GaussianStats":
        """Statistics of the union of both sample sets."""
        if other.dims != self.dims:
            raise ValueError(f"cannot merge statistics of {self.dims} and {other.dims} dimensions")
        return GaussianStats(self.total + other.total.to(self.total.device),
                             self.outer + other.outer.to(self.total.device), self.count + other.count)

    __add__ = merge

    def all_reduce(self, group=None) -> "GaussianStats":
        """Sum the statistics over all ranks of ``torch.distributed`` (float64 throughout)."""

        packed = torch.cat([self.total, self.outer.flatten(),
                            torch.tensor([float(self.count)], dtype=torch.float64, device=self.total.device)])
        dist.all_reduce(packed, op=dist.ReduceOp.SUM, group=group)
        d = self.dims
        return GaussianStats(packed[:d].clone(), packed[d:d + d * d].view(d, d).clone(), int(round(packed[-1].item())))

    def mean(self) -> torch.Tensor:
        if self.count < 1:
            raise ValueError("no features were accumulated")
        return self.total / self.count

    def covariance(self) -> torch.Tensor:
        """Unbiased covariance (n - 1 normalisation, like ``np.cov``)."""
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
        mu = self.mean()
        cov = (self.outer - self.count * torch.outer(mu, mu)) / (self.count - 1)
        return (cov + cov.T) / 2


def _as_f64(x, device=None) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return torch.as_tensor(x).to(device=device, dtype=torch.float64)


def sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a positive semi-definite matrix (negative round-off eigenvalues -> 0)."""
    w, v = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """tr sqrt(S1 S2) via the symmetric matrix R S2 R (R = S1^(1/2)), which has the same eigenvalues."""
    root = sqrt_psd(sigma1)
    m = root @ sigma2 @ root
    eig = torch.linalg.eigvalsh((m + m.T) / 2)
    return eig.clamp(min=0).sqrt().sum()


def frechet_distance(mu1, sigma1, mu2, sigma2, *, device: torch.device | str | None = None) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), computed in float64."""
    mu1, mu2 = _as_f64(mu1, device).flatten(), _as_f64(mu2, device).flatten()
    s1, s2 = _as_f64(sigma1, device), _as_f64(sigma2, device)
    d = mu1.shape[0]
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if s.shape != (d, d):
            raise ValueError(f"{name} has shape {tuple(s.shape)}, expected ({d}, {d}) to match the means")
    if mu2.shape[0] != d:
        raise ValueError(f"means differ in length: {d} vs {mu2.shape[0]}")
    diff = mu1 - mu2
    value = diff @ diff + torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt_product(s1, s2)
    return float(value)


@dataclass(frozen=True)
class KIDValue:
    mean: float
    std: float
    subsets: int
    subset_size: int


def _poly_kernel(x: torch.Tensor, y: torch.Tensor, degree: int, gamma: float, coef0: float) -> torch.Tensor:
    return (gamma * (x @ y.T) + coef0) ** degree


def _unbiased_mmd2(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor) -> torch.Tensor:
    m, n = k_xx.shape[0], k_yy.shape[0]
    term_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    term_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return term_xx + term_yy - 2 * k_xy.sum() / (m * n)


def polynomial_mmd2(x: torch.Tensor, y: torch.Tensor, degree: int = 3, gamma: float | None = None,
                    coef0: float = 1.0) -> torch.Tensor:
    """Unbiased MMD^2 with the kernel (gamma x.y + coef0)^degree (gamma defaults to 1/d)."""
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"unbiased MMD needs at least 2 samples per set, got {x.shape[0]} and {y.shape[0]}")
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return _unbiased_mmd2(_poly_kernel(x, x, degree, gamma, coef0), _poly_kernel(y, y, degree, gamma, coef0),
                          _poly_kernel(x, y, degree, gamma, coef0))


# Above this many kernel entries (float64), KID computes kernels per subset instead of once for all pairs.
FULL_KERNEL_LIMIT = 64_000_000


def kernel_inception_distance(features_a, features_b, *, subsets: int = 100, subset_size: int = 1000,
                              seed: int = 2020, degree: int = 3, gamma: float | None = None,
                              coef0: float = 1.0, device: torch.device | str | None = None) -> KIDValue:
    """KID: mean and std of the unbiased polynomial MMD^2 over random subsets (float64, seeded).

    ``subset_size`` is lowered to the smaller set size when a set is smaller (image-to-image test sets
    often have ~100 images); the size used is returned so a report can state it. When the sets are
    small enough the kernel matrices are computed once and the subsets index into them.
    """
    a, b = _as_f64(features_a, device), _as_f64(features_b, device)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"KID needs two (N, d) feature sets of equal d, got {tuple(a.shape)} and {tuple(b.shape)}")
    na, nb = a.shape[0], b.shape[0]
    size = min(subset_size, na, nb)
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples in each set, got {na} and {nb}")
    gamma = 1.0 / a.shape[1] if gamma is None else gamma
    full = na * na + nb * nb + na * nb <= FULL_KERNEL_LIMIT
    if full:
        k_aa, k_bb = _poly_kernel(a, a, degree, gamma, coef0), _poly_kernel(b, b, degree, gamma, coef0)
        k_ab = _poly_kernel(a, b, degree, gamma, coef0)
    rng = np.random.default_rng(seed)
    values = torch.empty(subsets, dtype=torch.float64)
    for i in range(subsets):
        ia = torch.from_numpy(rng.choice(na, size, replace=False)).to(a.device)
        ib = torch.from_numpy(rng.choice(nb, size, replace=False)).to(a.device)
        if full:
            values[i] = _unbiased_mmd2(k_aa[ia][:, ia], k_bb[ib][:, ib], k_ab[ia][:, ib])
        else:
            values[i] = polynomial_mmd2(a[ia], b[ib], degree, gamma, coef0)
    std = float(values.std(unbiased=False)) if subsets > 1 else 0.0
    return KIDValue(float(values.mean()), std, subsets, size)


def all_gather_rows(x: torch.Tensor, group=None, *, strided: bool = True) -> torch.Tensor:
    """Rows of (N_r, d) tensors from all ranks (ranks may hold different N_r).

    With ``strided=True`` (the sharding of :func:`zoo.metrics.data.shard`: rank r holds items r, r+W, ...)
    the rows come back in the original item order, so results do not depend on the number of ranks;
    otherwise, or if the sizes do not fit that sharding, they are concatenated in rank order.
    """

    world = dist.get_world_size(group)
    count = torch.tensor([x.shape[0]], dtype=torch.int64, device=x.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count, group=group)
    sizes = [int(c.item()) for c in counts]
    padded = x.new_zeros((max(sizes),) + tuple(x.shape[1:]))
    padded[: x.shape[0]] = x
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded, group=group)
    total = sum(sizes)
    if strided and sizes == [len(range(r, total, world)) for r in range(world)]:
        out = x.new_empty((total,) + tuple(x.shape[1:]))
        for rank, (part, n) in enumerate(zip(parts, sizes)):
            out[rank::world] = part[:n]
        return out
    return torch.cat([p[:n] for p, n in zip(parts, sizes)])


def distributed_world() -> tuple[int, int]:
    """(rank, world size) of an initialised process group, else (0, 1)."""

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1
