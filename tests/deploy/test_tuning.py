"""zoo.load(fast=...): budgets, the measured choice, the tuning.json cache (keys, corruption, concurrency).

Nothing here depends on timing: choices are driven by a fake clock that each setting's runner advances.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import OptionError
from zoo.inference import calibration, tuning
from zoo.inference.settings import (BASELINE, DEFAULT_BUDGET, Budget, FastSetting, Measurement, candidate_settings,
                                    parse_budget)
from zoo.inference.tuning import Tuning, read_tunings, size_class, store_tuning

torch.set_num_threads(2)
REPO = Path(__file__).resolve().parents[2]
NAME = "realesr-animevideov3"


def _weights(tmp_path, seed: int = 0) -> Path:
    from zoo_sr.archs import SRVGGNetCompact

    torch.manual_seed(seed)
    path = tmp_path / f"compact{seed}.pth"
    torch.save({"params": SRVGGNetCompact(num_feat=8, num_conv=2).state_dict()}, path)
    return path


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: each setting's runner advances it by ``cost[name]`` per call (missing: 10)."""
    state = {"now": 0.0, "calls": 0}
    cost: dict[str, float] = {}
    real_build = calibration.build_runner

    def build(network, entry, setting, device):
        run = real_build(network, entry, setting, device)

        def timed(x):
            state["now"] += cost.get(setting.name, 10.0)
            state["calls"] += 1
            return run(x)

        return timed

    monkeypatch.setattr(calibration, "build_runner", build)
    state["cost"] = cost
    state["timer"] = lambda: state["now"]
    return state


def _load(weights, clock, **kw):
    return zoo.load(NAME, weights=weights, infer_architecture=True, fast_size=32, progress=False, **kw)


@pytest.fixture(autouse=True)
def _fake_timer_in_loads(monkeypatch, request):
    """zoo.load passes no timer: route its calibrations through the fake clock when a test uses one."""
    if "clock" in request.fixturenames:
        state = request.getfixturevalue("clock")
        real = tuning.measure_network
        monkeypatch.setattr(tuning, "measure_network", lambda *a, **k: real(*a, **{**k, "timer": state["timer"]}))


# -- budgets --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (True, DEFAULT_BUDGET), ("default", DEFAULT_BUDGET), ("psnr>=40", Budget(40.0, 8.0)),
    ("max_grey<=1", Budget(45.0, 1.0)), ("psnr>=40, max_grey<=4", Budget(40.0, 4.0)),
    ("max_grey=none", Budget(45.0, None)), ({"max_grey": 1}, Budget(45.0, 1.0)), ({"psnr": 50}, Budget(50.0, 8.0)),
])
def test_budgets_are_read_from_true_strings_and_dicts(value, expected):
    assert parse_budget(value) == expected
    assert parse_budget(False) is None and parse_budget(None) is None


@pytest.mark.parametrize("value, message", [
    ("psnr<=40", "points the wrong way; write psnr>=N"), ("speed>=2", "cannot read 'speed>=2'"),
    ({"psnr_db": 40}, "unknown key 'psnr_db'"), ("max_grey<=-1", "max_grey must be a number >= 0"),
    ("psnr>=zero", "psnr must be a number > 0"), (3.5, "fast must be fast=True, a budget"),
    ("psnr>=40,psnr>=50", "psnr is given twice; give each limit once"),
])
def test_bad_budgets_fail_in_one_line(value, message):
    with pytest.raises(OptionError, match=message):
        parse_budget(value)


def test_budget_allows_identical_and_rejects_non_finite():
    assert DEFAULT_BUDGET.allows(None, 0.0) and DEFAULT_BUDGET.allows(45.0, 8.0)
    assert not DEFAULT_BUDGET.allows(44.9, 1.0) and not DEFAULT_BUDGET.allows(50.0, 8.5)
    assert not DEFAULT_BUDGET.allows(float("nan"), 1.0) and not DEFAULT_BUDGET.allows(50.0, float("nan"))


def test_candidates_depend_on_the_device_and_mode():
    cpu = [s.name for s in candidate_settings("cpu", thorough=True)]
    assert cpu[0] == "fp32" and {"bf16", "channels_last", "compile", "onnxruntime"} <= set(cpu) and "fp16" not in cpu
    cuda = [s.name for s in candidate_settings("cuda", thorough=True)]
    assert {"fp16", "fp16+channels_last", "fp16+cudagraphs"} <= set(cuda) and "onnxruntime" not in cuda
    quick = candidate_settings("cpu")
    assert not any(s.costly for s in quick) and all(s.backend == "eager" for s in quick)
    assert all(s.backend == "eager" for s in candidate_settings("cpu", thorough=True, eager_only=True))
    assert [size_class(s) for s in (10, 48, 100, 300, 400, 5000)] == [32, 64, 128, 256, 512, 2048]


# -- the choice -----------------------------------------------------------------------------------------------------
def test_fast_false_is_plain_fp32_and_writes_no_cache(tmp_path):
    model = zoo.load(NAME, weights=_weights(tmp_path), infer_architecture=True)
    assert model.dtype == torch.float32 and "fast" not in model.metadata
    assert type(model.model).__name__ == "SRVGGNetCompact"
    assert not tuning.tuning_path().exists()


def test_fast_load_measures_chooses_the_fastest_within_budget_then_reuses_the_cache(tmp_path, clock, monkeypatch):
    clock["cost"].update({"fp32": 10, "channels_last": 8, "bf16": 2, "bf16+channels_last": 4})
    weights = _weights(tmp_path)
    model = _load(weights, clock, fast=True)
    meta = model.metadata["fast"]
    assert meta["setting"] == "bf16" and model.dtype == torch.bfloat16
    assert meta["speedup"] == pytest.approx(5.0) and meta["psnr_db"] > 30 and 0 < meta["max_grey"] <= 8
    assert meta["budget"] == "psnr>=45, max_grey<=8" and meta["size"] == 32 and meta["cached"] is False
    assert meta["tried"] == ["fp32", "channels_last", "bf16", "bf16+channels_last"]
    record = json.loads(tuning.tuning_path().read_text())
    assert record["format"] == "zoo-tuning" and len(record["records"]) == 1
    # later loads (any budget) reuse the measurements: no calibration
    monkeypatch.setattr(calibration, "calibrate", lambda *a, **k: pytest.fail("calibrated again"))
    strict = _load(weights, clock, fast={"max_grey": 0.01})
    assert strict.metadata["fast"]["setting"] == "channels_last" and strict.metadata["fast"]["cached"] is True
    assert strict.dtype == torch.float32 and strict.metadata["backend"] == "eager"
    image = torch.rand(3, 20, 24)
    plain = zoo.load(NAME, weights=weights, infer_architecture=True)
    assert torch.allclose(strict(image), plain(image), atol=1e-4)  # channels_last: same numbers


def test_a_failing_or_over_budget_setting_is_never_chosen(tmp_path, clock):
    clock["cost"].update({"fp32": 10, "channels_last": 6, "bf16": 1, "broken": 0.1, "crashes": 0.1})
    real_build = calibration.build_runner

    def build(network, entry, setting, device):
        run = real_build(network, entry, setting, device)
        if setting.name == "crashes":
            def crash(x):
                raise RuntimeError("kernel exploded")
            return crash
        return run

    settings = [BASELINE, FastSetting("channels_last", options=(("channels_last", True),)), FastSetting("bf16", "bf16"),
                FastSetting("broken", backend="no-such-backend"), FastSetting("crashes")]
    network = zoo.load(NAME, weights=_weights(tmp_path), infer_architecture=True).model
    entry = zoo.get_entry(NAME)
    calibration.build_runner = build
    try:
        result = tuning.measure_network(network, entry, device="cpu", size=32, settings=settings, progress=False,
                                        timer=clock["timer"])
    finally:
        calibration.build_runner = real_build
    rows = {m.setting.name: m for m in result.results}
    assert rows["broken"].status.startswith("error: BackendError: unknown backend 'no-such-backend'")
    assert rows["crashes"].status == "error: RuntimeError: kernel exploded" and not rows["crashes"].ok
    assert rows["bf16"].ok and rows["bf16"].speedup == pytest.approx(10.0)
    assert result.choose(Budget(min_psnr=100.0, max_grey=None)).setting.name == "channels_last"  # bf16 is over
    assert result.choose(DEFAULT_BUDGET).setting.name == "bf16"
    assert result.choose(Budget(min_psnr=None, max_grey=0.0)).setting.name in ("channels_last", "fp32")


def test_a_setting_barely_faster_than_fp32_does_not_replace_it():
    results = [Measurement(BASELINE, speedup=1.0, max_grey=0.0),
               Measurement(FastSetting("bf16", "bf16"), speedup=1.02, psnr_db=50.0, max_grey=2.0)]
    assert Tuning("k", {}, 64, results).choose(DEFAULT_BUDGET).setting == BASELINE


def test_fast_conflicts_with_explicit_dtype_or_backend(tmp_path):
    with pytest.raises(OptionError, match="fast= chooses the dtype and backend itself"):
        zoo.load(NAME, pretrained=False, fast=True, dtype="bf16")
    with pytest.raises(OptionError, match="fast_size must be a positive number"):
        zoo.load(NAME, pretrained=False, fast=True, fast_size=0)
    with pytest.raises(OptionError, match="points the wrong way"):
        zoo.load(NAME, pretrained=False, fast="psnr<=3")


# -- the cache file ---------------------------------------------------------------------------------------------------
def test_the_key_changes_with_the_weights_and_the_torch_version(tmp_path, clock, monkeypatch):
    _load(_weights(tmp_path, 0), clock, fast=True)
    _load(_weights(tmp_path, 1), clock, fast=True)
    assert len(read_tunings()) == 2
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    calls = clock["calls"]
    meta = _load(_weights(tmp_path, 0), clock, fast=True).metadata["fast"]
    assert clock["calls"] > calls and meta["cached"] is False  # measured again for the new torch
    keys = sorted(read_tunings())
    assert len(keys) == 3 and sum("torch 9.9.9" in k for k in keys) == 1
    assert len({k.split("|")[1] for k in keys}) == 2  # two weights digests
    monkeypatch.setattr(tuning, "cpu_flags", lambda: "another-cpu")  # e.g. the same files on a CPU without AMX
    assert _load(_weights(tmp_path, 0), clock, fast=True).metadata["fast"]["cached"] is False
    assert len(read_tunings()) == 4


def test_a_mode_that_needs_eager_never_gets_another_backend(tmp_path, clock):
    clock["cost"].update({"fp32": 10, "channels_last": 5, "onnxruntime": 1})
    weights = _weights(tmp_path)
    tuning.tune(NAME, weights=weights, infer_architecture=True, size=32, settings=["channels_last", "onnxruntime"],
                progress=False)
    network = zoo.load(NAME, weights=weights, infer_architecture=True).model
    entry = zoo.get_entry(NAME)
    assert tuning.fast_setting(network, entry, DEFAULT_BUDGET, size=32, progress=False)[0].name == "onnxruntime"
    setting, meta = tuning.fast_setting(network, entry, DEFAULT_BUDGET, size=32, progress=False, eager_only=True)
    assert setting.name == meta["setting"] == "channels_last" and meta["cached"] is True


@pytest.mark.parametrize("content, warning", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": "zoo-tuning", "version": 0, "records": {}}), "stale format version 0"),
    (json.dumps(["a", "list"]), "not a zoo-tuning file"),
])
def test_a_corrupt_or_stale_file_is_ignored_with_a_warning_and_rewritten(tmp_path, clock, content, warning):
    path = tuning.tuning_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    with pytest.warns(RuntimeWarning, match=warning):
        model = _load(_weights(tmp_path), clock, fast=True)
    assert model.metadata["fast"]["cached"] is False
    data = json.loads(path.read_text())
    assert data["version"] == tuning.FORMAT_VERSION and len(data["records"]) == 1
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".partial")]


def test_a_malformed_record_is_dropped_and_the_others_kept(tmp_path):
    good = Tuning("good", {"device": "cpu"}, 64, [Measurement(BASELINE, speedup=1.0, max_grey=0.0)])
    path = store_tuning(good)
    data = json.loads(path.read_text())
    data["records"]["bad"] = {"fields": {}, "side": 64, "results": [{"setting": {"name": 3}}]}
    path.write_text(json.dumps(data))
    with pytest.warns(RuntimeWarning, match="record 'bad' is malformed"):
        assert list(read_tunings()) == ["good"]


def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    store_tuning(Tuning("first", {}, 64, [Measurement(BASELINE, speedup=1.0, max_grey=0.0)]))
    before = tuning.tuning_path().read_text()
    with monkeypatch.context() as patched, pytest.raises(OSError, match="disk full"):
        patched.setattr(Path, "write_text", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
        store_tuning(Tuning("second", {}, 64, [Measurement(BASELINE, speedup=1.0, max_grey=0.0)]))
    assert tuning.tuning_path().read_text() == before
    assert not [p for p in tuning.tuning_path().parent.iterdir() if p.name.endswith(".partial")]


WRITER = """
import sys
from zoo.inference.settings import BASELINE, Measurement
from zoo.inference.tuning import Tuning, store_tuning
for i in range(25):
    store_tuning(Tuning(f"{sys.argv[1]}-{i}", {"device": "cpu"}, 64, [Measurement(BASELINE, speedup=1.0, max_grey=0.0)]))
"""


def test_two_processes_tuning_at_once_leave_one_valid_file_with_both_records(tmp_path):
    env = {**__import__("os").environ, "PYTHONPATH": f"{REPO}{__import__('os').pathsep}{REPO / 'plugins'}"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, name], env=env, stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    records = read_tunings()
    assert len(records) == 50 and {k.split("-")[0] for k in records} == {"a", "b"}


# -- zoo tune / zoo run --fast ---------------------------------------------------------------------------------------------
def test_zoo_tune_prints_every_setting_and_the_choice(tmp_path, clock, capsys):
    from zoo.cli import main

    clock["cost"].update({"fp32": 10, "onnxruntime": 5})
    weights = str(_weights(tmp_path))
    code = main(["tune", NAME, "--weights", weights, "--infer-architecture", "--size", "32", "--rounds", "2",
                 "--settings", "channels_last,onnxruntime", "--budget", "max_grey<=1", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{NAME} at 32 px on cpu") and "budget psnr>=45, max_grey<=1" in lines[0]
    assert lines[1].split() == ["setting", "ms/call", "spread", "speedup", "PSNR", "dB", "max", "grey", "prepare", "s",
                                "status"]
    assert lines[4].startswith("* onnxruntime") and "2.00x" in lines[4]
    assert "chosen: onnxruntime (2.00x over fp32 eager" in out
    record = next(iter(read_tunings().values()))
    assert record.thorough and [m.setting.name for m in record.results] == ["fp32", "channels_last", "onnxruntime"]
    # a load afterwards takes what zoo tune measured, onnxruntime included
    model = _load(weights, clock, fast="max_grey<=1")
    assert model.metadata["fast"]["setting"] == "onnxruntime" and model.metadata["backend"] == "onnxruntime"
    assert main(["tune", NAME, "--settings", "tensorrt", "--no-pretrained"]) == 2
    assert "unknown setting(s) tensorrt" in capsys.readouterr().err


def test_zoo_run_fast_prints_the_choice_in_its_summary(tmp_path, clock, capsys):
    import numpy as np
    from PIL import Image

    from zoo.cli import main

    clock["cost"].update({"fp32": 10, "bf16+channels_last": 3})
    Image.fromarray(np.full((30, 20, 3), 90, np.uint8)).save(tmp_path / "a.png")
    weights = str(_weights(tmp_path))
    code = main(["run", NAME, str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--weights", weights,
                 "--infer-architecture", "--fast", "--report", str(tmp_path / "r.json")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "fast: bf16+channels_last (3.33x over fp32 eager" in captured.out and "measured at 32 px" in captured.out
    assert "zoo: measuring 4 settings" in captured.err
    assert json.loads((tmp_path / "r.json").read_text())["fast"]["setting"] == "bf16+channels_last"
    assert Image.open(tmp_path / "out" / "a_out.png").size == (80, 120)
    assert main(["run", NAME, str(tmp_path / "a.png"), "-o", str(tmp_path / "o2"), "--fast", "--dtype", "bf16",
                 "--no-pretrained"]) == 2
    assert "--fast chooses the dtype and backend itself" in capsys.readouterr().err
