"""Noise: a busy machine is flagged at the top of the report, ``--strict-noise`` fails on it, and ``--baseline``
calls a row a regression only when the ranges over rounds separate on two quiet runs."""

from __future__ import annotations

import json
import sys
import threading

import pytest

from bench_helpers import read

# 256 px: a call takes milliseconds, so a round is long enough for the operating system to run the busy thread
TINY = ["tiny-bench-same", "--size", "256", "--warmup", "1", "--iters", "4", "--rounds", "5", "--no-isolate"]


@pytest.fixture
def busy_rounds(monkeypatch):
    """``busy_rounds()`` turns on a busy-loop thread during the first three of the next five timed rounds.

    The thread takes the GIL (and a core) from the timed calls between the network's operations, as another
    process takes a core from a real run: the median over rounds is slow, the range over rounds wide.
    """
    from zoo.bench import timing

    real = timing.timed_calls
    calls = {"n": None}

    def timed(fn, x, iters, *, cuda):
        if calls["n"] is None:
            return real(fn, x, iters, cuda=cuda)
        calls["n"] += 1
        if calls["n"] > 9:  # 3 settings per round: rounds 4 and 5 run quiet
            return real(fn, x, iters, cuda=cuda)
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                pass

        thread = threading.Thread(target=spin, daemon=True)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-3)
        thread.start()
        try:
            return real(fn, x, iters, cuda=cuda)
        finally:
            sys.setswitchinterval(interval)
            stop.set()
            thread.join()

    monkeypatch.setattr(timing, "timed_calls", timed)
    return lambda: calls.update(n=0)


def quiet_baseline(source, target, speedup: float = 1.0):
    """A copy of ``source`` as a quiet run with tight ranges, ``speedup`` times faster."""
    report = read(source)
    report["noise"] = {**report["noise"], "noisy": False, "reasons": []}
    for row in report["speed"]:
        if row["status"] == "ok":
            row["images_per_s"] *= speedup
            row["ips_min"] = row["ips_max"] = row["images_per_s"]
    target.mkdir()
    (target / "report.json").write_text(json.dumps(report))


def test_a_busy_loop_during_timing_is_flagged_and_gives_no_false_regression(bench, tmp_path, busy_rounds):
    first = tmp_path / "first"
    assert bench(*TINY, "--rounds", "1", "--iters", "1", "--out", str(first))[0] == 0
    quiet_baseline(first, tmp_path / "baseline", speedup=4.0)  # without the noise rule: 0.25x, a "regression"
    busy_rounds()
    out = tmp_path / "noisy"
    code, stdout, _ = bench(*TINY, "--out", str(out), "--baseline", str(tmp_path / "baseline"), "--fail-on-regression")
    report = read(out)
    assert code == 0, stdout  # noise is not a regression
    assert report["noise"]["noisy"] and any("spread more than 25%" in r for r in report["noise"]["reasons"])
    assert all(r["spread"] > 0.25 for r in report["speed"])
    assert not any(r["regression"] for r in report["comparison"])
    assert {r["verdict"] for r in report["comparison"]} <= {"inconclusive", "within noise"}
    assert "NOISY RUN" in stdout and "inconclusive (this run noisy)" in stdout
    assert (out / "report.md").read_text().splitlines()[2].startswith("> **NOISY RUN: speed numbers are not trustworthy")
    html = (out / "report.html").read_text()
    assert html.index('<div class="noisy">NOISY RUN') < html.index("<h2>")  # red, at the top
    assert "machine at start: load" in html and "governor" in html
    busy_rounds()
    code, _, _ = bench(*TINY, "--out", str(out), "--strict-noise")
    assert code == 3


def test_load_above_the_core_count_is_flagged():
    from zoo.bench.noise import assess

    row = {"status": "ok", "spread": 0.01, "model": "m", "setting": "fp32-eager"}
    busy = assess([row], {"load": [5.0, 3.0, 2.0], "cpu_count": 2}, {"load": [1.0, 1.0, 1.0], "cpu_count": 2})
    assert busy["noisy"] and busy["reasons"] == ["load average 5 at the start of the run, above the 2 cores"]
    assert not assess([row], {"load": [0.5, 1, 1], "cpu_count": 2}, {"load": [1.5, 1, 1], "cpu_count": 2})["noisy"]


@pytest.mark.parametrize("now, old, verdict", [
    ((50, 40, 60), (100, 45, 120), "within noise"),  # the medians halve, the ranges overlap: no regression
    ((50, 48, 52), (100, 95, 105), "regression"),    # ranges separate and 0.5x < 0.8x
    ((90, 88, 92), (100, 95, 105), "slower"),        # separate, but within the 0.8x threshold
    ((120, 115, 125), (100, 95, 105), "faster"),
])
def test_a_regression_needs_separate_ranges(now, old, verdict):
    from zoo.bench.compare import compare_reports

    def report(values, noisy=False):
        ips, low, high = values
        return {"noise": {"noisy": noisy}, "speed": [{"model": "m", "setting": "fp32-eager", "batch_requested": 1,
                                                      "size": 16, "device": "cpu", "status": "ok", "images_per_s": ips,
                                                      "ips_min": low, "ips_max": high}]}

    rows = compare_reports(report(now), report(old), {"speed_ratio": 0.8})
    assert rows[0]["verdict"] == verdict and rows[0]["regression"] == (verdict == "regression")
    noisy = compare_reports(report(now), report(old, noisy=True), {"speed_ratio": 0.8})[0]
    assert not noisy["regression"] and (noisy["verdict"] == "inconclusive" or verdict != "regression")
    assert "the baseline was noisy" in noisy["reason"] or verdict != "regression"
