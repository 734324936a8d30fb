"""hf:// weights resolved offline from a cache laid out exactly as huggingface_hub lays it out."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import torch

import zoo
from zoo import WeightsUnavailableError, hookimpl
from zoo.weights.hf import parse_hf_uri

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _net_state(seed: int = 0):
    from zoo_sr.archs import SRVGGNetCompact

    torch.manual_seed(seed)
    return SRVGGNetCompact(num_feat=64, num_conv=16).state_dict()


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """models--owner--repo/{blobs/<sha256>, snapshots/<commit>/<path> -> blob, refs/main}, HF_HUB_CACHE pointed at it."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def publish(repo_id: str, filename: str, payload: bytes, commit: str = COMMIT, ref: str = "main"):
        folder = cache / ("models--" + repo_id.replace("/", "--"))
        digest = hashlib.sha256(payload).hexdigest()
        (folder / "blobs").mkdir(parents=True, exist_ok=True)
        (folder / "blobs" / digest).write_bytes(payload)
        link = folder / "snapshots" / commit / filename
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(folder / "blobs" / digest, link.parent), link)
        (folder / "refs").mkdir(exist_ok=True)
        (folder / "refs" / ref).write_text(commit)
        return digest

    publish.cache = cache
    return publish


def _checkpoint_bytes(tmp_path, seed: int = 0) -> bytes:
    path = tmp_path / f"ckpt{seed}.pth"
    torch.save({"params_ema": _net_state(seed)}, path)
    return path.read_bytes()


def test_parse():
    assert parse_hf_uri("hf://o/r/a/b.pth") == parse_hf_uri("hf://o/r/a/b.pth")
    f = parse_hf_uri("hf://owner/repo@v1.0/weights/net.pth")
    assert (f.repo_id, f.revision, f.filename) == ("owner/repo", "v1.0", "weights/net.pth")
    assert parse_hf_uri("hf://o/r@refs%2Fpr%2F1/x.pth").revision == "refs/pr/1"
    with pytest.raises(zoo.WeightsError, match="owner, repo and a file path"):
        parse_hf_uri("hf://owner/net.pth")


def test_weights_from_the_offline_cache_main_and_revision(tmp_path, hf_cache):
    payload = _checkpoint_bytes(tmp_path)
    hf_cache("someone/animevideo-finetune", "weights/net.pth", payload)
    image = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    model = zoo.load("realesr-animevideov3", weights="hf://someone/animevideo-finetune/weights/net.pth")
    meta = model.metadata["weights"]
    assert meta["uri"] == "hf://someone/animevideo-finetune/weights/net.pth" and meta["origin"] == "explicit"
    assert str(hf_cache.cache) in meta["path"] and COMMIT in meta["path"]
    local = tmp_path / "local.pth"
    local.write_bytes(payload)
    assert np.array_equal(model(image), zoo.load("realesr-animevideov3", weights=local)(image))
    pinned = zoo.load("realesr-animevideov3", weights=f"hf://someone/animevideo-finetune@{COMMIT}/weights/net.pth")
    assert np.array_equal(pinned(image), model(image))


def test_catalog_entry_with_an_hf_source_and_sha256(tmp_path, hf_cache, register_plugin):
    digest = hf_cache("someone/compact", "net.pth", _checkpoint_bytes(tmp_path, seed=3))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(f"""
entries:
  - name: my-compact-x4
    task: super-resolution
    architecture: {{name: srvgg_net_compact, kwargs: {{num_feat: 64, num_conv: 16, upscale: 4}}}}
    weights:
      - {{url: "hf://someone/compact/net.pth", format: basicsr, sha256: {digest}}}
    processing: {{scale: 4}}
  - name: my-compact-bad-hash
    task: super-resolution
    architecture: {{name: srvgg_net_compact, kwargs: {{num_feat: 64, num_conv: 16, upscale: 4}}}}
    weights:
      - {{url: "hf://someone/compact/net.pth", format: basicsr, sha256: "{'f' * 64}"}}
    processing: {{scale: 4}}
""")

    class MyCatalog:
        @hookimpl
        def zoo_register_catalogs(self, register):
            register(catalog)

    register_plugin(MyCatalog(), name="my-catalog")
    model = zoo.load("my-compact-x4")
    assert model.metadata["weights"]["origin"] == "plugin:hf"
    with torch.no_grad():
        expected = _net_state(3)["body.0.weight"]
    assert torch.equal(model.model.body[0].weight, expected)
    with pytest.raises(WeightsUnavailableError, match="sha256 mismatch for hf://someone/compact/net.pth"):
        zoo.load("my-compact-bad-hash")


def test_missing_file_gives_an_actionable_error(tmp_path, hf_cache):
    hf_cache("someone/compact", "net.pth", b"not used")
    with pytest.raises(WeightsUnavailableError) as info:
        zoo.load("realesr-animevideov3", weights="hf://someone/compact@v2/other.pth")
    text = str(info.value)
    for part in ("'other.pth'", "'someone/compact'", "'v2'", "HF_HUB_OFFLINE=1", str(hf_cache.cache),
                 "models--someone--compact", "huggingface-cli download someone/compact other.pth --revision v2"):
        assert part in text, part
    with pytest.raises(WeightsUnavailableError, match="not in the local cache and downloads are off"):
        zoo.load("realesr-animevideov3", weights="hf://nobody/nothing/net.pth")
