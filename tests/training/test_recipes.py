"""Issue 20.2: every built-in entry names its family's training recipe (with its source), fine-tuning starts
from it, and ``--list-options`` says where each default comes from."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from zoo.cli import main
from zoo.registry import components
from zoo.training import prepare, train
from zoo.training.recipes import entry_recipe

REPO = Path(__file__).resolve().parents[2]


def _trainable_entries(manager) -> list:
    tasks = manager.components("task")
    return [e for e in manager.catalog if tasks.get(e.task).record.trainer is not None]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.new("RGB", (64, 64), (40 * i, 90, 200)).save(folder / f"{i}.png")
    return folder


def test_every_builtin_entry_names_a_recipe_with_its_source(zoo_manager) -> None:
    entries = _trainable_entries(zoo_manager)
    assert len(entries) > 40
    for entry in entries:
        recipe = entry_recipe(entry)
        assert recipe is not None, f"{entry.name} ({entry.source}) names no recipe"
        assert recipe.task == entry.task
        assert "http" in recipe.source or "arxiv" in recipe.source, f"recipe {recipe.name}: source {recipe.source!r}"
        assert recipe.options and recipe.description


def test_each_entry_trains_with_its_recipe_defaults(zoo_manager, data: Path, tmp_path: Path) -> None:
    """The trainer built for each entry (options resolved and checked, nothing built) has the recipe's values."""
    style_image = data / "0.png"
    for entry in _trainable_entries(zoo_manager):
        recipe = entry_recipe(entry)
        extra = {"style_image": str(style_image)} if entry.task == "style-transfer" else {}
        trainer = prepare(entry.name, data, overrides=extra, out=tmp_path / "runs" / entry.name)
        for key, value in recipe.options.items():
            got = trainer.config[key]
            assert got == value, f"{entry.name}: option {key!r} is {got!r}, recipe {recipe.name!r} says {value!r}"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name, expected", [
    ("realesrgan-x4plus", {"stage": "gan", "degradation": "realesrgan", "patch_size": 256, "ema": 0.999, "lr": 1e-4,
                           "gan_weight": 0.1, "discriminator": "unet_discriminator_sn"}),
    ("realesrnet-x4plus", {"stage": "pixel", "degradation": "realesrgan", "lr": 2e-4, "ema": 0.999}),
    ("vdsr-x2x3x4", {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "pixel_loss": "l2", "grad_clip": 0.4,
                     "pixel_loss_options": {"reduction": "sum"}, "batch_size": 128}),
    ("espcn-x3-t91", {"pixel_loss": "l2"}),
    ("pix2pix-facades-label2photo", {"gan_type": "vanilla", "lambda_L1": 100.0, "pool_size": 0, "lr": 2e-4}),
    ("cyclegan-horse2zebra", {"gan_type": "lsgan", "pool_size": 50, "lambda_identity": 0.5}),
    ("fast-neural-style-candy", {"tv_weight": 0.0, "content_weight": 1e5, "style_weight": 1e10}),
    ("style-transfer-wave", {"vgg": "vgg19", "content_layer": "relu4_2", "tv_weight": 200.0}),
])
def test_published_recipes(zoo_manager, data: Path, tmp_path: Path, name: str, expected: dict) -> None:
    extra = {"style_image": str(data / "0.png")} if "style" in name else {}
    config = prepare(name, data, overrides=extra, out=tmp_path / "r").config
    assert {k: config[k] for k in expected} == expected


def test_list_options_says_where_each_default_comes_from(capsys) -> None:
    assert main(["train", "realesrgan-x4plus", "--list-options", "steps=10"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert "recipe 'realesrgan' (https://github.com/xinntao/Real-ESRGAN" in lines["stage"]
    assert "'gan'" in lines["stage"] and "(trainer default)" in lines["seed"]
    assert "10  (command line)" in lines["steps"]
    assert main(["train", "super-resolution", "--list-options"]) == 0
    assert "recipe" not in capsys.readouterr().out


def test_recipes_are_in_the_training_docs(zoo_manager) -> None:
    docs = (REPO / "docs" / "training.md").read_text()
    for name, registered in components("recipe").items():
        assert f"`{name}`" in docs, f"docs/training.md does not list recipe {name!r}"
        for difference in registered.record.differences:
            assert difference.split(";")[0][:40] in docs, f"recipe {name!r}: difference not in docs: {difference}"


def test_vdsr_recipe_trains_with_sgd_and_summed_mse(zoo_manager, data: Path, tmp_path: Path) -> None:
    """The recipe's SGD, summed MSE and gradient clipping run (a tiny VDSR, one step)."""
    threads = torch.get_num_threads()
    try:
        result = train("vdsr-x2x3x4", data, from_scratch=True, out=tmp_path / "vdsr",
                       overrides={"kwargs": {"num_feat": 4, "num_block": 2}, "batch_size": 2, "patch_size": 24,
                                  "steps": 1, "progress": False, "threads": 1, "sample_every": 0})
    finally:
        torch.set_num_threads(threads)
    assert result["step"] == 1
    ckpt = torch.load(tmp_path / "vdsr" / "checkpoints" / "last.pt", weights_only=True)
    group = ckpt["optimizers"]["generator"]["param_groups"][0]
    assert group["momentum"] == 0.9 and group["weight_decay"] == 1e-4 and "betas" not in group
