"""Discovery (zoo plugins -v, zoo components, Python accessors), catalog messages and schema, CLI hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo.registry.catalog import parse_entry, read_catalog_file
from zoo.cli import main
from zoo.errors import CatalogError, ComponentArgumentsError, UnknownNameError

REPO = Path(__file__).resolve().parents[2]


def test_plugins_verbose_lists_what_each_plugin_registered_by_kind(zoo_manager, capsys):
    assert main(["plugins", "-v"]) == 0
    out = capsys.readouterr().out
    sr = out[out.index("sr (zoo"):out.index("\nstyle (zoo")]
    assert "[built-in]: ok" in sr
    assert "msrresnet, rrdbnet, srvgg_net_compact" in sr and "weight_source: pypi-ncnn" in sr
    assert "catalog entries (46)" in out and "catalog file:" in out
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["translation"]["components"]["loss"] == ["cycle_consistency", "cycle_identity", "junyanz_gan",
                                                         "junyanz_gradient_penalty"]
    assert rows["zoo"]["builtin"] and rows["zoo"]["status"] == "ok" and len(rows["zoo"]["entries"]) >= 46


def test_components_command_and_python_accessors(zoo_manager, capsys):
    assert main(["components", "loss"]) == 0
    out = capsys.readouterr().out
    assert "junyanz_gan" in out and "translation" in out and "rrdbnet" not in out
    assert main(["components", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["plugin"] for r in rows if r["kind"] == "architecture" and r["name"] == "rrdbnet"] == ["sr"]
    assert {row["kind"] for row in rows} >= {"architecture", "loss", "task", "weight_format", "weight_source"}
    assert {"cycle_consistency", "cycle_identity", "junyanz_gan", "junyanz_gradient_penalty", "gan", "l1"} <= set(
        zoo.list_components("loss"))
    assert set(zoo.list_components()) == set(zoo.registry.records.RECORD_KINDS)
    assert zoo.get_component("architecture", "rrdbnet").provider == "sr"
    net = zoo.get_architecture("rrdbnet", num_feat=8, num_block=1, num_grow_ch=4)
    assert type(net).__name__ == "RRDBNet"
    gan = zoo.get_loss("junyanz_gan", gan_mode="vanilla")
    assert gan.gan_mode == "vanilla"
    with pytest.raises(ComponentArgumentsError, match="loss 'junyanz_gan' rejected kwargs \\{'gan_mode': 'hinge'\\}"):
        zoo.get_loss("junyanz_gan", gan_mode="hinge")
    with pytest.raises(ComponentArgumentsError, match="architecture 'rrdbnet' rejected kwargs \\{'num_blocks': 2\\}"):
        zoo.get_architecture("rrdbnet", num_blocks=2)
    with pytest.raises(ComponentArgumentsError, match="loss 'junyanz_gradient_penalty' rejected kwargs"):
        zoo.get_loss("junyanz_gradient_penalty", lambda_gpp=1.0)
    with pytest.raises(UnknownNameError, match="no loss named 'l0'"):
        zoo.get_loss("l0")
    with pytest.raises(UnknownNameError, match="no component kind 'losses'"):
        zoo.list_components("losses")


@pytest.mark.parametrize("data,says", [
    ({"name": "x", "architecture": "rrdbnet"}, "entry 'x': missing required field 'task'"),
    ({"name": "x", "task": "super-resolution"}, "entry 'x': missing required field 'architecture'"),
    ({"name": "x", "task": None, "architecture": "rrdbnet"}, "entry 'x': missing required field 'task'"),
    ({"task": "super-resolution", "architecture": "rrdbnet"}, "entries\\[3\\]: missing required field 'name'"),
    ({"name": "x", "task": "t", "architecture": {"kwargs": {}}}, "missing required field 'architecture.name'"),
    ({"name": "x", "task": "t", "architecture": "a", "weights": [{"sha256": "0" * 64}]},
     "missing required field 'weights\\[0\\].url'"),
    ({"name": "x", "task": "t", "architecture": "a", "weights": [{"url": "a", "path": "b"}]},
     "field 'weights\\[0\\].path': give one of 'uri', 'url', 'path', 'file', not url and path"),
    ({"name": "x", "task": "t", "architecture": "a", "metrics": [{"value": 1}]}, "missing required field 'metrics\\[0\\].metric'"),
    ({"name": "x", "task": "t", "architecture": "a", "procesing": {}}, "'procesing': unknown field \\(did you mean 'processing'"),
])
def test_catalog_messages_name_missing_and_existing_fields(data, says):
    with pytest.raises(CatalogError, match=says) as info:
        parse_entry(data, "plugin_catalog.yaml", "p", index=3)
    assert "NoneType" not in str(info.value)


def test_relative_path_and_file_weights_resolve_beside_the_catalog(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "catalog.yaml").write_text(
        "entries:\n  - name: a\n    task: t\n    architecture: n\n    weights:\n"
        "      - path: weights/a.pth\n      - file: ../b.pth\n      - url: https://example.org/c.pth\n")
    (entry,) = read_catalog_file(folder / "catalog.yaml", "p")
    assert [w.uri for w in entry.weights] == [str(folder / "weights/a.pth"), str(folder / "../b.pth"),
                                             "https://example.org/c.pth"]
    assert [w.scheme for w in entry.weights] == ["file", "file", "https"]


def test_catalog_schema_documents_every_field_and_the_tasks(zoo_manager, capsys):
    assert main(["catalog", "schema"]) == 0
    out = capsys.readouterr().out
    for field in ("`task`: required", "`architecture`", "`sha256`", "`path`", "`member`", "`size_multiple`",
                  "`scale`", "`options`"):
        assert field in out
    assert "`super-resolution`" in out and "`unpaired-translation`" in out and "`style-transfer`" in out


def test_bad_architecture_kwargs_in_a_catalog_are_one_line_errors(tmp_path):
    (tmp_path / "badkw.py").write_text(
        "import zoo\nfrom pathlib import Path\n@zoo.hookimpl\ndef zoo_register_catalogs(register):\n"
        "    register(Path(__file__).with_name('badkw.yaml'))\n")
    (tmp_path / "badkw.yaml").write_text(
        "entries:\n  - name: badkw-net\n    task: unpaired-translation\n"
        "    architecture: {name: resnet_generator, kwargs: {input_nc: 3, output_nc: 3, n_block: 9}}\n")
    image = tmp_path / "in.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(image)
    env = {**os.environ, "ZOO_PLUGINS_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "zoo", "run", "badkw-net", str(image), "-o", str(tmp_path / "out"),
                             "--no-pretrained"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("zoo run: error: architecture 'resnet_generator' of entry 'badkw-net'")
    assert "n_block" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_zoo_list_into_a_closed_pipe_ends_quietly():
    """`zoo list | head -1`: the reader is gone before zoo writes (the whole listing would fit in the pipe)."""
    proc = subprocess.Popen([sys.executable, "-m", "zoo", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "BrokenPipeError" not in err and "Traceback" not in err and "Exception ignored" not in err, err
    assert proc.returncode == 141


@pytest.mark.parametrize("text,says", [
    ("entries:\n  - just-a-name\n", "entries\\[0\\]: expected an entry \\(a mapping with name, task, architecture\\), got str"),
    ("- name: x\n", "expected a mapping with an 'entries' list at the top level, got list"),
])
def test_catalog_shape_errors_name_the_place(tmp_path, text, says):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogError, match=says):
        read_catalog_file(path, "p")
