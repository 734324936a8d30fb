"""Frechet distance, float64 sufficient statistics (incl. merging shards) and the KID estimator."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

from zoo.metrics.stats import GaussianStats, frechet_distance, kernel_inception_distance, polynomial_mmd2

fid_score = pytest.importorskip("pytorch_fid.fid_score")


def _relu_features(n, d, seed, shift=0.0, scale=1.0, mix_seed=None):
    """Correlated non-negative features like pool3 activations; ``mix_seed`` fixes the distribution."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(seed if mix_seed is None else mix_seed).normal(size=(d, d)) / np.sqrt(d)
    return np.maximum(rng.normal(size=(n, d)) @ mix * scale + shift, 0)


def _moments(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _reference(mu1, s1, mu2, s2):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy >= 1.16 deprecates the disp= argument pytorch-fid passes
        return fid_score.calculate_frechet_distance(mu1, s1, mu2, s2)


@pytest.mark.parametrize("n,d", [(600, 64), (40, 64), (300, 256)])
def test_matches_pytorch_fid(n, d):
    """Well-conditioned (n >> d) and singular (n < d) covariances."""
    m1, s1 = _moments(_relu_features(n, d, 0))
    m2, s2 = _moments(_relu_features(n, d, 1, shift=0.2, scale=1.3))
    if n < d:
        assert np.linalg.matrix_rank(s1) < d
    expected = _reference(m1, s1, m2, s2)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-6)


def test_known_answers():
    rng = np.random.default_rng(5)
    d = 32
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    analytic = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(analytic, rel=1e-12)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # commuting covariances: the same answer in a rotated basis
    assert frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T) == pytest.approx(analytic,
                                                                                                          rel=1e-9)
    b[:8] = 0  # a singular covariance: sqrt(0) terms
    analytic = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(analytic, rel=1e-12)
    m, s = _moments(_relu_features(200, 16, 3))
    assert abs(frechet_distance(m, s, m, s)) < 1e-9
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(m, s, m, s[:8, :8])


def test_sufficient_statistics_batches_and_shards():
    x = _relu_features(203, 48, 7) * 5 + 3  # offset: the one-pass covariance must still match np.cov
    mu, cov = _moments(x)
    full = GaussianStats.from_features(torch.from_numpy(x).float())  # float32 features are accumulated in float64
    np.testing.assert_allclose(full.mean().numpy(), x.astype(np.float32).mean(0), rtol=1e-6)
    batched = GaussianStats.zeros(48)
    for start in range(0, 203, 50):
        batched.update(torch.from_numpy(x[start:start + 50]))
    np.testing.assert_allclose(batched.mean().numpy(), mu, rtol=1e-12)
    np.testing.assert_allclose(batched.covariance().numpy(), cov, rtol=1e-9, atol=1e-10)
    shards = [GaussianStats.from_features(torch.from_numpy(x[r::3])) for r in range(3)]  # strided, unequal sizes
    merged = shards[0] + shards[1] + shards[2]
    assert merged.count == 203
    np.testing.assert_allclose(merged.covariance().numpy(), cov, rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="at least 2"):
        GaussianStats.from_features(torch.zeros(1, 48)).covariance()
    with pytest.raises(ValueError, match=r"\(N, 48\)"):
        batched.update(torch.zeros(4, 47))


def _naive_mmd2(x, y):
    """Unbiased MMD^2 by explicit loops over pairs (kernel (x.y/d + 1)^3)."""
    def k(u, v):
        return (u @ v / len(u) + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_known_answers():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 5)), rng.normal(0.5, 1, size=(9, 5))
    assert float(polynomial_mmd2(torch.from_numpy(x), torch.from_numpy(y))) == pytest.approx(_naive_mmd2(x, y),
                                                                                             rel=1e-10)
    u, v = rng.normal(size=4), rng.normal(size=4)  # point masses: MMD^2 = k(u,u) + k(v,v) - 2 k(u,v)
    k = lambda p, q: (p @ q / 4 + 1) ** 3  # noqa: E731
    kid = kernel_inception_distance(np.tile(u, (6, 1)), np.tile(v, (5, 1)), subsets=3, subset_size=4)
    assert kid.mean == pytest.approx(k(u, u) + k(v, v) - 2 * k(u, v), rel=1e-12)
    assert kid.subset_size == 4 and kid.std == pytest.approx(0, abs=1e-9)


def test_kid_subsets_seed_and_sanity():
    a = _relu_features(120, 32, 1, mix_seed=0)
    same = _relu_features(150, 32, 2, mix_seed=0)
    shifted = _relu_features(150, 32, 3, shift=0.5, mix_seed=0)
    kid_same = kernel_inception_distance(a, same, subsets=20, subset_size=100, seed=1)
    kid_shift = kernel_inception_distance(a, shifted, subsets=20, subset_size=100, seed=1)
    assert abs(kid_same.mean) < 3 * kid_same.std + 1e-3
    assert kid_shift.mean > 10 * max(abs(kid_same.mean), kid_same.std)
    again = kernel_inception_distance(a, same, subsets=20, subset_size=100, seed=1)
    assert again == kid_same  # seeded subsets: reproducible
    small = kernel_inception_distance(a[:30], same, subsets=5, subset_size=1000)
    assert small.subset_size == 30  # lowered to the smaller set
    with pytest.raises(ValueError, match="at least 2"):
        kernel_inception_distance(a[:1], same)


def test_kid_full_kernel_and_per_subset_paths_agree(monkeypatch):
    import zoo.metrics.stats as stats

    a, b = _relu_features(90, 24, 4, mix_seed=0), _relu_features(70, 24, 5, shift=0.2, mix_seed=0)
    full = kernel_inception_distance(a, b, subsets=7, subset_size=50)
    monkeypatch.setattr(stats, "FULL_KERNEL_LIMIT", 0)
    per_subset = kernel_inception_distance(a, b, subsets=7, subset_size=50)
    assert per_subset.mean == pytest.approx(full.mean, rel=1e-10)
    assert per_subset.std == pytest.approx(full.std, rel=1e-8)
