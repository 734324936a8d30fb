"""User-reported errors of `zoo train`: paired data with suffixes, bad options, --out a file, Ctrl-C, stray words."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from zoo.cli import main
from zoo.training import TrainingError
from zoo.training.data import AlignedDataset

SMALL = ["generator_kwargs={num_downs: 5, ngf: 8}", "discriminator_kwargs={ndf: 8}", "load_size=40", "crop_size=32",
         "progress=false", "threads=1"]


def _suffix_pairs(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (40, 40), (i, 0, 0)).save(root / f"{i}-labels.png")
        Image.new("RGB", (40, 40), (0, i, 0)).save(root / f"{i}-photo.png")
    return root


def test_suffix_pairs_detected_and_given(tmp_path: Path) -> None:
    root = _suffix_pairs(tmp_path / "pairs")
    data = AlignedDataset(root)
    assert data.pair_suffixes == ("labels", "photo")
    assert [(a.name, b.name) for a, b in data.pairs][0] == ("0-labels.png", "0-photo.png")
    data = AlignedDataset(root, pair_suffixes=["-photo", "-labels"])
    assert [(a.name, b.name) for a, b in data.pairs][0] == ("0-photo.png", "0-labels.png")
    item = data[0]
    assert item["A"].shape == item["B"].shape


def test_side_by_side_refuses_square_images(tmp_path: Path) -> None:
    (tmp_path / "sq").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "sq" / "1.png")
    with pytest.raises(TrainingError, match=r"1.png is 40x40, not an A\|B side-by-side pair.*pair_suffixes"):
        AlignedDataset(tmp_path / "sq")
    (tmp_path / "ab").mkdir()
    Image.new("RGB", (80, 40)).save(tmp_path / "ab" / "1.png")
    assert AlignedDataset(tmp_path / "ab").pairs[0][1] is None


@pytest.mark.parametrize("args, message", [
    (["load_size=64", "crop_size=64"], "option 'crop_size': 64 is not a multiple of 256"),
    (["lr=-1"], "option 'lr': -1.0 is not valid; it must be positive"),
    (["steps"], "'steps' is not key=value"),
])
def test_bad_options_are_one_line_before_training(tmp_path: Path, capsys, args, message) -> None:
    data = _suffix_pairs(tmp_path / "pairs")
    assert main(["train", "paired-translation", "--data", str(data), "--out", str(tmp_path / "r"), "steps=1",
                 *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo train: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_out_is_a_file(tmp_path: Path, capsys) -> None:
    data = _suffix_pairs(tmp_path / "pairs")
    (tmp_path / "afile").write_text("x")
    assert main(["train", "paired-translation", "--data", str(data), "--out", str(tmp_path / "afile"), "steps=1"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_ctrl_c_says_where_it_stopped(tmp_path: Path, capsys, monkeypatch) -> None:
    from zoo.training.trainer import Trainer

    def fit(self):
        self.step, self.saved_step = 7, 4
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", fit)
    data = _suffix_pairs(tmp_path / "pairs")
    assert main(["train", "paired-translation", "--data", str(data), "--out", str(tmp_path / "r"), "steps=10",
                 *SMALL]) == 130
    err = capsys.readouterr().err
    assert "zoo train: interrupted at step 7; last checkpoint: step 4" in err and "--resume" in err


def test_resume_past_steps_warns(tmp_path: Path, capsys) -> None:
    data = _suffix_pairs(tmp_path / "pairs")
    out = str(tmp_path / "r")
    assert main(["train", "paired-translation", "--data", str(data), "--out", out, "steps=2", *SMALL]) == 0
    capsys.readouterr()
    assert main(["train", "paired-translation", "--data", str(data), "--out", out, "--resume", "steps=1"]) == 0
    err = capsys.readouterr().err
    assert "already at step 2" in err and "1 steps (steps=1)" in err
