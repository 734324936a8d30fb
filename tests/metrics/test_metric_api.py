"""Folder-level API and CLI: FID equal to pytorch-fid's whole pipeline, cached reference statistics, streaming
inputs, paired metrics, availability and actionable errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from zoo.errors import ImageInputError, UnknownNameError
from zoo.metrics import FID, available, compute
from zoo.metrics.inception import InceptionFeatures
from zoo.metrics.reference import ReferenceStats, StatsMismatchError, stats_dir
from zoo.metrics.weights import FID_INCEPTION

FAST = dict(flavour="pytorch-fid", dims=64, device="cpu", workers=0)  # dims=64: only the stem of Inception runs


@pytest.fixture
def two_sets(tmp_path, make_images):
    return make_images(tmp_path / "fake", 70, seed=1), make_images(tmp_path / "real", 72, seed=2, tint=25)


def test_fid_equals_pytorch_fid_pipeline(two_sets, torch_home, inception_sd, inception_file):
    """Same files, same weights: pytorch_fid.fid_score end to end (PIL decode, ToTensor, resize, 2x-1, np.cov, sqrtm)."""
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    torch.save(inception_sd, torch_home / FID_INCEPTION.file_name)
    fake, real = two_sets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fid_score.calculate_fid_given_paths([str(fake), str(real)], batch_size=32, device="cpu", dims=64,
                                                       num_workers=0)
    result = compute("fid", fake, real, weights=inception_file, batch_size=16, **FAST)
    assert result.value == pytest.approx(expected, rel=1e-5)
    assert result.name == "fid-pytorch-fid" and result.details["flavour"] == "pytorch-fid"
    assert result.details["n_fake"] == 70 and result.details["n_real"] == 72
    assert result.details["weights_verified"] is False  # random weights are never mistaken for the real ones
    assert "note" not in result.details  # n > dims
    clean = compute("fid", fake, real, flavour="clean", dims=64, device="cpu", weights=inception_file)
    assert clean.details["flavour"] == "clean" and clean.value != pytest.approx(result.value, rel=1e-3)


def test_reference_statistics_cache(tmp_path, inception_file, monkeypatch, make_images):
    import zoo.metrics.api as api

    fake, real = make_images(tmp_path / "fake", 6, seed=1), make_images(tmp_path / "real", 7, seed=2, tint=25)
    calls = []
    original = api._feed_folder
    monkeypatch.setattr(api, "_feed_folder", lambda m, side, folder, **kw: calls.append(side) or original(
        m, side, folder, **kw))
    first = compute("fid", fake, real, reference_name="my set", weights=inception_file, **FAST)
    files = list(stats_dir().iterdir())
    sha8 = first.details["weights_sha256"][:8]
    assert [f.name for f in files] == [f"my-set_32x32_pytorch-fid_d64_{sha8}.npz"]  # no temp files left
    assert calls == ["real", "fake"]
    second = compute("fid", fake, real, reference_name="my set", weights=inception_file, **FAST)
    assert calls == ["real", "fake", "fake"] and second.value == first.value  # statistics reused
    make_images(real, 1, seed=9, names=["extra.png"])  # the folder changed: recomputed, not trusted
    third = compute("fid", fake, real, reference_name="my set", weights=inception_file, **FAST)
    assert calls[-2:] == ["real", "fake"] and third.details["n_real"] == 8

    saved = ReferenceStats.load(files[0])
    with np.load(files[0]) as data:  # the layout pytorch-fid reads
        assert data["mu"].shape == (64,) and data["sigma"].shape == (64, 64) and data["mu"].dtype == np.float64
    assert saved.count == 8 and saved.meta["flavour"] == "pytorch-fid"
    from_npz = compute("fid", fake, files[0], weights=inception_file, **FAST)
    assert from_npz.value == pytest.approx(third.value, rel=1e-12)
    with pytest.raises(StatsMismatchError, match="flavour"):
        compute("fid", fake, files[0], weights=inception_file, **{**FAST, "flavour": "clean"})


def test_streaming_inputs(inception_sd):
    extractor = InceptionFeatures("clean", dims=64, state_dict=inception_sd, device="cpu")
    g = torch.Generator().manual_seed(0)
    u8 = [torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8, generator=g) for _ in range(2)]
    by_u8, by_float = FID(extractor=extractor), FID(extractor=extractor)
    by_signed = FID(extractor=extractor, value_range=(-1, 1))
    for batch in u8:
        by_u8.update(fake=batch, real=batch.flip(-1))
        by_float.update(fake=batch.float() / 255, real=[im.float() / 255 for im in batch.flip(-1)])
        by_signed.update(fake=batch.float() / 127.5 - 1, real=batch.flip(-1).float() / 127.5 - 1)
    value = by_u8.compute().value
    assert by_float.compute().value == pytest.approx(value, rel=1e-9)
    assert by_signed.compute().value == pytest.approx(value, rel=1e-9)
    with pytest.raises(ImageInputError, match=r"\(0.0, 1.0\)"):
        by_u8.update(fake=u8[0].float() / 127.5 - 1)  # [-1, 1] data without saying so
    with pytest.raises(ValueError, match="fake=... and/or real="):
        by_u8.update()
    by_u8.reset()
    with pytest.raises(ValueError, match="at least 2"):
        by_u8.compute()


def test_fast_mode_reports_difference_from_reference(inception_sd):
    g = torch.Generator().manual_seed(1)
    fake, real = (torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=g) for _ in range(2))
    ref = FID(extractor=InceptionFeatures("clean", dims=192, state_dict=inception_sd, device="cpu"))
    fast = FID(extractor=InceptionFeatures("clean", dims=192, state_dict=inception_sd, device="cpu",
                                           precision="bf16"), compare_reference=True)
    for metric in (ref, fast):
        metric.update(fake=fake, real=real)
    expected, got = ref.compute(), fast.compute()
    assert got.details["precision"] == "bf16"
    assert got.details["fp32_reference_value"] == pytest.approx(expected.value, rel=1e-12)
    assert got.details["fast_minus_reference"] == pytest.approx(got.value - expected.value, abs=1e-12)
    assert got.details["fast_minus_reference"] != 0


def test_paired_metrics(tmp_path, make_images):
    from zoo.metrics.data import decode_rgb_uint8
    from zoo.metrics.lpips import LPIPS
    from zoo.metrics.psnr_ssim import psnr

    a = make_images(tmp_path / "a", 3, size=(40, 36), seed=1, names=["x.png", "y.png", "z.png"])
    b = make_images(tmp_path / "b", 3, size=(40, 36), seed=2, names=["x.jpg", "y.png", "z.bmp"])  # stems pair
    torch.manual_seed(0)
    import torchvision

    trunk = tmp_path / "alex.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), trunk)
    result = compute("lpips", a, b, backbone_weights=trunk, device="cpu", batch_size=2, workers=0)
    model = LPIPS("alex", input_range=(0, 1), backbone_weights=trunk)
    direct = [float(model(decode_rgb_uint8(a / f"{s}.png")[None] / 255,
                          decode_rgb_uint8(next(b.glob(f"{s}.*")))[None] / 255)) for s in "xyz"]
    assert result.value == pytest.approx(np.mean(direct), rel=1e-6)
    assert list(result.details["per_image"]) == ["x", "y", "z"] and result.details["backbone_verified"] is False
    assert len(result.details["per_layer_mean"]) == 5
    assert sum(result.details["per_layer_mean"]) == pytest.approx(result.value, rel=1e-6)
    assert compute("lpips-alex", a, b, backbone_weights=trunk, device="cpu").value == pytest.approx(result.value)

    p = compute("psnr", a, b, crop_border=2)
    expected = np.mean([psnr(decode_rgb_uint8(a / f"{s}.png").numpy(), decode_rgb_uint8(next(b.glob(f"{s}.*"))).numpy(),
                             crop_border=2, input_order="CHW") for s in "xyz"])
    assert p.value == pytest.approx(expected, rel=1e-12) and p.details["n"] == 3
    assert 0 < compute("ssim", a, b, test_y_channel=True).value < 1

    (b / "y.png").unlink()
    make_images(b, 1, size=(40, 36), names=["w.png"])
    with pytest.raises(ImageInputError, match=r"only in the first: \['y'\]; only in the second: \['w'\]"):
        compute("psnr", a, b)
    (b / "w.png").unlink()
    make_images(b, 1, size=(20, 36), names=["y.png"])
    with pytest.raises(ImageInputError, match="differ in size"):
        compute("ssim", a, b)


def test_availability_and_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert available("psnr") == (True, "needs no weights")
    ok, why = available("lpips-vgg")
    assert not ok and "vgg16-397923af.pth" in why and "https://download.pytorch.org/models/vgg16-397923af.pth" in why
    ok, why = available("lpips", net="squeeze")
    assert not ok and "squeezenet1_1-b8a52dc0.pth" in why
    with pytest.raises(UnknownNameError, match="unknown metric 'is'"):
        available("is")
    with pytest.raises(ImageInputError, match="does not exist"):
        compute("psnr", tmp_path / "nope", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageInputError, match="no images"):
        compute("fid", tmp_path / "empty", tmp_path / "empty", device="cpu")


def test_cli(tmp_path, make_images, inception_file, capsys, monkeypatch):
    from zoo.cli import main

    a = make_images(tmp_path / "a", 4, seed=1)
    b = make_images(tmp_path / "b", 5, seed=2)
    assert main(["metric", "available", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["psnr"]["available"] is True and table["fid"]["available"] is False
    assert FID_INCEPTION.url in table["fid"]["reason"]

    args = ["--weights", str(inception_file), "--dims", "64", "--flavour", "pytorch-fid", "--device", "cpu"]
    assert main(["metric", "fid", str(a), str(b), *args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metric"] == "fid-pytorch-fid" and out["n_fake"] == 4 and "note" in out  # n <= dims is flagged
    stats = tmp_path / "b.npz"
    assert main(["metric", "fid-stats", str(b), "-o", str(stats), *args]) == 0
    assert "5 images" in capsys.readouterr().out
    assert main(["metric", "fid", str(a), str(stats), *args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == pytest.approx(out["value"], rel=1e-12)
    assert main(["metric", "kid", str(a), str(b), *args, "--subsets", "3"]) == 0
    assert "subset_size=4" in capsys.readouterr().out

    assert main(["metric", "psnr", str(a), str(b), "--per-image"]) == 2  # different names: no pairs
    assert "cannot pair" in capsys.readouterr().err
    assert main(["metric", "fid-stats", str(b), *args]) == 2
    assert "-o FILE" in capsys.readouterr().err
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert main(["metric", "fid", str(a), str(b), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert FID_INCEPTION.file_name in err and FID_INCEPTION.url in err
