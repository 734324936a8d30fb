"""Issue 17: a third-party entry trains as safely as a built-in one. A plugin (``range_plugin``) with entries whose
networks read and write [0, 255] (EDSR's official range; [0, 1] for style, whose default is [0, 255]) trains with
every task: the network is fed in the entry's range, what the trainer validated is what ``zoo run`` gives, and the
SR models beat bicubic on the test image. Losses are registered functions or classes alike, and checked once."""

from __future__ import annotations

import json

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import range_plugin
import tiny_data
import zoo
from zoo.cli import main
from zoo.images.files import bundled_image
from zoo.metrics import psnr
from zoo.training import TrainingError, build_loss, finish, prepare, register_run

QUIET = {"progress": False, "threads": 1, "checkpoint_every": 1000, "sample_every": 0, "log_every": 50}


@pytest.fixture
def plugin(register_plugin, tmp_path: Path) -> range_plugin.RangePlugin:
    obj = range_plugin.RangePlugin(range_plugin.write_catalog(tmp_path))
    register_plugin(obj, name=range_plugin.NAME)
    range_plugin.SEEN.clear()
    return obj


@pytest.fixture(scope="module")
def data(tmp_path_factory, shared_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("range-data")
    val = root / "val"
    val.mkdir()
    Image.open(bundled_image("astronaut_hr.png")).save(val / "astronaut.png")
    return {"sr": tiny_data.sr_folder(shared_dir, root, n=8, size=96), "val": val,
            "paired": tiny_data.paired_folder(shared_dir, root), "unpaired": tiny_data.unpaired_folder(shared_dir, root),
            "photos": tiny_data.photo_folder(shared_dir, root),
            "style": shared_dir / "data" / "style" / "style-images" / "candy.jpg"}


def synthetic_images(folder: Path, n: int = 3, size: int = 48) -> Path:
    """Smooth random RGB images (no shared data needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        Image.fromarray(small).resize((size, size), Image.BICUBIC).save(folder / f"{i}.png")
    return folder


def _train(entry: str, data: Path, out: Path, **options):
    trainer = prepare(entry, data, overrides={**QUIET, **options}, out=out, from_scratch=True)
    return trainer, finish(trainer, trainer.fit())


def _seen() -> tuple[float, float]:
    values = [v for runs in range_plugin.SEEN.values() for v in runs]
    return min(v[0] for v in values), max(v[1] for v in values)


def _psnr_y(image: np.ndarray, hr: np.ndarray, scale: int) -> float:
    return psnr(image.astype(np.float64), hr.astype(np.float64), crop_border=scale, test_y_channel=True)


@pytest.mark.shared
@pytest.mark.parametrize("entry", ["range255-sr-x2", "range255-luma-x2", "range255-vdsr"])
def test_sr_entry_in_0_255_trains_runs_as_validated_and_beats_bicubic(entry, plugin, data, tmp_path) -> None:
    from zoo_sr.imresize import imresize

    trainer, result = _train(entry, data["sr"], tmp_path / "run", steps=100, batch_size=8, patch_size=48, lr=1e-3,
                             pixel_loss="range_charbonnier", val_data=str(data["val"]))
    low, high = _seen()
    assert low >= 0 and high > 2, f"the network was fed {low}..{high}, not the entry's [0, 255]"
    written = yaml.safe_load((tmp_path / "run" / "catalog.yaml").read_text())["entries"][0]
    assert written["processing"]["value_range"] == [0.0, 255.0]
    pipe = zoo.load(register_run(tmp_path / "run")[0], device="cpu")
    hr = np.asarray(Image.open(data["val"] / "astronaut.png").convert("RGB"))
    out = pipe(imresize(hr, 0.5))
    bicubic = np.clip(np.round(imresize(imresize(hr, 0.5).astype(np.float64), 2.0)), 0, 255).astype(np.uint8)
    ours = _psnr_y(out, hr, 2)
    assert abs(ours - result["val"]["psnr_y"]) < 0.1, "zoo run does not give what the trainer validated"
    assert ours > _psnr_y(bicubic, hr, 2) + 0.3, (ours, _psnr_y(bicubic, hr, 2))


@pytest.mark.shared
@pytest.mark.parametrize("entry, layout, options, expected", [
    ("range255-pix2pix", "paired", {"load_size": 36, "crop_size": 32, "discriminator_kwargs": {"ndf": 8},
                                    "batch_size": 2}, (0, 255)),
    ("range255-cyclegan", "unpaired", {"load_size": 36, "crop_size": 32, "discriminator_kwargs": {"ndf": 8},
                                       "pool_size": 2}, (0, 255)),
    ("range01-style", "photos", {"image_size": 32, "style_size": 32, "vgg_weights": None, "batch_size": 2}, (0, 1)),
])
def test_translation_and_style_entries_are_fed_their_range_and_run_as_trained(entry, layout, options, expected,
                                                                            plugin, data, tmp_path) -> None:
    if entry == "range01-style":
        options = {**options, "style_image": str(data["style"])}
    trainer, _ = _train(entry, data[layout], tmp_path / "run", steps=4, **options)
    low, high = _seen()  # CycleGAN feeds G_B the unclamped output of G_A: a little beyond the range is fine
    slack = 0.05 * (expected[1] - expected[0])
    assert expected[0] - slack <= low and high <= expected[1] + slack and high > expected[1] / 2, (low, high)
    pipe = zoo.load(register_run(tmp_path / "run")[0], device="cpu")
    batch = trainer.sample_batch()
    with torch.no_grad():
        for model in trainer.models.values():
            model.eval()
        rows = trainer.sample_rows(batch)
    got = pipe(rows[0][0].cpu())
    assert got.shape == rows[1][0].shape
    assert (got - rows[1][0].cpu().clamp(0, 1)).abs().max() <= 1.5 / 255, "zoo run differs from what was trained"
    assert 0.05 < float(got.mean()) < 0.95 and float(got.std()) > 0.02  # an image, not a black or flat one


def test_an_entry_out_of_the_trainers_convention_is_refused_in_one_line(plugin, tmp_path, capsys) -> None:
    photos = synthetic_images(tmp_path / "photos")
    code = main(["train", "range255-colorization", "--from-scratch", "--data", str(photos), "--out",
                 str(tmp_path / "r"), "steps=1", "progress=false"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("zoo train: error: entry 'range255-colorization'") and err.count("\n") == 1
    assert "value_range [0.0, 255.0]" in err and "[-1.0, 1.0] only" in err
    assert not (tmp_path / "r").exists()


SR_SMALL = ["kwargs={num_feat: 8, num_block: 1}", "scale=2", "patch_size=16", "batch_size=2", "progress=false",
            "threads=1", "steps=2"]


def test_a_loss_registered_as_a_function_trains(plugin, tmp_path, capsys) -> None:
    data = synthetic_images(tmp_path / "hr")
    code = main(["train", "super-resolution", "--data", str(data), "--out", str(tmp_path / "r"),
                 "pixel_loss=range_charbonnier", *SR_SMALL])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "r" / "model.safetensors").is_file()
    loss = build_loss("range_charbonnier", eps=0.5)
    assert float(loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))) == pytest.approx(0.5)


def test_a_loss_returning_one_value_per_image_stops_training_in_one_line(plugin, tmp_path, capsys) -> None:
    data = synthetic_images(tmp_path / "hr")
    code = main(["train", "super-resolution", "--data", str(data), "--out", str(tmp_path / "r"),
                 "pixel_loss=range_per_image_l1", *SR_SMALL])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("zoo train: error: loss 'range_per_image_l1' (plugin 'range-plugin') returned a tensor of "
                          "shape [2]")
    record = json.loads((tmp_path / "r" / "run.json").read_text())  # the run says it failed, not "running"
    assert record["status"] == "failed" and "returned a tensor of shape [2]" in record["history"][-1]["error"]
    assert "zoo train: failed at step 0: " in (tmp_path / "r" / "train.log").read_text()
    assert main(["runs", "show", str(tmp_path / "r")]) == 0
    assert "failed at step 0" in capsys.readouterr().out


def test_unknown_loss_names_the_option(plugin, tmp_path, capsys) -> None:
    data = synthetic_images(tmp_path / "hr")
    code = main(["train", "super-resolution", "--data", str(data), "--out", str(tmp_path / "r"),
                 "pixel_loss=range_charbonier", *SR_SMALL])
    err = capsys.readouterr().err
    assert code == 2 and "option 'pixel_loss': no loss named 'range_charbonier'" in err


class _NaNLoss(torch.nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (pred - target).abs().mean() * float("nan")


def _detached(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).abs().mean().detach()


def _raises(pred: torch.Tensor) -> torch.Tensor:
    return pred.mean()


@pytest.mark.parametrize("factory, message", [
    (_NaNLoss, "returned nan on finite inputs at its first call"),
    (_detached, "returned a value that gradients cannot flow through"),
    (_raises, "failed at its first call: TypeError"),
])
def test_losses_are_checked_once_at_their_first_call(factory, message, register_plugin) -> None:
    class Losses:
        @zoo.hookimpl
        def zoo_register_losses(self, register):
            register(zoo.Loss(name="checked_loss", factory=factory))

    register_plugin(Losses(), name="loss-plugin")
    loss = build_loss("checked_loss")
    pred = torch.rand(2, 3, 4, 4, requires_grad=True)
    with pytest.raises(TrainingError, match=f"loss 'checked_loss' \\(plugin 'loss-plugin'\\) {message}"):
        loss(pred, torch.rand(2, 3, 4, 4))
    if factory is _NaNLoss:  # checked once: later calls are the loop's business (its non-finite stop)
        assert torch.isnan(loss(pred, torch.rand(2, 3, 4, 4)))


def test_an_entry_whose_scale_disagrees_with_its_network_fails_before_the_run(register_plugin, tmp_path,
                                                                             capsys) -> None:
    """`scale: 3` on an x2 network: named at the start (as `zoo run` names it), not as a loss shape error."""
    catalog = tmp_path / "range_catalog.yaml"
    wrong = {"name": "range255-sr-x3", "task": "super-resolution",
             "architecture": {"name": "range_edsr", "kwargs": {"scale": 2, "num_feat": 8, "num_block": 1}},
             "processing": {"value_range": [0, 255], "scale": 3}}
    catalog.write_text(yaml.safe_dump({"entries": [wrong]}, sort_keys=False), encoding="utf-8")
    register_plugin(range_plugin.RangePlugin(catalog), name=range_plugin.NAME)
    data = synthetic_images(tmp_path / "hr")
    code = main(["train", "range255-sr-x3", "--from-scratch", "--data", str(data), "--out", str(tmp_path / "r"),
                 "patch_size=24", "batch_size=2", "progress=false", "threads=1", "steps=1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert ("range_edsr gives 16x16 for a 8x8 input, but the run trains x3 (entry 'range255-sr-x3''s "
            "processing.scale)") in err
    assert not (tmp_path / "r").exists()
