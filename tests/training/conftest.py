"""Fixtures of the training tests: a tiny SR folder, and torch's thread count restored after each test
(``threads=1`` in a run sets it process-wide)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tiny_data


@pytest.fixture
def sr_data(shared_dir: Path, tmp_path: Path) -> Path:
    return tiny_data.sr_folder(shared_dir, tmp_path)


@pytest.fixture(autouse=True)
def _keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
