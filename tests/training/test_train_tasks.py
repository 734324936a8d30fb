"""Every task trains a few steps on tiny real images: finite losses, weights change, checkpoint and catalog
entry written, and the run loads back with zoo.load and processes an image."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import tiny_data
import zoo
from zoo.training import finish, prepare, register_run
from zoo.training.state import load_checkpoint

COMMON = {"steps": 3, "log_every": 1, "checkpoint_every": 3, "progress": False, "threads": 1, "seed": 0}
TRANSLATION = {"load_size": 36, "crop_size": 32, "discriminator_kwargs": {"ndf": 8}}

CASES = {
    "espcn": ("super-resolution-luma", "sr", {"kwargs": {"num_feat": 8, "num_feat2": 4}, "patch_size": 24,
                                              "batch_size": 2}),
    "espcn-bf16-channels-last": ("super-resolution-luma", "sr", {"kwargs": {"num_feat": 8, "num_feat2": 4},
                                                                 "patch_size": 24, "batch_size": 2, "amp": "bf16",
                                                                 "channels_last": True}),
    "fsrcnn": ("super-resolution-luma", "sr", {"architecture": "fsrcnn", "kwargs": {"d": 8, "s": 4, "m": 1},
                                               "patch_size": 24, "batch_size": 2}),
    "sr-gan-ema": ("super-resolution", "sr", {"kwargs": {"num_feat": 8, "num_block": 1}, "scale": 2, "patch_size": 32,
                                              "batch_size": 2, "stage": "gan", "ema": 0.9,
                                              "perceptual_options": {"arch": "vgg11", "layer_weights": {"conv2_1": 1.0},
                                                                     "weights": None},
                                              "discriminator_kwargs": {"num_in_ch": 3, "num_feat": 4},
                                              "degradation": "realesrgan"}),
    "pix2pix": ("paired-translation", "paired", {**TRANSLATION, "batch_size": 2,
                                                 "generator_kwargs": {"num_downs": 5, "ngf": 8}}),
    "cyclegan": ("unpaired-translation", "unpaired", {**TRANSLATION, "pool_size": 2,
                                                      "generator_kwargs": {"ngf": 8, "n_blocks": 1}}),
    "colorization": ("colorization", "photos", {**TRANSLATION, "batch_size": 2,
                                                "generator_kwargs": {"num_downs": 5, "ngf": 8}}),
    "style": ("style-transfer", "photos", {"image_size": 32, "style_size": 32, "vgg_weights": None, "batch_size": 2}),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory, shared_dir: Path) -> dict[str, Path]:
    shared = shared_dir
    if not (shared / "data").is_dir():
        pytest.skip(f"{shared / 'data'} is missing")
    root = tmp_path_factory.mktemp("tiny")
    return {"sr": tiny_data.sr_folder(shared, root), "paired": tiny_data.paired_folder(shared, root),
            "unpaired": tiny_data.unpaired_folder(shared, root), "photos": tiny_data.photo_folder(shared, root),
            "style": shared / "data" / "style" / "style-images" / "candy.jpg"}


@pytest.mark.shared
@pytest.mark.parametrize("case", list(CASES))
def test_task_trains_and_loads(case: str, data: dict[str, Path], tmp_path: Path, zoo_manager) -> None:
    task, layout, options = CASES[case]
    options = {**COMMON, **options}
    if task == "style-transfer":
        options["style_image"] = str(data["style"])
    threads = torch.get_num_threads()
    try:
        trainer = prepare(task, data[layout], overrides=options, out=tmp_path / "run")
        trainer.setup()
        before = {k: v.clone() for k, v in trainer.models[trainer.export_model].state_dict().items()}
        result = finish(trainer, trainer.fit())
    finally:
        torch.set_num_threads(threads)
    assert result["step"] == 3
    rows = list(csv.DictReader((tmp_path / "run" / "train_log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    loss_keys = [k for k in rows[0] if k not in ("step", "epoch", "lr", "seconds")]
    assert loss_keys and all(math.isfinite(float(r[k])) for r in rows for k in loss_keys if r[k])
    if trainer.adversarial:
        assert "diversity_ratio" in rows[0]
    after = trainer.models[trainer.export_model].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].dtype.is_floating_point)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ckpt["step"] == 3 and set(ckpt["models"]) == set(trainer.models)
    assert list((tmp_path / "run" / "samples").glob("*.png"))
    names = register_run(tmp_path / "run")
    pipe = zoo.load(names[0], device="cpu")
    for k, v in pipe.model.state_dict().items():
        assert torch.equal(v, after[k].cpu()), k
    image = np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    out = pipe(image)
    scale = pipe.entry.processing.scale
    assert out.shape == (24 * scale, 20 * scale, 3) and out.dtype == np.uint8


@pytest.mark.shared
def test_run_folder_is_a_plugin_dir(data: dict[str, Path], tmp_path: Path, monkeypatch) -> None:
    """ZOO_PLUGINS_DIR=RUN makes the trained entry visible to a fresh zoo (zoo run / bench / export use it)."""
    from zoo.registry.manager import ZooPluginManager, use_manager

    task, layout, options = CASES["espcn"]
    threads = torch.get_num_threads()
    try:
        zoo.training.train(task, data[layout], overrides={**COMMON, **options, "steps": 1, "name": "tiny-espcn"},
                           out=tmp_path / "run")
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("ZOO_PLUGINS_DIR", str(tmp_path / "run"))
    with use_manager(ZooPluginManager()):
        entry = zoo.get_entry("tiny-espcn")
        assert entry.task == "super-resolution-luma" and entry.architecture == "espcn"
        assert zoo.load("tiny-espcn", device="cpu")(np.zeros((8, 8, 3), np.uint8)).shape == (24, 24, 3)
