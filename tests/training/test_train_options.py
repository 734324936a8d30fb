"""Options (defaults < config file < key=value, validated by key), CLI errors, the non-finite loss stop, and
fine-tuning from an entry's weights (or a clear error when they are unreachable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from zoo.cli import main
from zoo.registry.manager import components
from zoo.training import ConfigError, TrainingError, prepare, register_run, train
from zoo.training.config import Option, parse_overrides, resolve_options
from zoo.training.state import load_checkpoint

TINY = {"kwargs": {"num_feat": 8, "num_feat2": 4}, "patch_size": 24, "batch_size": 2, "progress": False,
        "threads": 1, "log_every": 1, "sample_every": 0}


def _words(options: dict) -> list[str]:
    return [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
            for k, v in options.items()]


def test_overrides_parse_as_yaml() -> None:
    assert parse_overrides(["lr=1e-3", "betas=[0.5, 0.999]", "amp=bf16", "kwargs={a: 1}", "name=x"]) == {
        "lr": 1e-3, "betas": [0.5, 0.999], "amp": "bf16", "kwargs": {"a": 1}, "name": "x"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["lr"])


def test_layers_and_validation_name_the_key() -> None:
    declared = {"lr": Option(1e-4), "steps": Option(10), "amp": Option("none", choices=("none", "bf16")),
                "name": Option(None, kind=str)}
    got = resolve_options(declared, [("a.yaml", {"lr": 1, "steps": 5}), ("command line", {"steps": 7})])
    assert got == {"lr": 1.0, "steps": 7, "amp": "none", "name": None}
    with pytest.raises(ConfigError, match=r"command line: unknown option 'stpes'.*did you mean 'steps'"):
        resolve_options(declared, [("command line", {"stpes": 3})])
    with pytest.raises(ConfigError, match=r"a.yaml: option 'steps' expects int, got str 'many'"):
        resolve_options(declared, [("a.yaml", {"steps": "many"})])
    with pytest.raises(ConfigError, match=r"option 'amp' must be one of 'none', 'bf16', got 'fp8'"):
        resolve_options(declared, [("x", {"amp": "fp8"})])
    with pytest.raises(ConfigError, match="option 'steps' expects int, got bool"):
        resolve_options(declared, [("x", {"steps": True})])


@pytest.mark.shared
def test_config_file_then_overrides(sr_data: Path, tmp_path: Path) -> None:
    config = tmp_path / "espcn.yaml"
    config.write_text(yaml.safe_dump({"lr": 5e-3, "steps": 9, "lr_policy": "cosine"}))
    trainer = prepare("super-resolution-luma", sr_data, config=config, overrides=["steps=2", *_words(TINY)],
                      out=tmp_path / "r")
    assert (trainer.config["lr"], trainer.config["steps"], trainer.config["lr_policy"]) == (5e-3, 2, "cosine")
    assert not (tmp_path / "r").exists()  # nothing is written before training starts
    trainer.fit()
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["options"]["steps"] == 2


@pytest.mark.shared
def test_cli_errors_are_one_line(sr_data: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", "super-resolution-luma", "--data", str(sr_data), "--out", str(tmp_path / "r"),
                 "learning_rate=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo train: error: command line: unknown option 'learning_rate'") and "Traceback" not in err
    assert main(["train", "no-such-thing", "--data", str(sr_data)]) == 2
    assert "no model named 'no-such-thing'" in capsys.readouterr().err
    assert main(["train", "super-resolution-luma", "--data", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "r2")]) == 2
    assert "missing does not exist" in capsys.readouterr().err
    assert main(["train", "super-resolution-luma", "--list-options"]) == 0
    assert "patch_size" in capsys.readouterr().out


@pytest.mark.shared
def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(sr_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    train("super-resolution-luma", sr_data, overrides={**TINY, "steps": 2, "checkpoint_every": 2}, out=out)
    good = load_checkpoint(out / "checkpoints" / "last.pt")
    with pytest.raises(TrainingError, match=r"step 3: loss 'total' is nan .*last good checkpoint is .*last\.pt"):
        train("super-resolution-luma", sr_data, overrides={"steps": 4, "pixel_weight": float("nan")}, out=out,
              resume=True, allow_changes=True)
    kept = load_checkpoint(out / "checkpoints" / "last.pt")
    assert kept["step"] == 2
    for key, value in good["models"]["generator"].items():
        assert torch.equal(value, kept["models"]["generator"][key])
    with pytest.raises(TrainingError, match="already holds a run"):
        train("super-resolution-luma", sr_data, overrides=TINY, out=out)


def _catalog_with(tmp_path: Path, weights: Path | str) -> Path:
    entry = {"name": "tiny-espcn-x3", "task": "super-resolution-luma",
             "architecture": {"name": "espcn", "kwargs": {"scale": 3, "num_feat": 8, "num_feat2": 4}},
             "weights": [{"url": str(weights)}], "processing": {"scale": 3, "channels": 1}}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"entries": [entry]}))
    return path


@pytest.mark.shared
def test_fine_tuning_starts_from_the_entry_weights(sr_data: Path, tmp_path: Path, zoo_manager) -> None:
    torch.manual_seed(7)
    espcn = components("architecture").get("espcn").load("factory")
    start = espcn(scale=3, num_feat=8, num_feat2=4).state_dict()
    save_file(start, str(tmp_path / "start.safetensors"))
    register_run(_catalog_with(tmp_path, tmp_path / "start.safetensors"))
    trainer = prepare("tiny-espcn-x3", sr_data, overrides={k: v for k, v in TINY.items() if k != "kwargs"} | {"steps": 1},
                      out=tmp_path / "ft")
    trainer.setup()
    for key, value in trainer.models["generator"].state_dict().items():
        assert torch.equal(value, start[key]), key
    trainer.fit()
    tuned = load_file(str(tmp_path / "ft" / "model.safetensors"))
    assert any(not torch.equal(tuned[k], start[k]) for k in start)
    other = tmp_path / "other.safetensors"
    save_file({k: v + 1 for k, v in start.items()}, str(other))
    explicit = prepare("tiny-espcn-x3", sr_data, overrides={"steps": 1, "batch_size": 2, "patch_size": 24,
                                                            "progress": False}, out=tmp_path / "w", weights=other)
    explicit.setup()
    assert torch.equal(explicit.models["generator"].state_dict()["body.0.weight"], start["body.0.weight"] + 1)
    scratch = prepare("tiny-espcn-x3", sr_data, overrides={"steps": 1, "batch_size": 2, "patch_size": 24, "progress": False}, out=tmp_path / "s",
                      from_scratch=True)
    scratch.setup()
    assert not torch.equal(scratch.models["generator"].state_dict()["body.0.weight"], start["body.0.weight"])


@pytest.mark.shared
def test_unreachable_pretrained_weights_suggest_from_scratch(sr_data: Path, tmp_path: Path, zoo_manager,
                                                             monkeypatch) -> None:
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    register_run(_catalog_with(tmp_path, "https://example.invalid/tiny-espcn.safetensors"))
    trainer = prepare("tiny-espcn-x3", sr_data, overrides={"steps": 1, "batch_size": 2, "patch_size": 24, "progress": False}, out=tmp_path / "ft")
    with pytest.raises(TrainingError, match=r"(?s)cannot fine-tune 'tiny-espcn-x3'.*--from-scratch"):
        trainer.setup()


def test_cli_train_help_lists_the_command() -> None:
    out = subprocess.run([sys.executable, "-m", "zoo", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--resume" in out.stdout and "key=value" in out.stdout
