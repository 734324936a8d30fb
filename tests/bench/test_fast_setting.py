"""``zoo bench``'s ``fast`` setting: whatever ``zoo.load(fast=...)`` / ``zoo tune`` chose, beside the other settings."""

from __future__ import annotations

import pytest

from bench_helpers import read
from zoo.bench.suite import SuiteError, parse_suite

NAMES = ["tiny-bench-same", "tiny-bench-x2"]


def test_a_suite_names_the_fast_setting_with_its_budget():
    suite = parse_suite("models: [tiny-bench-same]\nsettings:\n  - {name: bf16, dtype: bf16}\n  - {fast: true}\n"
                        "  - {name: strict, fast: 'max_grey<=1'}\n", "s.yaml", catalog_names=NAMES)
    assert [(s.name, s.fast) for s in suite.settings] == [
        ("bf16", None), ("fast", "psnr>=45, max_grey<=8"), ("strict", "psnr>=45, max_grey<=1")]


@pytest.mark.parametrize("setting, message", [
    ("{fast: true, dtype: bf16}", "s.yaml:3: settings[0].fast: chooses dtype, memory format and backend itself; drop dtype"),
    ("{fast: 'psnr<=3'}", "s.yaml:3: settings[0].fast: fast budget 'psnr<=3': 'psnr<=3' points the wrong way"),
])
def test_a_bad_fast_setting_names_the_line(setting, message):
    with pytest.raises(SuiteError) as info:
        parse_suite(f"models: [tiny-bench-same]\nsettings:\n  - {setting}\n", "s.yaml", catalog_names=NAMES)
    assert str(info.value).startswith(message)


def test_bench_fast_measures_the_chosen_setting_and_says_which(bench, tmp_path):
    out = tmp_path / "r"
    code, stdout, stderr = bench("tiny-bench-x2", "--size", "16", "--warmup", "1", "--iters", "2", "--no-isolate",
                                 "--dtype", "bf16", "--fast", "--out", str(out))
    assert code == 0, stderr
    rows = {r["setting"]: r for r in read(out)["speed"]}
    assert set(rows) == {"fp32-eager", "bf16", "fast"}
    fast = rows["fast"]
    assert fast["status"] == "ok" and fast["speedup_vs_eager"] > 0 and fast["max_abs_diff_grey"] is not None
    chosen = fast["note"].removeprefix("fast: ").split(" (budget")[0]
    assert fast["note"].startswith("fast: ") and chosen in ("fp32", "channels_last", "bf16", "bf16+channels_last")
    assert "(budget psnr>=45, max_grey<=8)" in fast["note"]
