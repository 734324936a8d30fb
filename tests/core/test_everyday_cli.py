"""The smaller everyday points: `zoo list` filters and its weights column, weights files that are not
checkpoints, `zoo demo` on a model that is not super-resolution."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from toy_plugin import Toy, toy_weights, write_toy_catalog

import zoo
from zoo.cli import main
from zoo.errors import WeightsError
from zoo.weights.serialization import load_checkpoint, save_state_dict


def test_list_task_families_aliases_and_several_patterns(capsys):
    assert main(["list", "--task", "super-resolution", "--names-only"]) == 0
    family = capsys.readouterr().out.split()
    assert "vdsr-x2x3x4" in family and "realesrgan-x4plus" in family
    assert main(["list", "--task", "sr", "--names-only"]) == 0
    assert capsys.readouterr().out.split() == family
    assert main(["list", "--task", "translation", "--json"]) == 0
    assert {row["task"] for row in json.loads(capsys.readouterr().out)} == {"paired-translation", "unpaired-translation"}
    assert main(["list", "cyclegan-horse*", "vdsr*", "--names-only"]) == 0
    assert capsys.readouterr().out.split() == ["cyclegan-horse2zebra", "vdsr-x2x3x4"]
    assert zoo.list_models(["pix2pix-f*", "pix2pix-d*"]) == ["pix2pix-day2night", "pix2pix-facades-label2photo"]


def test_list_with_the_weights_column_does_not_import_torch():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    code = ("import sys; from zoo.cli import main; main(['list']); "
            "print('torch' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": f"{repo}:{repo / 'plugins'}"})
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
    assert "weights here" in done.stdout


def test_list_without_a_match_says_so_and_exits_1(capsys):
    assert main(["list", "--task", "inpainting"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no entry of task 'inpainting'" in captured.err and "super-resolution-y" in captured.err
    assert main(["list", "nothing-like-this*"]) == 1
    assert "no entry matches nothing-like-this*" in capsys.readouterr().err


def test_list_has_a_weights_here_column(empty_zoo_manager, tmp_path, capsys):
    weights = save_state_dict(toy_weights(), tmp_path / "toy.pth")
    url = "https://example.invalid/toy.pth"
    empty_zoo_manager.register(Toy(write_toy_catalog(tmp_path, url, hashlib.sha256(weights.read_bytes()).hexdigest())),
                               name="toy")
    assert main(["list"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    row = next(r for r in rows if r.startswith("toy-x2 "))
    assert header.split()[-2:] == ["weights", "here"] and row.split()[-1] == "-"
    cached = zoo.weights.hub.cache_path_for(url)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(weights.read_bytes())
    assert main(["list", "--json"]) == 0
    assert {r["name"]: r["weights_here"] for r in json.loads(capsys.readouterr().out)}["toy-x2"] is True


@pytest.mark.parametrize("content, message", [
    (b"hello, these are not weights\n", "is a text file, not a checkpoint (it starts with 'hello"),
    (b"<!DOCTYPE html><html>Sign in</html>", "is an HTML page"),
    (b"", "is empty"),
    (b"\x00\x01\x02\x03garbage", "is not a torch checkpoint (zip or pickle) nor a safetensors file"),
])
def test_weights_files_are_sniffed_before_loading(tmp_path, content, message):
    path = tmp_path / "model.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError) as info:
        load_checkpoint(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_an_image_or_a_folder_given_as_weights_is_named_as_such(tmp_path, capsys):
    jpeg = tmp_path / "model.pth"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(jpeg, format="JPEG")
    with pytest.raises(WeightsError, match="is a JPEG image, not a checkpoint"):
        load_checkpoint(jpeg)
    (tmp_path / "folder").mkdir()
    with pytest.raises(WeightsError, match="is a folder, not a weights file"):
        load_checkpoint(tmp_path / "folder")
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert main(["run", "realesr-animevideov3", str(image), "-o", str(tmp_path / "o"),
                 "--weights", str(tmp_path / "folder")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo run: error: weights path") and "is a folder" in err


def test_real_checkpoints_still_load_whatever_their_name(tmp_path):
    state = {"w": torch_tensor()}
    for name in ("a.pth", "b.bin", "c.safetensors"):
        save_state_dict(state, tmp_path / name)
    (tmp_path / "c.safetensors").rename(tmp_path / "c_renamed.pth")
    for name in ("a.pth", "b.bin", "c_renamed.pth"):
        assert list(load_checkpoint(tmp_path / name)) == ["w"]


def torch_tensor():
    import torch

    return torch.arange(6.0).reshape(2, 3)


def test_demo_on_a_translation_model_reports_no_psnr(empty_zoo_manager, tmp_path, capsys):
    weights = save_state_dict(toy_weights(), tmp_path / "toy.pth")
    empty_zoo_manager.register(Toy(write_toy_catalog(tmp_path, weights.as_uri(), None)), name="toy")
    assert main(["demo", "--model", "toy-x2", "-o", str(tmp_path / "demo"), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "PSNR" in out and "no PSNR/SSIM" in out and "dB" not in out
    assert (tmp_path / "demo" / "astronaut_toy-x2.png").is_file()
