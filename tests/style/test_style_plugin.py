"""The zoo_style plugin: cheap to import, registers what the catalog uses, passes the conformance check."""

from __future__ import annotations

import subprocess
import sys

from zoo.testing import check_plugin


def test_import_does_not_load_torch():
    code = "import sys, zoo_style; assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_registrations_and_conformance(zoo_manager):
    report = check_plugin(zoo_manager, "style")
    assert set(report["architecture"]) == {"transformer_net", "engstrom_style_net"}
    assert report["task"] == ["style-transfer"]
    assert set(report["weight_format"]) == {"fast-neural-style", "ml5-style-transfer"}
    assert {"ml5+https", "ml5+file"} <= set(report["weight_source"])
    names = set(report["entry"])
    assert {f"fast-neural-style-{s}" for s in ("candy", "mosaic", "rain-princess", "udnie")} <= names
    ml5 = {n for n in names if n.startswith("style-transfer-")}
    assert len(ml5) == 9 and "style-transfer-wave" in ml5


def test_catalog_points_at_the_real_sources(zoo_manager):
    catalog = zoo_manager.catalog
    candy = catalog.get("fast-neural-style-rain-princess").weights[0]
    assert candy.uri == "https://www.dropbox.com/s/lrvwfehqdcxoza8/saved_models.zip?dl=1"
    assert candy.member == "saved_models/rain_princess.pth" and candy.format == "fast-neural-style"
    wave = catalog.get("style-transfer-wave")
    assert wave.weights[0].uri == ("ml5+https://raw.githubusercontent.com/ml5js/ml5-data-and-models/main/"
                                   "models/style-transfer/wave/manifest.json")
    assert wave.processing.value_range == (0.0, 255.0) and wave.processing.quantize == "truncate"
    assert catalog.get("fast-neural-style-udnie").processing.size_multiple == 4
