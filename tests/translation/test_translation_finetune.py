"""Fine-tuning translation entries (issue 20): pix2pix trains the entry's direction whatever the pair files are
called; CycleGAN's G_B can start from a file; runs keep pix2pix's paper mode; an orphan pair file is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import save_file

import zoo
from zoo.registry import components
from zoo.training import TrainingError, finish, prepare, register_run
from zoo.training.data import AlignedDataset

LABELS, PHOTO = (0, 0, 255), (255, 0, 0)  # a label map is blue, a photo red: rows of a grid say which is which
TINY = {"load_size": 36, "crop_size": 32, "generator_kwargs": {"num_downs": 5, "ngf": 8},
        "discriminator_kwargs": {"ndf": 8}, "steps": 2, "log_every": 1, "checkpoint_every": 2, "progress": False,
        "threads": 1, "sample_every": 0}


def _entry(tmp_path: Path) -> str:
    """A pix2pix entry like pix2pix-facades-label2photo (domains, upstream direction BtoA), with tiny local weights."""
    torch.manual_seed(0)
    unet = components("architecture").get("unet_generator").load("factory")
    kwargs = {"input_nc": 3, "output_nc": 3, "num_downs": 5, "ngf": 8, "norm": "batch", "use_dropout": True}
    save_file(unet(**kwargs).state_dict(), str(tmp_path / "tiny-p2p.safetensors"))
    entry = {"name": "tiny-facades-label2photo", "task": "paired-translation", "recipe": "pix2pix",
             "architecture": {"name": "unet_generator", "kwargs": kwargs},
             "weights": [{"path": "tiny-p2p.safetensors"}],
             "processing": {"value_range": [-1, 1], "size_multiple": 32, "quantize": "truncate",
                            "domains": {"input": "facade label map", "output": "facade photo"},
                            "options": {"tileable": False, "direction": "BtoA",
                                        "modes": {"paper": "zoo_translation.modes:paper_test_mode"}}}}
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump({"entries": [entry]}))
    return register_run(tmp_path / "catalog.yaml")[0]


def _pairs(root: Path, label_name: str, photo_name: str, n: int = 2) -> Path:
    """n pairs as two files per stem: N-<label_name>.png (a label map) and N-<photo_name>.png (a photo)."""
    root.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (40, 40), LABELS).save(root / f"{i}-{label_name}.png")
        Image.new("RGB", (40, 40), PHOTO).save(root / f"{i}-{photo_name}.png")
    return root


def _colour(t: torch.Tensor) -> tuple[int, ...]:
    """The mean colour of (3, H, W) or (N, 3, H, W) images in [0, 1], as 8-bit RGB."""
    return tuple(int(round(float(v) * 255)) for v in t.reshape(-1, 3, *t.shape[-2:]).mean(dim=(0, 2, 3)))


@pytest.mark.parametrize("label_name, photo_name", [("labels", "photo"), ("labelmap", "facadephoto")])
def test_pix2pix_trains_the_entrys_direction_whatever_the_file_names(
        tmp_path: Path, zoo_manager, capsys, label_name: str, photo_name: str) -> None:
    """labels < photo (A = labels) and facadephoto < labelmap (A = photo): both train label map -> photo."""
    name = _entry(tmp_path)
    data = _pairs(tmp_path / "pairs", label_name, photo_name)
    trainer = prepare(name, data, overrides=TINY, out=tmp_path / "run")
    trainer.setup()
    item = trainer.dataset[0]
    assert _colour(item["A"]) == LABELS and _colour(item["B"]) == PHOTO
    finish(trainer, trainer.fit())
    out = capsys.readouterr().out
    assert f"training facade label map -> facade photo (input: *-{label_name}, target: *-{photo_name}" in out
    rows = trainer.sample_rows(trainer.sample_batch())
    assert _colour(rows[0]) == LABELS and _colour(rows[2]) == PHOTO
    assert trainer.sample_captions()[0] == "input (facade label map)"
    catalog = yaml.safe_load((tmp_path / "run" / "catalog.yaml").read_text())["entries"][0]
    assert catalog["processing"]["domains"] == {"input": "facade label map", "output": "facade photo"}
    index = yaml.safe_load((tmp_path / "run" / "samples" / "index.json").read_text())
    assert index["grids"][-1]["captions"][0] == "input (facade label map)"


def test_upstream_layout_follows_the_entrys_direction(tmp_path: Path, zoo_manager) -> None:
    """A/ + B/ folders are upstream's facades (A photo, B labels): the entry's BtoA makes labels the input."""
    name = _entry(tmp_path)
    for side, colour in (("A", PHOTO), ("B", LABELS)):
        (tmp_path / "ab" / side).mkdir(parents=True)
        Image.new("RGB", (40, 40), colour).save(tmp_path / "ab" / side / "1.png")
    trainer = prepare(name, tmp_path / "ab", overrides=TINY, out=tmp_path / "run")
    trainer.setup()
    assert _colour(trainer.dataset[0]["A"]) == LABELS


def test_ambiguous_pair_names_ask_for_direction(tmp_path: Path, zoo_manager) -> None:
    name = _entry(tmp_path)
    data = _pairs(tmp_path / "pairs", "left", "right")
    trainer = prepare(name, data, overrides=TINY, out=tmp_path / "run")
    with pytest.raises(TrainingError, match=r"cannot tell which of \*-left and \*-right is the input .*direction=AtoB"):
        trainer.setup()
    assert not (tmp_path / "run").exists()
    trainer = prepare(name, data, overrides={**TINY, "direction": "BtoA"}, out=tmp_path / "run")
    trainer.setup()
    assert _colour(trainer.dataset[0]["A"]) == PHOTO  # "right" files are the input, as asked


def test_orphan_pair_file_is_named(tmp_path: Path) -> None:
    data = _pairs(tmp_path / "pairs", "labels", "photo")
    Image.new("RGB", (40, 40), LABELS).save(data / "7-labels.png")
    with pytest.raises(TrainingError, match=r"7-labels.png has no \*-photo partner"):
        AlignedDataset(data)


def test_trained_pix2pix_keeps_the_paper_mode(tmp_path: Path, zoo_manager) -> None:
    data = _pairs(tmp_path / "pairs", "labels", "photo")
    result = zoo.training.train("paired-translation", data, overrides={**TINY, "name": "tiny-p2p-run"},
                                out=tmp_path / "run")
    register_run(result["out"])
    image = np.full((32, 32, 3), 128, np.uint8)
    pipe = zoo.load("tiny-p2p-run", device="cpu", mode="paper")
    assert pipe(image).shape == (32, 32, 3)


def test_cyclegan_g_b_starts_from_given_weights(tmp_path: Path, zoo_manager) -> None:
    torch.manual_seed(1)
    resnet = components("architecture").get("resnet_generator").load("factory")
    kwargs = {"input_nc": 3, "output_nc": 3, "ngf": 4, "norm": "instance", "n_blocks": 1}
    save_file(resnet(**kwargs).state_dict(), str(tmp_path / "g_a.safetensors"))
    b_state = {k: v + 0.5 for k, v in resnet(**kwargs).state_dict().items()}
    save_file(b_state, str(tmp_path / "g_b.safetensors"))
    entry = {"name": "tiny-h2z", "task": "unpaired-translation", "recipe": "cyclegan",
             "architecture": {"name": "resnet_generator", "kwargs": kwargs}, "weights": [{"path": "g_a.safetensors"}],
             "processing": {"value_range": [-1, 1], "size_multiple": 4,
                            "domains": {"input": "horse", "output": "zebra"}}}
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump({"entries": [entry]}))
    register_run(tmp_path / "catalog.yaml")
    for side in ("trainA", "trainB"):
        (tmp_path / "hz" / side).mkdir(parents=True)
        Image.new("RGB", (40, 40)).save(tmp_path / "hz" / side / "1.png")
    options = {"load_size": 36, "crop_size": 32, "discriminator_kwargs": {"ndf": 4}, "steps": 1, "progress": False}
    trainer = prepare("tiny-h2z", tmp_path / "hz", out=tmp_path / "run",
                      overrides={**options, "weights_B": str(tmp_path / "g_b.safetensors")})
    trainer.setup()
    for key, value in trainer.models["G_B"].state_dict().items():
        assert torch.equal(value, b_state[key]), key
    with pytest.raises(TrainingError, match="option 'weights_B': .* is not a file"):
        prepare("tiny-h2z", tmp_path / "hz", overrides={**options, "weights_B": str(tmp_path / "nope.pth")},
                out=tmp_path / "run2")
