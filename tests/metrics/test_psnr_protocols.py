"""Named PSNR/SSIM protocols (``--protocol sr-y --scale 4``): the SR papers' crop and channel by name, the same
in Python (``zoo.metrics.psnr``), the folder API and ``zoo metric``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from zoo.metrics import compute, psnr, ssim


@pytest.fixture
def folders(tmp_path):
    rng = np.random.default_rng(0)
    a, b = tmp_path / "sr", tmp_path / "hr"
    a.mkdir()
    b.mkdir()
    images = {}
    for name in ("x", "y"):
        hr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        sr = np.clip(hr.astype(int) + rng.integers(-20, 21, hr.shape), 0, 255).astype(np.uint8)
        sr[:4] = 0  # damage in the border: a crop of 4 removes it
        Image.fromarray(sr).save(a / f"{name}.png")
        Image.fromarray(hr).save(b / f"{name}.png")
        images[name] = (sr, hr)
    return a, b, images


def test_a_protocol_names_the_crop_and_channel(folders):
    _, _, images = folders
    sr, hr = images["x"]
    assert psnr(sr, hr, protocol="sr-y", scale=4) == psnr(sr, hr, crop_border=4, test_y_channel=True)
    assert ssim(sr, hr, protocol="sr-rgb", scale=3) == ssim(sr, hr, crop_border=3)
    assert psnr(sr, hr, protocol="plain") == psnr(sr, hr) != psnr(sr, hr, protocol="sr-rgb", scale=4)


@pytest.mark.parametrize("metric", ["psnr", "ssim"])
def test_the_cli_and_python_agree(folders, metric, capsys):
    from zoo.cli import main

    a, b, images = folders
    assert main(["metric", metric, str(a), str(b), "--protocol", "sr-y", "--scale", "4", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    fn = {"psnr": psnr, "ssim": ssim}[metric]
    expected = np.mean([fn(sr, hr, protocol="sr-y", scale=4) for sr, hr in images.values()])
    assert cli["value"] == pytest.approx(expected, rel=1e-12)
    assert (cli["protocol"], cli["scale"], cli["crop_border"], cli["y_channel"]) == ("sr-y", 4, 4, True)
    assert compute(metric, a, b, protocol="sr-y", scale=4).value == cli["value"]


@pytest.mark.parametrize("argv, message", [
    (["--protocol", "sr-y"], "protocol sr-y needs the SR scale (an integer >= 1), got None"),
    (["--scale", "4"], "scale=4 needs a protocol (sr-y or sr-rgb) to say what it crops"),
    (["--protocol", "sr-y", "--scale", "4", "--crop-border", "2"], "crop_border=2 contradicts protocol sr-y at scale 4"),
    (["--protocol", "sr-rgb", "--scale", "2", "--y-channel"], "y_channel=True contradicts protocol sr-rgb at scale 2"),
])
def test_contradictions_are_one_line_errors(folders, argv, message, capsys):
    from zoo.cli import main

    a, b, _ = folders
    assert main(["metric", "psnr", str(a), str(b), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo metric psnr: error: {message}") and err.count("\n") == 1


def test_the_cli_lists_the_library_protocols():
    from zoo.cli.metric import PROTOCOLS
    from zoo.metrics.psnr_ssim import PROTOCOLS as LIBRARY

    assert PROTOCOLS == tuple(LIBRARY)
