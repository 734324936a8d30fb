"""``zoo bench`` settings and reports that cannot work fail in one line, exit 2, before any model runs.

Before, an unknown ``--backend`` or an onnxruntime setting in bf16 ran every model and recorded the same error in
each row (exit 0), ``--max-images 0`` failed per row, and ``--report-only`` on a report without its fields crashed
with a KeyError in the tables.
"""

from __future__ import annotations

import json

import pytest

from zoo.bench.suite import SuiteError, parse_suite

TINY = ["--size", "16", "--warmup", "1", "--iters", "1", "--rounds", "1", "--no-isolate"]


@pytest.fixture
def measured(monkeypatch):
    """The models that ran (none should)."""
    from zoo.bench import runner

    names: list[str] = []
    monkeypatch.setattr(runner, "measure_model", lambda job: names.append(job.name))
    return names


def _bench(bench, *argv: str) -> tuple[int, str, str]:
    try:
        return bench(*argv)
    except SystemExit as exc:  # argparse's own errors exit from the parser
        return exc.code, "", ""


@pytest.mark.parametrize("argv, message", [
    (["--backend", "foo"], "zoo bench: error: --backend: unknown backend 'foo' (known: eager, compile, onnxruntime)"),
    (["--backend", "onnxruntime", "--dtype", "bf16"],
     "zoo bench: error: setting 'bf16+backend=onnxruntime' (command line): the onnxruntime backend runs fp32 or fp16, "
     "got dtype bf16"),
    (["--compile", "--backend", "onnxruntime"],
     "zoo bench: error: --compile and --backend onnxruntime both say how the network runs; give one"),
])
def test_a_setting_that_cannot_run_fails_before_any_model(bench, measured, tmp_path, argv, message):
    out = tmp_path / "r"
    code, stdout, stderr = bench("tiny-bench-same", *TINY, *argv, "--out", str(out))
    assert code == 2 and stderr == message + "\n" and not stdout, stderr
    assert not measured and not out.exists()


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_max_images_must_be_positive(bench, measured, tmp_path, capsys, value):
    out = tmp_path / "r"
    code, _, _ = _bench(bench, "tiny-bench-same", *TINY, "--quality", "--max-images", value, "--out", str(out))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"zoo bench: error: argument --max-images: expected a positive integer, got '{value}'")
    assert not measured and not out.exists()


def test_a_suite_setting_with_an_unknown_backend_names_its_line(bench, measured, tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text("models: [tiny-bench-same]\nsettings:\n  - {dtype: bf16}\n  - {backend: foo}\n")
    code, _, stderr = bench("--suite", str(suite), *TINY, "--out", str(tmp_path / "r"))
    assert code == 2 and stderr == (f"zoo bench: error: {suite}:4: settings[1].backend: expected one of eager, compile, "
                                    "onnxruntime, got str 'foo'\n") and not measured


@pytest.mark.parametrize("device", ["cudax", "gpu", "cuda:", "cuda:x"])
def test_a_suite_device_string_is_checked(device):
    with pytest.raises(SuiteError, match=rf"s.yaml:1: device: expected auto, cpu or cuda\[:N\], got str '{device}'"):
        parse_suite(f"device: '{device}'\nmodels: [tiny-bench-same]\n", "s.yaml", catalog_names=["tiny-bench-same"])
    assert parse_suite("device: 'cuda:1'\nmodels: [m]\n", "s.yaml", catalog_names=["m"]).device == "cuda:1"


def test_an_onnxruntime_setting_on_cuda_is_refused():
    from zoo.bench.runner import check_settings

    suite = parse_suite("models: [m]\nsettings:\n  - {name: ort, backend: onnxruntime}\n", "s.yaml", catalog_names=["m"])
    check_settings(suite, "cpu")
    with pytest.raises(SuiteError, match=r"^setting 'ort' \(s.yaml\): the onnxruntime backend runs on the CPU here, "
                                         r"got device 'cuda:0' \(use --device cpu\)$"):
        check_settings(suite, "cuda:0")


@pytest.mark.parametrize("report, missing", [
    ({}, "missing machine, suite, status, speed"),
    ({"machine": {}, "suite": {}, "status": {"models": 1}, "speed": []}, "missing suite.name, status.measured"),
    ({"machine": {}, "suite": {"name": "s"}, "status": {"models": 1, "measured": 1}, "speed": {}},
     "speed: expected a list, got dict"),
    ({"machine": {}, "suite": {"name": "s"}, "status": {"models": 1, "measured": 1}, "speed": [{"status": "ok"}]},
     "speed[0]: missing model, setting"),
])
def test_report_only_on_an_incomplete_report_names_the_file_and_fields(bench, tmp_path, report, missing):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps({"kind": "zoo-bench-report", **report}))
    code, _, stderr = bench("--report-only", str(folder))
    assert code == 2 and stderr.startswith(f"zoo bench: error: {folder / 'report.json'}: {missing}"), stderr
    assert stderr.count("\n") == 1 and sorted(p.name for p in folder.iterdir()) == ["report.json"]
    code, _, stderr = bench("--report-only", str(tmp_path / "old"), "--baseline", str(folder))
    assert code == 2 and missing in stderr


def test_report_only_accepts_a_minimal_complete_report(bench, tmp_path):
    folder = tmp_path / "min"
    folder.mkdir()
    (folder / "report.json").write_text(json.dumps({"kind": "zoo-bench-report", "machine": {}, "suite": {"name": "s"},
                                                    "status": {"models": 0, "measured": 0}, "speed": []}))
    code, stdout, stderr = bench("--report-only", str(folder))
    assert code == 0 and "rebuilt" in stdout and (folder / "report.html").is_file(), stderr
