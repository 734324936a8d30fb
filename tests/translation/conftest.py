"""Fixtures of the translation tests: the reference key dumps and small legacy checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from junyanz_helpers import KeySection, parse_key_dump  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(min(previous, 2))
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def junyanz_key_sections(shared_path) -> list[KeySection]:
    """Every section of shared/reference/keys/keys_junyanz.txt (dumps of the upstream networks)."""
    sections = parse_key_dump(shared_path("reference/keys/keys_junyanz.txt"))
    assert sections, "keys_junyanz.txt has no sections"
    return sections
