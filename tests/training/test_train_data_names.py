"""Issue 17.6 (and 15.4): a dataset record may point at a local folder, and `zoo train --data NAME` resolves a
registered dataset the way `zoo bench --data` does (ZOO_DATA, the cache, local folders, downloads)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import range_plugin
from test_entry_conventions import SR_SMALL, synthetic_images
from zoo.cli import main
from zoo.datasets import DatasetUnavailableError, resolve_dataset


def _trained_on(run: Path) -> str:
    return yaml.safe_load((run / "catalog.yaml").read_text())["entries"][0]["dataset"]


@pytest.fixture
def photos(register_plugin, tmp_path: Path) -> Path:
    folder = tmp_path / "my photos"  # a space: the file:// URL is quoted
    register_plugin(range_plugin.RangePlugin(range_plugin.write_catalog(tmp_path), data_folder=folder),
                    name=range_plugin.NAME)
    return folder


def test_a_local_folder_source_is_used_in_place(photos: Path) -> None:
    synthetic_images(photos)
    local = resolve_dataset("range-photos")
    assert local.root == photos and local.origin.startswith("local folder file://")
    assert [p.name for p in local.images()] == ["0.png", "1.png", "2.png"]


def test_a_missing_local_source_is_a_dataset_error_not_a_weights_one(photos: Path) -> None:
    with pytest.raises(DatasetUnavailableError) as info:
        resolve_dataset("range-photos")
    text = str(info.value)
    assert text.startswith("dataset 'range-photos' is not here: its local source") and str(photos) in text
    assert "weights" not in text


def test_train_data_by_registered_name(photos: Path, tmp_path: Path, capsys) -> None:
    synthetic_images(photos)
    code = main(["train", "super-resolution", "--data", "range-photos", "--out", str(tmp_path / "r"), *SR_SMALL])
    assert code == 0, capsys.readouterr().err
    assert _trained_on(tmp_path / "r") == str(photos)


def test_train_data_that_is_neither_a_folder_nor_a_name(photos: Path, tmp_path: Path, capsys) -> None:
    code = main(["train", "super-resolution", "--data", "range-fotos", "--out", str(tmp_path / "r"), *SR_SMALL])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--data range-fotos: no such folder, and no dataset named 'range-fotos' is registered" in err
    assert "range-photos" in err  # the known names
    assert not (tmp_path / "r").exists()


@pytest.mark.shared
def test_train_on_registered_benchmark_and_training_sets(shared_path, tmp_path: Path, monkeypatch, capsys) -> None:
    """`--data set5` (sr-pairs: the *_HR/*_LR pairs of the run's scale) and `--data t91` (a folder of images),
    found through ZOO_DATA as `zoo bench --data` finds them."""
    monkeypatch.setenv("ZOO_DATA", f"{shared_path('data/sr_bench')},{shared_path('data/sr_train')}")
    for name, expected in (("set5", "Set5/image_SRF_2"), ("t91", "T91")):
        out = tmp_path / name
        code = main(["train", "super-resolution", "--data", name, "--out", str(out), *SR_SMALL])
        assert code == 0, capsys.readouterr().err
        assert _trained_on(out).endswith(expected)
