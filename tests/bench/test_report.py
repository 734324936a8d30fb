"""Baseline comparison, --report-only, folding pytest-benchmark JSON, and cheap imports."""

from __future__ import annotations

import json
import subprocess
import sys

from bench_helpers import read

from zoo.bench.compare import compare_reports

TINY = ["--size", "16", "--warmup", "1", "--iters", "2", "--no-isolate"]


def test_baseline_flags_an_injected_slowdown(bench, tmp_path):
    now, slow_baseline = tmp_path / "now", tmp_path / "baseline"
    code, _, _ = bench("tiny-bench-same", "tiny-bench-x2", *TINY, "--out", str(now))
    assert code == 0
    quiet(now)
    baseline = read(now)
    for row in baseline["speed"]:
        if row["model"] == "tiny-bench-x2" and row["status"] == "ok":
            for key in ("images_per_s", "ips_min", "ips_max"):  # the earlier run was 4x faster: now is 0.25x
                row[key] *= 4
    slow_baseline.mkdir()
    (slow_baseline / "report.json").write_text(json.dumps(baseline))
    code, stdout, _ = bench("--report-only", str(now), "--baseline", str(slow_baseline), "--fail-on-regression")
    assert code == 1
    assert "3 regression(s)" in stdout and "REGRESSION tiny-bench-x2 " in stdout and "0.25x of baseline" in stdout
    flagged = [r for r in read(now)["comparison"] if r["regression"]]
    assert {r["model"] for r in flagged} == {"tiny-bench-x2"} and {r["change"] for r in flagged} == {0.25}
    assert "REGRESSION" in (now / "report.html").read_text().upper() or "regression" in (now / "report.html").read_text()
    assert (now / "comparison.csv").is_file()
    code, _, _ = bench("--report-only", str(now), "--baseline", str(now), "--fail-on-regression")
    assert code == 0 and not any(r["regression"] for r in read(now)["comparison"])
    for row in baseline["speed"]:
        row["model"] = "another-model"
    (slow_baseline / "report.json").write_text(json.dumps(baseline))
    code, stdout, _ = bench("--report-only", str(now), "--baseline", str(slow_baseline), "--fail-on-regression")
    assert code == 0 and "0 rows matched the baseline" in stdout


def quiet(folder):
    """Mark a report's run as quiet, its ranges over rounds tight: these tests are about the comparison logic,
    not about this shared machine's load (tests/bench/test_noise.py measures that)."""
    report = read(folder)
    report["noise"] = {**report["noise"], "noisy": False, "reasons": []}
    for row in report["speed"]:
        if row["status"] == "ok":
            row["ips_min"] = row["ips_max"] = row["images_per_s"]
    (folder / "report.json").write_text(json.dumps(report))


def test_quality_regressions_follow_the_metric_direction():
    def report(psnr, lpips, status="ok"):
        return {"speed": [], "quality": [
            {"model": "m", "dataset": "Set5", "metric": "psnr-y", "flavour": "", "value": psnr, "status": status},
            {"model": "m", "dataset": "Set5", "metric": "lpips", "flavour": "alex", "value": lpips, "status": status}]}

    rows = compare_reports(report(29.0, 0.30), report(30.0, 0.20), {"quality_rel": 0.02})
    assert [r["regression"] for r in rows] == [True, True]
    rows = compare_reports(report(30.5, 0.19), report(30.0, 0.20), {"quality_rel": 0.02})
    assert [r["regression"] for r in rows] == [False, False]
    rows = compare_reports(report(None, None, "error: x"), report(30.0, 0.20), {})
    assert all(r["regression"] and r["reason"] == "now error: x" for r in rows)


def test_report_only_rebuilds_the_page_and_folds_micro_json(bench, tmp_path):
    out = tmp_path / "r"
    assert bench("tiny-bench-same", *TINY, "--out", str(out))[0] == 0
    (out / "report.html").unlink()
    micro = tmp_path / "micro.json"
    micro.write_text(json.dumps({"benchmarks": [{
        "group": "translation", "name": "test_generator[resnet_9blocks]", "extra_info": {"size": 64},
        "stats": {"min": 0.01, "max": 0.02, "mean": 0.012, "stddev": 0.001, "median": 0.011, "ops": 83.3,
                  "rounds": 5}}]}))
    code, _, _ = bench("--report-only", str(out), "--micro-json", str(micro))
    assert code == 0 and (out / "report.html").is_file()
    assert read(out)["micro"][0]["median_ms"] == 11.0
    assert "test_generator[resnet_9blocks]" in (out / "report.md").read_text()
    assert (out / "micro.csv").is_file()


def test_importing_the_bench_package_and_building_the_cli_stays_cheap():
    code = ("import sys, zoo, zoo.bench, zoo.cli; zoo.cli.build_parser(); "
            "heavy = [m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
