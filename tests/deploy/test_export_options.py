"""``zoo export`` (and ``zoo run --report``) refuse bad options and output paths in one line, exit 2, before any work.

The weights loader is replaced by one that fails the test, so "before any work" is checked, not assumed; the
opset tests export a tiny network, so they stay fast.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from zoo.cli import main
from zoo.export import ExportError, export_network

from test_export import _tiny

MODEL = "realesr-animevideov3"


@pytest.fixture
def no_loading(monkeypatch):
    """Reading the weights (the first real work of an export) fails the test."""
    import zoo.export.model as model_module

    def refuse(*args, **kwargs):
        raise AssertionError("the weights were read before the options were checked")

    monkeypatch.setattr(model_module, "pretrained_network", refuse)


def _export(capfd, *argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``zoo export MODEL ARGV`` in this process (argparse errors exit)."""
    try:
        code = main(["export", MODEL, *argv])
    except SystemExit as exc:
        code = exc.code
    out = capfd.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("size", ["abc", "-16", "0", "16x", "x16", "16x0", "1.5"])
def test_a_bad_sample_size_is_an_argument_error(tmp_path, capfd, no_loading, size):
    code, _, err = _export(capfd, "--format", "onnx", f"--sample-size={size}", "-o", str(tmp_path / "e.onnx"))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("zoo export: error: argument --sample-size: expected H or HxW positive integers")
    assert f"got {size!r}" in err and list(tmp_path.iterdir()) == []


def test_sample_size_is_checked_by_the_python_api_too(tmp_path, no_loading):
    from zoo.errors import OptionError
    from zoo.export import export_model

    for size in [(0, 16), (-16, -16), (16,), (16.5, 16), "16x16"]:
        with pytest.raises(OptionError, match="sample_size: expected"):
            export_model(MODEL, tmp_path / "e.onnx", sample_size=size)


def test_an_existing_output_needs_overwrite(tmp_path, capfd, no_loading):
    target = tmp_path / "existing.onnx"
    target.write_bytes(b"keep me")
    code, _, err = _export(capfd, "-o", str(target))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"zoo export: error: -o {target} already exists; pass --overwrite")
    assert target.read_bytes() == b"keep me"


def test_overwrite_replaces_an_existing_output(tmp_path, capfd, monkeypatch):
    import zoo.export.model as model_module

    entry, net = _tiny(MODEL)
    monkeypatch.setattr(model_module, "pretrained_network",
                        lambda *a, **k: SimpleNamespace(network=net, entry=entry, weights=None))
    target = tmp_path / "existing.onnx"
    target.write_bytes(b"old")
    code, out, err = _export(capfd, "--sample-size", "16", "--overwrite", "-o", str(target))
    assert code == 0 and "verified at 16x16" in out, err
    assert target.read_bytes() != b"old" and target.stat().st_size > 100


def test_an_output_below_a_file_is_refused_before_exporting(tmp_path, capfd, no_loading, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes")
    code, _, err = _export(capfd, "--format", "onnx", "-o", "notes.txt/x.onnx")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("zoo export: error: -o notes.txt/x.onnx: notes.txt is a file, not a folder")
    code, _, err = _export(capfd, "-o", "notes.txt/deeper/x.onnx")
    assert code == 2 and "notes.txt is a file, not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("opset", ["3", "6", "21"])
def test_opsets_no_exporter_writes_are_refused_before_loading(tmp_path, capfd, no_loading, opset):
    code, _, err = _export(capfd, "--opset", opset, "-o", str(tmp_path / "e.onnx"))
    assert code == 2 and err.strip() == f"zoo export: error: opset must be from 7 to 20 for ONNX export (default 18), got {opset}"


def test_an_opset_too_low_for_the_network_is_one_line(tmp_path, capfd, monkeypatch):
    """Opset 7 has no Resize for the upsampling: one line naming the operator and the default opset, no graph dump."""
    import zoo.export.model as model_module

    entry, net = _tiny(MODEL)
    monkeypatch.setattr(model_module, "pretrained_network",
                        lambda *a, **k: SimpleNamespace(network=net, entry=entry, weights=None))
    code, out, err = _export(capfd, "--format", "onnx", "--opset", "7", "-o", str(tmp_path / "e1.onnx"))
    assert code == 2 and out == "" and err.count("\n") == 1, (out[-2000:], err)
    assert err.startswith(f"zoo export: error: opset 7 is too low for '{MODEL}': an operator it uses "
                          "(upsample_nearest2d) needs a newer opset")
    assert "the default opset 18 works" in err and "pull request" not in err and "Torch IR graph" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_python_api_says_the_same_for_a_too_low_opset(tmp_path, capfd):
    entry, net = _tiny("style-transfer-udnie")  # its padding needs opset 11
    with pytest.raises(ExportError, match=r"opset 10 is too low for 'style-transfer-udnie': an operator it uses "
                                          r"\(Pad\) needs a newer opset .*; the default opset 18 works"):
        export_network(net, entry, tmp_path / "u.onnx", opset=10, dynamic=True, sample_size=(32, 32))
    assert "Torch IR graph" not in capfd.readouterr().out and list(tmp_path.iterdir()) == []
    assert export_network(net, entry, tmp_path / "u.onnx", opset=11, dynamic=True, sample_size=(32, 32)).opset == 11


def test_zoo_run_checks_the_report_folder_before_loading(tmp_path, capfd, monkeypatch):
    """--report below a regular file failed with FileExistsError after every image was processed."""
    import zoo.cli.run as run_module
    from PIL import Image

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before --report was checked")

    monkeypatch.setattr(run_module, "load", refuse)
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (16, 12), (90, 40, 10)).save(tmp_path / "in.png")
    (tmp_path / "notes.txt").write_text("my notes")
    code = main(["run", MODEL, "in.png", "-o", "out", "--no-pretrained", "--report", "notes.txt/r.json"])
    err = capfd.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("zoo run: error: --report notes.txt/r.json: notes.txt is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "notes.txt"]


torch.set_num_threads(2)
