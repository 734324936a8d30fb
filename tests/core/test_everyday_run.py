"""`zoo run` as a user runs it on folders: inputs never destroyed, bad files reported, the rest processed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.cli import main

REPO = Path(__file__).resolve().parents[2]
MODEL = "realesr-animevideov3"  # built-in SR entry; --no-pretrained keeps it offline and fast


def _zoo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins"),
                                                        os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def _image(path: Path, size: tuple[int, int] = (16, 12), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (np.random.default_rng(seed).random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_folder_with_a_corrupt_file_in_the_middle_processes_every_good_file(tmp_path):
    src = tmp_path / "photos"
    for i, name in enumerate(["a.png", "b.png", "d.png", "holiday/a.png"]):
        _image(src / name, seed=i)
    (src / "c.png").write_bytes(b"this is not a PNG")  # sorts between b and d
    before = _snapshot(src)
    report = tmp_path / "report.json"
    done = _zoo("run", MODEL, str(src), "-o", str(tmp_path / "out"), "--no-pretrained", "--device", "cpu",
                "--report", str(report), "--batch-size", "2")
    assert done.returncode == 1, done.stderr
    assert "c.png" in done.stderr and "1 of 5 inputs failed" in done.stderr
    assert "Traceback" not in done.stderr
    out = tmp_path / "out"
    # every good file, with the default suffix; equal names in sub-folders do not collide
    assert sorted(_snapshot(out)) == ["a_out.png", "b_out.png", "d_out.png", "holiday/a_out.png"]
    assert Image.open(out / "holiday" / "a_out.png").size == (64, 48)
    assert _snapshot(src) == before  # inputs untouched
    summary = json.loads(report.read_text())
    assert summary["succeeded"] == 4 and summary["failed"] == 1
    assert summary["failures"][0]["input"].endswith("c.png") and "cannot read image" in summary["failures"][0]["error"]


def test_output_folder_equal_to_input_folder_never_overwrites(tmp_path, capsys):
    src = tmp_path / "in"
    _image(src / "x.png")
    before = _snapshot(src)
    # without a suffix the output would be the input itself: refused before anything runs
    assert main(["run", MODEL, str(src), "-o", str(src), "--suffix", "", "--no-pretrained", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo run: error:") and "is the input" in err and len(err.strip().splitlines()) == 1
    assert main(["run", MODEL, str(src), "-o", str(src), "--suffix", "", "--overwrite", "--no-pretrained"]) == 2
    assert _snapshot(src) == before
    # the default names <stem>_out.<ext> beside the inputs are safe
    assert main(["run", MODEL, str(src), "-o", str(src), "--no-pretrained", "--device", "cpu", "-q"]) == 0
    assert (src / "x_out.png").is_file() and _snapshot(src)["x.png"] == before["x.png"]


def test_existing_outputs_need_overwrite_and_files_with_equal_names_keep_their_folders(tmp_path, capsys):
    one, two = _image(tmp_path / "one" / "x.png", seed=1), _image(tmp_path / "two" / "x.png", seed=2)
    out = tmp_path / "out"
    args = ["run", MODEL, str(one), str(two), "-o", str(out), "--no-pretrained", "--device", "cpu", "-q"]
    assert main(args) == 0
    first = _snapshot(out)
    assert sorted(first) == ["one/x_out.png", "two/x_out.png"] and first["one/x_out.png"] != first["two/x_out.png"]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err and _snapshot(out) == first
    assert main([*args, "--overwrite"]) == 0
    # -o naming an existing file is a one-line error, not a traceback
    assert main(["run", MODEL, str(one), "-o", str(one), "--no-pretrained"]) == 2
    assert "names a folder" in capsys.readouterr().err


def test_two_inputs_that_would_share_an_output_are_refused(tmp_path, capsys):
    _image(tmp_path / "p.png")
    _image(tmp_path / "p.jpg")
    assert main(["run", MODEL, str(tmp_path / "p.png"), str(tmp_path / "p.jpg"), "-o", str(tmp_path / "o"),
                 "--ext", "png", "--no-pretrained"]) == 2
    assert "would both be written to" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--tile", "abc"], "argument --tile: tile must be an integer"),
    (["--tile", "-5"], "tile must be >= 0"),
    (["--tile-pad", "-3"], "tile_pad must be >= 0"),
    (["--outscale", "0"], "outscale must be a finite number > 0"),
    (["--quality", "101"], "quality must be an integer from 1 to 100"),
    (["--batch-size", "0"], "batch_size must be >= 1"),
    (["--dtype", "fp8"], "unknown dtype 'fp8'"),
    (["--mode", "paper"], "has no inference mode 'paper'"),
])
def test_bad_run_arguments_are_one_line_errors_with_exit_2(tmp_path, capsys, argv, message):
    image = _image(tmp_path / "x.png")
    with pytest.raises(SystemExit) as stop:
        code = main(["run", MODEL, str(image), "-o", str(tmp_path / "o"), "--no-pretrained", *argv])
        raise SystemExit(code)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and message in err, err
    assert len(err.splitlines()) == 1 and err.startswith("zoo run: error:"), err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_tile_on_an_untileable_entry_and_cuda_without_gpu(tmp_path, capsys):
    import torch

    image = _image(tmp_path / "x.png")
    assert main(["run", "cyclegan-horse2zebra", str(image), "-o", str(tmp_path / "o"), "--no-pretrained",
                 "--tile", "256"]) == 2
    assert "cannot be tiled" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["run", MODEL, str(image), "-o", str(tmp_path / "o"), "--no-pretrained", "--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert "no CUDA GPU is available" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["list"], ["cache", "ls"]])
def test_a_reader_that_leaves_early_ends_the_command_quietly(command):
    """`zoo list | head -1`: the pipe closes before zoo writes; no BrokenPipeError traceback."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'plugins'}"}
    proc = subprocess.Popen([sys.executable, "-m", "zoo", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_suffix_ext_and_report_are_checked_before_anything_runs(tmp_path):
    from zoo.errors import OptionError
    from zoo.inference.runner import plan_outputs

    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in" / "x.png")
    for suffix in ("z/../../esc", "a/b"):
        with pytest.raises(OptionError, match="--suffix"):
            plan_outputs([str(tmp_path / "in")], tmp_path / "out", suffix=suffix)
    with pytest.raises(OptionError, match="--ext 'xyz'"):
        plan_outputs([str(tmp_path / "in")], tmp_path / "out", ext="xyz")


def test_a_run_repeated_in_place_skips_its_earlier_outputs(tmp_path):
    from zoo.inference.runner import plan_outputs

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "x.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "x_out.png")  # a previous run's output
    pairs = plan_outputs([str(folder)], folder, overwrite=True)
    assert [(p[0].name, p[1].name) for p in pairs] == [("x.png", "x_out.png")]
