"""The ml5.js checkpoint reader (manifest + raw float32 files) and the ml5+ weight source."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from zoo.errors import WeightsError, WeightsUnavailableError
from zoo.weights.hub import cache_path_for
from zoo_style.engstrom_net import EngstromStyleNet
from zoo_style.ml5_checkpoint import (checkpoint_digest, read_manifest, read_ml5_checkpoint, variable_name,
                                      write_ml5_checkpoint)

torch.set_num_threads(2)
ML5_BASE = "https://raw.githubusercontent.com/ml5js/ml5-data-and-models/main/models/style-transfer"


@pytest.fixture
def random_checkpoint(tmp_path) -> tuple[EngstromStyleNet, Path]:
    torch.manual_seed(0)
    net = EngstromStyleNet().eval()
    return net, write_ml5_checkpoint(net.state_dict(), tmp_path / "ckpt")


def test_round_trip_and_tf_layouts(random_checkpoint):
    net, manifest = random_checkpoint
    sd = read_ml5_checkpoint(manifest.parent)  # the folder works too
    assert sd.keys() == net.state_dict().keys()
    for key, value in net.state_dict().items():
        assert torch.equal(sd[key], value), key
    info = read_manifest(manifest)
    assert info["Variable"]["shape"] == [9, 9, 3, 32]  # HWIO
    assert info["Variable_39"]["shape"] == [3, 3, 64, 128]  # deconv1: H, W, out, in
    raw = np.fromfile(manifest.parent / "Variable_39", dtype="<f4").reshape(3, 3, 64, 128)
    # our (in, out, kH, kW) element [i, o, h, w] is TF's [h, w, o, i]
    assert sd["deconv1.conv.weight"][100, 7, 2, 1].item() == raw[2, 1, 7, 100]
    assert torch.equal(sd["conv2.norm.bias"], torch.from_numpy(np.fromfile(manifest.parent / "Variable_4", "<f4")))


def test_real_mirror_loads_strictly(shared_path):
    sd = read_ml5_checkpoint(shared_path("weights/ml5-style-transfer/wave/manifest.json"))
    net = EngstromStyleNet()
    net.load_state_dict(sd, strict=True)
    scales = torch.cat([v for k, v in sd.items() if k.endswith("norm.weight")])
    shifts = torch.cat([v for k, v in sd.items() if k.endswith("norm.bias")])
    assert 0.5 < scales.mean() < 1.5 and abs(shifts.mean()) < 0.5  # scale ~ 1, shift ~ 0: not swapped


def test_truncated_variable_is_refused(random_checkpoint):
    _, manifest = random_checkpoint
    path = manifest.parent / "Variable_12"
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(WeightsError, match=r"Variable_12.*589820 bytes.*\[3, 3, 128, 128\].*589824"):
        read_ml5_checkpoint(manifest)


def test_missing_variable_file_is_refused(random_checkpoint):
    _, manifest = random_checkpoint
    (manifest.parent / "Variable_45").unlink()
    with pytest.raises(WeightsError, match=r"'Variable_45'.*Variable_45 is missing"):
        read_ml5_checkpoint(manifest)


def test_manifest_network_mismatch_is_refused(random_checkpoint):
    _, manifest = random_checkpoint
    data = json.loads(manifest.read_text())
    data["Variable_3"]["shape"] = [3, 3, 32, 32]
    manifest.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=r"Variable_3.*conv2\.conv\.weight.*\[3, 3, 32, 32\].*\[3, 3, 32, 64\]"):
        read_ml5_checkpoint(manifest)
    del data["Variable_47"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=r"missing: Variable_47"):
        read_ml5_checkpoint(manifest)


@pytest.mark.parametrize("bad", ["../Variable", "sub/Variable", ""])
def test_manifest_file_names_must_stay_beside_it(random_checkpoint, bad):
    _, manifest = random_checkpoint
    data = json.loads(manifest.read_text())
    data["Variable"]["filename"] = bad
    manifest.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match="plain file names"):
        read_ml5_checkpoint(manifest)


def test_not_a_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(WeightsError, match="JSON object"):
        read_ml5_checkpoint(tmp_path)
    with pytest.raises(WeightsError, match="does not exist"):
        read_ml5_checkpoint(tmp_path / "nothing" / "manifest.json")


def test_digest_is_over_the_variables_in_order(random_checkpoint):
    _, manifest = random_checkpoint
    import hashlib

    blob = b"".join((manifest.parent / variable_name(i)).read_bytes() for i in range(48))
    assert checkpoint_digest(manifest) == hashlib.sha256(blob).hexdigest()


def test_explicit_ml5_file_uri(random_checkpoint):
    net, manifest = random_checkpoint
    pipe = zoo.load("style-transfer-wave", weights="ml5+" + manifest.as_uri(), device="cpu")
    assert pipe.weights.origin == "explicit"
    assert torch.equal(pipe.model.conv_out.conv.weight, net.conv_out.conv.weight)


def _seed_cache(source: Path, style: str) -> Path:
    """Copy a checkpoint to where the hub caches the catalog's URLs for ``style``."""
    folder = cache_path_for(f"{ML5_BASE}/{style}/manifest.json").parent
    folder.mkdir(parents=True)
    for file in source.parent.iterdir():
        shutil.copy(file, folder / file.name)
    return folder


def test_seeded_cache_works_offline_and_checks_the_digest(shared_path, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    wave = shared_path("weights/ml5-style-transfer/wave/manifest.json")
    folder = _seed_cache(wave, "wave")
    path = zoo.download("style-transfer-wave").path
    assert path == folder / "manifest.json"
    _seed_cache(shared_path("weights/ml5-style-transfer/udnie/manifest.json"), "scream")  # wrong weights
    with pytest.raises(WeightsError, match=r"digest fcc043b3.*expects a3fef73b.*zoo cache rm .*/scream "):
        zoo.download("style-transfer-scream")


def test_offline_without_cache_names_the_manifest_url(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError, match=r"(?s)style-transfer/la_muse/manifest\.json.*copy all of them"):
        zoo.load("style-transfer-la-muse")


def test_partially_seeded_cache_names_the_missing_variable(random_checkpoint, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    _, manifest = random_checkpoint
    folder = _seed_cache(manifest, "matta")
    (folder / "Variable_33").unlink()
    with pytest.raises(WeightsUnavailableError, match=r"(?s)'Variable_33'.*style-transfer/matta/Variable_33"):
        zoo.load("style-transfer-matta")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


def test_download_fetches_every_listed_file_into_one_folder(random_checkpoint, monkeypatch):
    net, manifest = random_checkpoint
    root = manifest.parent.parent
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"ml5+http://127.0.0.1:{server.server_address[1]}/{manifest.parent.name}/manifest.json"
        pipe = zoo.load("style-transfer-wave", weights=uri, device="cpu", progress=False)
    finally:
        server.shutdown()
        server.server_close()
    cached = pipe.weights.path
    assert cached.name == "manifest.json" and cached.parent != manifest.parent
    assert sorted(p.name for p in cached.parent.iterdir() if not p.name.endswith(".lock")) == sorted(
        p.name for p in manifest.parent.iterdir())
    assert torch.equal(pipe.model.res3.conv2.conv.weight, net.res3.conv2.conv.weight)
    monkeypatch.setenv("ZOO_OFFLINE", "1")  # now served from the cache, server gone
    again = zoo.load("style-transfer-wave", weights=uri, device="cpu")
    assert again.weights.path == cached
