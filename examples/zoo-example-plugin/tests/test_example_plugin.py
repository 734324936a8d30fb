"""Tests of zoo-example, written as a plugin author would: the zoo's conformance check, then behaviour.

Run them after installing the plugin (``pip install -e .``, then ``pytest``). The zoo's fixtures (``zoo_manager``)
give each test an empty ``$ZOO_HOME``: resolvers that write into the cache never touch the user's.
"""

from __future__ import annotations

import numpy as np

import zoo
from zoo.testing import check_plugin


def test_conformance(zoo_manager):
    report = check_plugin(zoo_manager, "example")
    assert report["architecture"] == ["unsharp_mask_net"]
    assert report["loss"] == ["total_variation"]
    assert report["weight_format"] == ["unsharp-json"]
    assert report["weight_source"] == ["unsharp"]
    assert sorted(report["dataset"]) == ["example-blurred", "example-own-photos"]
    assert report["entry"] == ["example-unsharp-mask", "example-unsharp-mask-strong"]
    assert not report.notes  # every entry's weights are reachable offline, so each was loaded and run


def test_flat_images_stay_flat_and_edges_get_sharper(zoo_manager):
    flat = np.full((8, 10, 3), 100, np.uint8)
    edge = np.zeros((8, 10, 3), np.uint8)
    edge[:, 5:] = 200
    for name in ("example-unsharp-mask", "example-unsharp-mask-strong"):
        model = zoo.load(name, device="cpu", offline=True)
        assert (model(flat) == 100).all()
        out = model(edge).astype(int)
        assert out[:, 4].max() == 0 and out[:, 5].min() > 200  # overshoot on both sides of the edge


def test_relative_weights_path_resolves_beside_the_catalog(zoo_manager):
    entry = zoo.get_entry("example-unsharp-mask-strong")
    assert entry.weights[0].uri.endswith("zoo_example/weights/strong.json")
    assert zoo.load(entry.name, device="cpu").weights.origin == "local"
