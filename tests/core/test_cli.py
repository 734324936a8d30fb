"""The zoo command line, on the toy plugin."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image
from toy_plugin import Toy, toy_weights, write_toy_catalog

from zoo.weights import hub
from zoo.cli import main
from zoo.weights.serialization import save_state_dict


@pytest.fixture
def toy_cli(empty_zoo_manager, tmp_path, http_server):
    server, base = http_server
    weights = save_state_dict(toy_weights(), tmp_path / "toy.pth")
    server.files["/toy.pth"] = weights.read_bytes()
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    empty_zoo_manager.register(Toy(write_toy_catalog(tmp_path, f"{base}/toy.pth", digest)), name="toy")
    return weights, f"{base}/toy.pth"


def test_list_info_and_help(toy_cli, capsys):
    assert main(["list"]) == 0
    assert "toy-x2" in capsys.readouterr().out
    assert main(["list", "nothing-*"]) == 1
    assert main(["info", "toy-x2"]) == 0
    out = capsys.readouterr().out
    assert "not cached (expected at" in out and "toy_upscaler" in out
    assert main(["info", "toy-x3"]) == 2
    assert "did you mean toy-x2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0 and "--weights" in capsys.readouterr().out


def test_run_writes_outputs_of_the_right_size(toy_cli, tmp_path, capsys):
    weights, _ = toy_cli
    image = tmp_path / "odd.png"
    Image.fromarray((np.random.default_rng(0).random((13, 22, 3)) * 255).astype(np.uint8)).save(image)
    assert main(["run", "toy-x2", str(image), "-o", str(tmp_path / "out"), "--weights", str(weights)]) == 0
    assert Image.open(tmp_path / "out" / "odd_out.png").size == (44, 26)  # default suffix _out
    assert "explicit" in capsys.readouterr().out


def test_download_offline_and_cache_commands(toy_cli, capsys, monkeypatch):
    _, url = toy_cli
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert main(["download", "toy-x2"]) == 1
    assert str(hub.cache_path_for(url)) in capsys.readouterr().err
    monkeypatch.delenv("ZOO_OFFLINE")
    assert main(["download", "toy-x2"]) == 0
    assert main(["cache", "ls"]) == 0
    assert "toy.pth" in capsys.readouterr().out
    assert main(["cache", "verify"]) == 0
    assert " ok" in capsys.readouterr().out
    hub.cache_path_for(url).write_bytes(b"tampered")
    assert main(["cache", "verify"]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    assert main(["cache", "rm", "toy.pth"]) == 0
    assert not hub.cache_path_for(url).exists()


def test_bench_writes_a_table(toy_cli, tmp_path, capsys):
    out = tmp_path / "bench.csv"
    assert main(["bench", "toy-*", "--size", "18", "--iters", "2", "--warmup", "1", "--random-weights", "--dtype", "fp32",
                 "--csv", str(out), "--out", str(tmp_path / "report")]) == 0
    import csv

    (row,) = list(csv.DictReader(out.open()))
    assert row["model"] == "toy-x2" and row["size"] == "16" and row["out_size"] == "32"  # rounded to the multiple
    assert float(row["images_per_s"]) > 0 and row["weights"] == "random" and row["torch"]
    assert main(["bench", "nothing-*"]) == 2  # a bad argument: one-line error, exit 2
