"""Issue 20.3-20.5 and 18.5: a run's config.yaml reruns it (same weights, its own name); --resume refuses
changes that break exactness; options are checked before anything is written; the VGG error names vgg_weights."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import tiny_data
from zoo.cli import main
from zoo.training import TrainingError, prepare, train

TINY = ["kwargs={num_feat: 8, num_feat2: 4}", "patch_size=24", "batch_size=2", "progress=false", "threads=1",
        "log_every=1", "sample_every=0", "steps=2", "checkpoint_every=2"]


def _train(*args: str) -> int:
    return main(["train", "super-resolution-luma", *args])


@pytest.mark.shared
def test_a_runs_config_reruns_it_with_identical_weights_and_its_own_name(sr_data: Path, tmp_path: Path,
                                                                         capsys) -> None:
    first = tmp_path / "first"
    assert _train("--data", str(sr_data), "--out", str(first), *TINY) == 0
    config = yaml.safe_load((first / "config.yaml").read_text())
    assert config["data"] == str(sr_data) and config["options"]["name"] == "first"
    again = tmp_path / "again"
    assert _train("--config", str(first / "config.yaml"), "--out", str(again)) == 0  # no --data: the run's
    a, b = load_file(str(first / "model.safetensors")), load_file(str(again / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert yaml.safe_load((again / "catalog.yaml").read_text())["entries"][0]["name"] == "again"
    named = tmp_path / "named"
    assert _train("--config", str(first / "config.yaml"), "--out", str(named), "name=mine") == 0
    assert yaml.safe_load((named / "config.yaml").read_text())["options"]["name"] == "mine"
    assert _train("--config", str(named / "config.yaml"), "--out", str(tmp_path / "named2")) == 0
    assert yaml.safe_load((tmp_path / "named2" / "catalog.yaml").read_text())["entries"][0]["name"] == "mine"


@pytest.mark.shared
def test_config_and_resume_work_from_another_working_folder(sr_data: Path, tmp_path: Path, monkeypatch) -> None:
    """Relative data/val_data are stored absolute: the run's config.yaml and --resume work from anywhere."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    elsewhere.mkdir()
    work.mkdir()
    (work / "data").symlink_to(sr_data)
    monkeypatch.chdir(work)
    assert _train("--data", "data", "--out", "run", *TINY, "val_data=data", "val_max_images=1") == 0
    config = yaml.safe_load((work / "run" / "config.yaml").read_text())
    assert config["data"] == str(work / "data") and config["options"]["val_data"] == str(work / "data")
    monkeypatch.chdir(elsewhere)
    assert _train("--config", str(work / "run" / "config.yaml"), "--out", "again") == 0
    assert _train("--out", str(work / "run"), "--resume", "steps=3") == 0


@pytest.mark.shared
@pytest.mark.parametrize("change, message", [
    (["batch_size=4"], r"batch_size 2 -> 4: resuming with changed batch_size would not continue"),
    (["kwargs={num_feat: 16, num_feat2: 4}"], r"kwargs \{'num_feat': 8, 'num_feat2': 4\} -> \{'num_feat': 16"),
    (["--data", "OTHER"], r"data .* -> .*other.*: resuming with changed data"),
])
def test_resume_refuses_changes_that_break_exactness(sr_data: Path, shared_dir: Path, tmp_path: Path, capsys, change,
                                                     message) -> None:
    out = tmp_path / "run"
    assert _train("--data", str(sr_data), "--out", str(out), *TINY) == 0
    other = tiny_data.sr_folder(shared_dir, tmp_path / "other", n=3) if "OTHER" in change else None
    change = [str(other) if c == "OTHER" else c for c in change]
    before = {p.name: p.read_bytes() for p in (out / "config.yaml", out / "run.json", out / "checkpoints" / "last.pt")}
    capsys.readouterr()
    assert _train("--out", str(out), "--resume", "steps=4", *change) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo train: error: --resume") and len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
    assert "--allow-changes" in err
    after = {p.name: p.read_bytes() for p in (out / "config.yaml", out / "run.json", out / "checkpoints" / "last.pt")}
    assert before == after  # nothing rewritten


@pytest.mark.shared
def test_resume_reads_data_from_the_run_and_records_allowed_changes(sr_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert _train("--data", str(sr_data), "--out", str(out), *TINY) == 0
    assert _train("--out", str(out), "--resume", "steps=3", "log_every=2") == 0  # safe changes, data from the run
    assert "zoo train: resumed from step 2" in capsys.readouterr().out
    assert _train("--out", str(out), "--resume", "steps=4", "lr=5e-4", "--allow-changes") == 0
    history = json.loads((out / "run.json").read_text())["history"]
    assert [e["event"] for e in history] == ["start", "finish", "resume", "finish", "resume", "finish"]
    assert history[4]["step"] == 3 and history[4]["changes"]["lr"] == {"from": 0.001, "to": 0.0005}
    assert history[2]["changes"]["steps"] == {"from": 2, "to": 3}
    assert yaml.safe_load((out / "config.yaml").read_text())["options"]["lr"] == 5e-4


@pytest.mark.shared
def test_architecture_change_with_allow_changes_is_one_line(sr_data: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert _train("--data", str(sr_data), "--out", str(out), *TINY) == 0
    capsys.readouterr()
    assert _train("--out", str(out), "--resume", "steps=4", "kwargs={num_feat: 16, num_feat2: 4}",
                  "--allow-changes") == 2
    err = capsys.readouterr().err
    assert "the checkpoint's model 'generator' does not fit the one built from this run's options" in err
    assert "Traceback" not in err


@pytest.mark.shared
@pytest.mark.parametrize("bad, message", [
    (["val_data=" + "/no/such/folder"], "option 'val_data': '/no/such/folder' is neither a folder nor a registered"),
    (["best_metric=fid"], "option 'best_metric': 'fid' is a validation metric, but no val_data= is given"),
    (["metric_weights={lpips: /no/such.pth}"], "option 'metric_weights': lpips: /no/such.pth is not a file"),
    (["kwargs={nope: 1}"], "rejected"),
])
def test_a_failed_start_leaves_no_folder(sr_data: Path, tmp_path: Path, capsys, bad, message) -> None:
    out = tmp_path / "run"
    assert _train("--data", str(sr_data), "--out", str(out), *TINY, *bad) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_style_image_is_checked_before_the_vgg_is_fetched(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    (tmp_path / "content").mkdir()
    from PIL import Image

    Image.new("RGB", (40, 40)).save(tmp_path / "content" / "a.png")
    out = tmp_path / "run"
    assert main(["train", "style-transfer", "--data", str(tmp_path / "content"), "--out", str(out),
                 "style_image=" + str(tmp_path / "missing.jpg")]) == 2
    err = capsys.readouterr().err
    assert f"option 'style_image': {tmp_path / 'missing.jpg'} is not a file" in err and "vgg16" not in err
    assert not out.exists()


def test_vgg_error_names_vgg_weights_and_the_cache_path(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    from PIL import Image

    (tmp_path / "content").mkdir()
    Image.new("RGB", (40, 40)).save(tmp_path / "content" / "a.png")
    Image.new("RGB", (40, 40)).save(tmp_path / "style.png")
    out = tmp_path / "run"
    assert main(["train", "style-transfer", "--data", str(tmp_path / "content"), "--out", str(out), "image_size=32",
                 "style_image=" + str(tmp_path / "style.png")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "vgg_weights=PATH" in err and "vgg16-397923af.pth" in err and "--weights" not in err
    assert "weights/download.pytorch.org/models/vgg16-397923af.pth" in err  # where to put it
    assert not out.exists()


@pytest.mark.shared
def test_prepare_writes_nothing(sr_data: Path, tmp_path: Path) -> None:
    trainer = prepare("super-resolution-luma", sr_data, overrides=TINY, out=tmp_path / "r")
    assert trainer.config["steps"] == 2 and not (tmp_path / "r").exists()
    with pytest.raises(TrainingError, match="no checkpoint to resume from"):
        train("super-resolution-luma", sr_data, out=tmp_path / "r", resume=True)
    assert not (tmp_path / "r").exists()
