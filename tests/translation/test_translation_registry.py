"""The translation section of registry.yaml: all 23 official models, their sources and processing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zoo.registry.catalog import read_catalog_file
from zoo.testing import check_plugin

REGISTRY = Path(__file__).resolve().parents[2] / "registry.yaml"

CYCLEGAN = ["horse2zebra", "zebra2horse", "apple2orange", "orange2apple", "summer2winter_yosemite",
            "winter2summer_yosemite", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh",
            "sat2map", "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label",
            "facades_label2photo", "iphone2dslr_flower"]
PIX2PIX = ["edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"]
EXPECTED = {**{f"cyclegan-{n.replace('_', '-')}": ("cyclegan", n) for n in CYCLEGAN},
            **{f"pix2pix-{n.replace('_', '-')}": ("pix2pix", n) for n in PIX2PIX}}
URLS = {"cyclegan": "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth",
        "pix2pix": "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"}


@pytest.fixture(scope="module")
def entries():
    found = {e.name: e for e in read_catalog_file(REGISTRY) if e.name.startswith(("cyclegan-", "pix2pix-"))}
    return found


def section_text() -> str:
    text = REGISTRY.read_text()
    start = text.index("# ---- translation")
    return text[start:text.index("# ---- end translation ----")]


def test_all_official_models_and_nothing_else(entries):
    assert sorted(entries) == sorted(EXPECTED)
    assert sum(n.startswith("cyclegan-") for n in entries) == 18
    assert sum(n.startswith("pix2pix-") for n in entries) == 5
    section = section_text()
    assert all(f"name: {name}\n" in section for name in EXPECTED)  # they live in the translation section


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_entry_fields(entries, name):
    family, upstream = EXPECTED[name]
    entry = entries[name]
    (spec,) = entry.weights
    assert spec.uri == URLS[family].format(upstream)
    assert spec.file_name == f"{upstream}.pth" and spec.format == "junyanz" and spec.sha256 is None
    assert spec.license == entry.license == "BSD-2-Clause"
    proc = entry.processing
    assert proc.value_range == (-1.0, 1.0) and proc.out_range == (-1.0, 1.0)
    assert proc.quantize == "truncate" and proc.scale == 1 and proc.channels == 3
    assert proc.domains["input"] and proc.domains["output"] and proc.domains["input"] != proc.domains["output"]
    assert proc.options["direction"] in ("AtoB", "BtoA")
    assert entry.paper["url"].startswith("https://arxiv.org/abs/") and entry.dataset
    for metric in entry.metrics:
        assert {"metric", "value", "dataset", "protocol", "source"} <= set(metric), metric
    if family == "cyclegan":
        assert entry.task == "unpaired-translation" and entry.architecture == "resnet_generator"
        assert dict(entry.kwargs) == {"input_nc": 3, "output_nc": 3, "ngf": 64, "norm": "instance",
                                      "use_dropout": False, "n_blocks": 9, "padding_type": "reflect"}
        assert proc.size_multiple == 4
    else:
        assert entry.task == "paired-translation" and entry.architecture == "unet_generator"
        assert dict(entry.kwargs) == {"input_nc": 3, "output_nc": 3, "num_downs": 8, "ngf": 64, "norm": "batch",
                                      "use_dropout": True}
        assert proc.size_multiple == 2 ** entry.kwargs["num_downs"] == 256


def test_directions_that_upstream_documents(entries):
    assert entries["pix2pix-facades-label2photo"].processing.options["direction"] == "BtoA"  # README
    assert entries["pix2pix-day2night"].processing.options["direction"] == "BtoA"  # docs/datasets.md
    assert entries["pix2pix-sat2map"].processing.options["direction"] == "AtoB"  # maps: A = aerial


def test_published_metrics_are_attached(entries):
    fid = {n: [m["value"] for m in e.metrics if m["metric"] == "FID"] for n, e in entries.items()}
    assert 62.111 in fid["cyclegan-horse2zebra"] and 77.2 in fid["cyclegan-horse2zebra"]
    assert fid["pix2pix-facades-label2photo"] == [119.135] and fid["pix2pix-edges2shoes"] == [75.774]
    assert all("paper_test_mode" in m["protocol"] for m in entries["pix2pix-map2sat"].metrics)


def test_entries_build_the_reference_layouts(entries, junyanz_key_sections):
    by_title = {s.title.split(" (")[0]: s for s in junyanz_key_sections}
    from zoo_translation.networks import ResnetGenerator, UnetGenerator
    for name, section in (("cyclegan-horse2zebra", "resnet_9blocks instance"), ("pix2pix-edges2shoes", "unet_256 batch")):
        kwargs = dict(entries[name].kwargs)
        with torch.device("meta"):
            net = (ResnetGenerator if "resnet" in section else UnetGenerator)(**kwargs)
        assert [(k, tuple(v.shape)) for k, v in net.state_dict().items()] == by_title[section].keys


def test_translation_plugin_conformance(zoo_manager):
    report = check_plugin(zoo_manager, "translation")
    assert sorted(report["architecture"]) == ["nlayer_discriminator", "pixel_discriminator", "resnet_generator",
                                             "unet_generator"]
    assert sorted(report["task"]) == ["colorization", "paired-translation", "unpaired-translation"]
    assert report["weight_format"] == ["junyanz"]
    assert set(EXPECTED) <= set(report["entry"])
