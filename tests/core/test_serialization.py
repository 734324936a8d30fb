"""Weights are read without unpickling arbitrary objects."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from zoo.errors import WeightsError
from zoo.weights.serialization import load_checkpoint, save_state_dict


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "payload": _Payload(marker)}, evil)
    with pytest.raises(WeightsError, match="refusing to load") as info:
        load_checkpoint(evil)
    assert str(evil) in str(info.value)
    assert not marker.exists()


def test_plain_pickle_file_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(WeightsError):
        load_checkpoint(evil)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_state_dict_round_trip(tmp_path, suffix):
    sd = {"a.weight": torch.randn(3, 4), "b.bias": torch.arange(5.0)}
    path = save_state_dict(sd, tmp_path / f"w{suffix}")
    loaded = load_checkpoint(path)
    assert set(loaded) == set(sd) and all(torch.equal(loaded[k], sd[k]) for k in sd)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_garbage_and_non_mapping_files_are_named(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsError, match="junk.pth"):
        load_checkpoint(junk)
    tensor_only = tmp_path / "tensor.pth"
    torch.save(torch.zeros(2), tensor_only)
    with pytest.raises(WeightsError, match="expected a mapping"):
        load_checkpoint(tensor_only)
    bad_st = tmp_path / "bad.safetensors"
    bad_st.write_bytes(b"\x00" * 16)
    with pytest.raises(WeightsError, match="safetensors"):
        load_checkpoint(bad_st)
