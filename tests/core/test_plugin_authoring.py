"""What plugin authors test with (issue 17): fixtures that keep the user's $ZOO_HOME out, conformance as one pytest
item per component and entry, a CLI runner, and synthetic checkpoints in a weight format's upstream layout."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
import torch

import zoo
from zoo.testing import check_plugin, synthetic_checkpoint, write_checkpoint, write_dist_info

pytest_plugins = ["pytester"]

DEMO = '''
"""authoring-demo: a good architecture, a loss that forgets to reduce, a format whose adapter has a typo."""
import torch
from torch import nn

import zoo
from zoo.errors import WeightsUnavailableError

CATALOG = __file__.replace("authoring_demo.py", "authoring_demo.yaml")


class Net(nn.Module):
    def __init__(self, scale=2):
        super().__init__()
        self.body = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x):
        return self.shuffle(self.body(x))


def unreduced(prediction, target):
    return (prediction - target).abs().flatten(1).mean(1)


def layout(model):
    return {"state_dict": {f"module.{k}": tuple(v.shape) for k, v in model.state_dict().items()}, "epoch": 3}


def adapt(checkpoint, model):
    return {k.removeprefix("modul."): v for k, v in checkpoint["state_dict"].items()}


def remote(uri, context):
    raise WeightsUnavailableError(f"{uri} needs the network")


@zoo.hookimpl
def zoo_register_architectures(register):
    register(zoo.Architecture(name="demo_net", factory=Net, example_input=(1, 3, 8, 8)))


@zoo.hookimpl
def zoo_register_losses(register):
    register(zoo.Loss(name="demo_unreduced", factory=unreduced))


@zoo.hookimpl
def zoo_register_weight_formats(register):
    register(zoo.WeightFormat(name="demo-format", adapter=adapt, layout=layout))


@zoo.hookimpl
def zoo_register_weight_sources(register):
    register(zoo.WeightSource(scheme="demo-remote", resolver=remote))


@zoo.hookimpl
def zoo_register_tasks(register):
    register(zoo.Task(name="demo-sr"))


@zoo.hookimpl
def zoo_register_catalogs(register):
    register(CATALOG)
'''

DEMO_CATALOG = """
entries:
  - name: demo-x2
    task: demo-sr
    architecture: {name: demo_net, kwargs: {scale: 2}}
    weights: [{uri: "demo-remote://x2", format: demo-format}]
    processing: {scale: 2}
"""


@pytest.fixture
def demo_site(tmp_path: Path, monkeypatch) -> Iterator[Path]:
    """The demo plugin installed through an entry point (a dist-info on sys.path), as pip would leave it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "authoring_demo.py").write_text(DEMO)
    (site / "authoring_demo.yaml").write_text(DEMO_CATALOG)
    write_dist_info(site, "zoo-authoring-demo", {"authoring-demo": "authoring_demo"})
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("authoring_demo", None)  # each test imports its own copy (its catalog path is its own)
    yield site
    sys.modules.pop("authoring_demo", None)


def test_zoo_manager_keeps_the_users_zoo_home_out(pytester, tmp_path, monkeypatch) -> None:
    users = tmp_path / "users-zoo-home"
    monkeypatch.setenv("ZOO_HOME", str(users))
    pytester.makeconftest('pytest_plugins = ["zoo.testing"]')
    pytester.makepyfile(textwrap.dedent('''
        import os
        from zoo.files import zoo_home

        def test_manager(zoo_manager):
            (zoo_home() / "weights").mkdir(parents=True)  # what a resolver or a download does

        def test_empty_manager(empty_zoo_manager, zoo_home):
            assert os.environ["ZOO_HOME"] == str(zoo_home)
            (zoo_home / "data").mkdir()
    '''))
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert not users.exists()


def test_conformance_runs_as_one_item_per_component_and_entry(pytester, demo_site) -> None:
    pytester.makeconftest('pytest_plugins = ["zoo.testing"]')
    pytester.makepyfile(test_zoo_items_demo=textwrap.dedent('''
        ZOO_PLUGINS = ["authoring-demo"]

        def test_conformance(zoo_conformance_case, zoo_manager):
            zoo_conformance_case.check(zoo_manager)
    '''))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=5, failed=2)
    out = result.stdout.str()
    for item in ("loading:authoring-demo", "architecture:demo_net", "weight_format:demo-format",
                 "weight_source:demo-remote", "task:demo-sr"):
        assert f"PASSED test_zoo_items_demo.py::test_conformance[authoring-demo:{item}]" in out
    assert "FAILED test_zoo_items_demo.py::test_conformance[authoring-demo:loss:demo_unreduced]" in out
    assert "loss 'demo_unreduced': expected a scalar tensor, got Tensor of shape (2,)" in out
    # the real weights are not reachable here: the adapter is still checked, on a synthetic file in its layout
    assert "FAILED test_zoo_items_demo.py::test_conformance[authoring-demo:entry:demo-x2]" in out
    assert "weight format 'demo-format': a synthetic checkpoint in its layout does not fit after the adapter: " \
           "2 missing: body.weight, body.bias; 2 unexpected: module.body.weight, module.body.bias" in out


def test_zoo_plugin_option_names_the_plugin(pytester, demo_site) -> None:
    pytester.makeconftest('pytest_plugins = ["zoo.testing"]')
    pytester.makepyfile(test_zoo_items_any=textwrap.dedent('''
        def test_conformance(zoo_conformance_case, zoo_manager):
            zoo_conformance_case.check(zoo_manager)
    '''))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--zoo-plugin", "authoring-demo")
    result.assert_outcomes(passed=5, failed=2)
    usage = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert "name the plugin with pytest --zoo-plugin NAME" in usage.stdout.str() + usage.stderr.str()


def test_a_disabled_plugin_is_one_failing_item_with_its_reason(pytester, demo_site) -> None:
    (demo_site / "authoring_demo.yaml").write_text(DEMO_CATALOG.replace("    task: demo-sr\n", ""))
    pytester.makeconftest('pytest_plugins = ["zoo.testing"]')
    pytester.makepyfile(test_zoo_items_demo="ZOO_PLUGINS = ['authoring-demo']\n\n"
                                  "def test_conformance(zoo_conformance_case, zoo_manager):\n"
                                  "    zoo_conformance_case.check(zoo_manager)\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "ignore::UserWarning")
    result.assert_outcomes(failed=1)
    assert "the plugin failed and is disabled: catalog" in result.stdout.str()


def test_zoo_cli_runs_the_command_with_an_isolated_home(pytester, demo_site, tmp_path, monkeypatch) -> None:
    users = tmp_path / "users-zoo-home"
    monkeypatch.setenv("ZOO_HOME", str(users))
    pythonpath = os.pathsep.join([str(demo_site), os.environ.get("PYTHONPATH", "")])
    pytester.makeconftest('pytest_plugins = ["zoo.testing"]')
    pytester.makepyfile(textwrap.dedent(f'''
        def test_cli(zoo_cli, zoo_home):
            result = zoo_cli("plugins", env={{"PYTHONPATH": {pythonpath!r}}})
            assert result.code == 0, result.err
            assert "authoring-demo" in result.out and "zoo-authoring-demo" in result.out
            bad = zoo_cli("plugins", "check", "authoring-demo", "--no-pretrained", env={{"PYTHONPATH": {pythonpath!r}}})
            assert bad.code == 1 and "loss 'demo_unreduced'" in bad.err
            usage = zoo_cli("run")
            assert usage.code == 2 and usage.err.startswith("zoo run: error:")
    '''))
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert not users.exists()


def test_synthetic_checkpoint_in_a_formats_upstream_layout(demo_site, zoo_manager, tmp_path) -> None:
    from authoring_demo import Net

    net = Net()
    checkpoint = synthetic_checkpoint("demo-format", net, seed=1)
    assert checkpoint["epoch"] == 3 and sorted(checkpoint["state_dict"]) == ["module.body.bias", "module.body.weight"]
    assert checkpoint["state_dict"]["module.body.weight"].shape == (12, 3, 3, 3)
    again = synthetic_checkpoint("demo-format", net, seed=1)["state_dict"]["module.body.weight"]
    assert torch.equal(again, checkpoint["state_dict"]["module.body.weight"])  # seeded
    path = write_checkpoint(tmp_path / "upstream.pth", "demo-format", net)
    assert torch.load(path, weights_only=True)["state_dict"].keys() == checkpoint["state_dict"].keys()
    with pytest.raises(zoo.ZooError, match="weight format 'state_dict'|no weight_format named 'state_dict'"):
        synthetic_checkpoint("state_dict", net)


def test_the_same_plugin_fixed_passes_though_its_weights_are_not_here(demo_site, zoo_home) -> None:
    from zoo.registry.manager import ZooPluginManager, use_manager

    fixed = DEMO.replace('removeprefix("modul.")', 'removeprefix("module.")').replace(".flatten(1).mean(1)", ".mean()")
    (demo_site / "authoring_demo.py").write_text(fixed)
    with use_manager(ZooPluginManager()) as manager:
        report = check_plugin(manager, "authoring-demo")
    assert report["entry"] == ["demo-x2"] and any("not reachable offline" in n for n in report.notes)
