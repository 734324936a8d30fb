"""Microbenchmarks of the zoo's hot paths (pytest-benchmark). Not part of the test suite (testpaths = tests).

    PYTHONPATH=.:plugins python -m pytest benchmarks/micro --benchmark-json micro.json [-k translation]
    zoo bench --report-only bench-report --micro-json micro.json     # fold them into a report's tables

``ZOO_MICRO_DEVICE`` (default: cuda if available) and ``ZOO_MICRO_SIZE`` (default 64 px) choose where and
how big; every benchmark runs in pedantic mode (fixed rounds, one warm-up round) and belongs to a group
per task, so ``--benchmark-group-by=group`` compares like with like.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for path in (REPO, REPO / "plugins"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="session")
def device() -> str:
    import torch

    return os.environ.get("ZOO_MICRO_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(scope="session")
def size() -> int:
    return int(os.environ.get("ZOO_MICRO_SIZE", "64"))


@pytest.fixture
def run(benchmark, device):
    """``run(fn, *args, rounds=5)``: pedantic timing, synchronising CUDA inside each call."""
    import torch

    def call(fn, *args, rounds: int = 5):
        def timed():
            out = fn(*args)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            return out

        benchmark.extra_info["device"] = device
        return benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=1)

    return call
