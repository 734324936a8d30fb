"""Sharded extraction under torch.distributed (gloo, 2 CPU processes): the merged result equals one process."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

WORLD = 2


def _features(n: int = 11, d: int = 6) -> torch.Tensor:
    return torch.arange(n * d, dtype=torch.float64).reshape(n, d).sin() * 3 + 1


def _worker(rank: int, init_file: str, folders: tuple[str, str], weights: str, out_dir: str) -> None:
    import torch.distributed as dist

    from zoo.metrics import compute
    from zoo.metrics.stats import GaussianStats, all_gather_rows

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        shard = _features()[rank::WORLD]  # 6 rows on rank 0, 5 on rank 1
        merged = GaussianStats.from_features(shard).all_reduce()
        gathered = all_gather_rows(shard)
        options = dict(flavour="pytorch-fid", dims=64, weights=weights, device="cpu", batch_size=3, workers=0)
        fid = compute("fid", *folders, **options)
        kid = compute("kid", *folders, subsets=5, subset_size=4, **options)
        torch.save({"mean": merged.mean(), "cov": merged.covariance(), "count": merged.count, "rows": gathered,
                    "fid": fid.value, "n": (fid.details["n_fake"], fid.details["n_real"]), "kid": kid.value},
                   Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_gloo_two_ranks_match_single_process(tmp_path, make_images, inception_file):
    import torch.distributed as dist
    import torch.multiprocessing as mp

    from zoo.metrics import compute
    from zoo.metrics.stats import GaussianStats

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    a = make_images(tmp_path / "a", 7, seed=1)  # odd counts: unequal shards
    b = make_images(tmp_path / "b", 5, seed=2, tint=30)
    out = tmp_path / "out"
    out.mkdir()
    mp.spawn(_worker, args=(str(tmp_path / "init"), (str(a), str(b)), str(inception_file), str(out)),
             nprocs=WORLD, join=True)

    x = _features()
    full = GaussianStats.from_features(x)
    options = dict(flavour="pytorch-fid", dims=64, weights=inception_file, device="cpu", batch_size=3, workers=0)
    single_fid = compute("fid", a, b, **options)
    single_kid = compute("kid", a, b, subsets=5, subset_size=4, **options)
    for rank in range(WORLD):
        got = torch.load(out / f"rank{rank}.pt", weights_only=True)
        assert got["count"] == x.shape[0]
        torch.testing.assert_close(got["mean"], full.mean(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got["cov"], full.covariance(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got["rows"], x)  # original order restored
        assert got["n"] == (7, 5)
        assert got["fid"] == pytest.approx(single_fid.value, rel=1e-6)  # float32 features, other batches
        assert got["kid"] == pytest.approx(single_kid.value, rel=1e-6, abs=1e-9)
