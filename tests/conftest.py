"""Shared test fixtures. Data from ../shared is optional: tests that need it skip naming the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["zoo.testing"]

REPO = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    return Path(os.environ.get("ZOO_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or ``$ZOO_SHARED``); tests using it skip cleanly when it is absent."""
    root = _shared_root()
    if not (root / "README.md").is_file():
        pytest.skip(f"shared data folder not found at {root} (set ZOO_SHARED)")
    return root


@pytest.fixture
def shared_path(shared_dir: Path):
    """``shared_path("data/sr_bench/Set5")``: a path under shared/, skipping when it is missing."""

    def get(relative: str) -> Path:
        path = shared_dir / relative
        if not path.exists():
            pytest.skip(f"{path} is missing")
        return path

    return get


@pytest.fixture(autouse=True)
def _isolated_zoo_home(tmp_path_factory, monkeypatch):
    """Every test gets its own empty weights cache; nothing touches the user's."""
    monkeypatch.setenv("ZOO_HOME", str(tmp_path_factory.mktemp("zoo_home")))
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
