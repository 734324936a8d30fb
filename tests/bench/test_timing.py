"""Rows that agree with themselves: interleaved rounds, one statistic (the median over rounds) for every
derived figure, ranges over rounds, a timed first call; and what the console says about them."""

from __future__ import annotations

import math
import re

import pytest

from bench_helpers import read

TINY = ["--size", "16", "--warmup", "1", "--no-isolate"]


def test_every_figure_of_a_row_comes_from_the_median_over_rounds(bench, tmp_path):
    code, _, stderr = bench("tiny-bench-x2", *TINY, "--iters", "2", "--rounds", "5", "--out", str(tmp_path))
    assert code == 0, stderr
    rows = {r["setting"]: r for r in read(tmp_path)["speed"]}
    assert set(rows) == {"fp32-eager", "channels_last", "bf16"}  # naming a model keeps the default settings
    eager = rows["fp32-eager"]
    for row in rows.values():
        assert row["status"] == "ok" and row["rounds"] == 5 and row["timed_calls"] == 10
        assert row["images_per_s"] == pytest.approx(1000 / row["ms_per_image_median"], rel=1e-3)
        assert row["ips_min"] <= row["images_per_s"] <= row["ips_max"]
        assert row["mpix_per_s"] == pytest.approx(row["images_per_s"] * row["out_size"] ** 2 / 1e6, rel=1e-3)
        assert row["ms_per_image_p95"] is None  # 10 calls: a "p95" would be the maximum, so none is given
        assert row["spread"] == pytest.approx((row["ips_max"] - row["ips_min"]) / row["images_per_s"], abs=1e-3)
    for name in ("channels_last", "bf16"):
        fast = rows[name]
        assert fast["speedup_vs_eager"] == pytest.approx(fast["images_per_s"] / eager["images_per_s"], rel=2e-3)
        assert fast["speedup_min"] <= fast["speedup_vs_eager"] <= fast["speedup_max"]
        faster = fast["speedup_vs_eager"] > 1
        assert faster == (fast["ms_per_image_median"] < eager["ms_per_image_median"])  # never "1.33x" while slower


def test_enough_timed_calls_give_a_p95(bench, tmp_path):
    code, _, _ = bench("tiny-bench-same", *TINY, "--iters", "4", "--rounds", "5", "--dtype", "fp32", "--out", str(tmp_path))
    row = read(tmp_path)["speed"][0]
    assert code == 0 and row["timed_calls"] == 20 and row["ms_per_image_p95"] >= row["ms_per_image_median"] * 0.5


def test_the_first_call_is_timed_on_its_own(bench, tmp_path):
    """A network whose first call costs 0.3 s (as torch.compile's does): warmup_s shows it, the timed rounds do not."""
    code, _, stderr = bench("tiny-bench-slow-start", *TINY, "--iters", "1", "--rounds", "3", "--out", str(tmp_path))
    rows = {r["setting"]: r for r in read(tmp_path)["speed"]}
    assert code == 0, stderr
    assert rows["fp32-eager"]["warmup_s"] >= 0.3 > rows["fp32-eager"]["ms_per_image_median"] / 1000
    assert all(r["warmup_s"] > 0 for r in rows.values())


def test_the_rounds_interleave_the_settings(bench, tmp_path, monkeypatch):
    from zoo.bench import timing

    order = []
    real = timing.timed_calls

    def spy(fn, x, iters, *, cuda):
        order.append(id(fn))
        return real(fn, x, iters, cuda=cuda)

    monkeypatch.setattr(timing, "timed_calls", spy)
    assert bench("tiny-bench-same", *TINY, "--iters", "1", "--rounds", "4", "--out", str(tmp_path))[0] == 0
    a, b, c = order[:3]
    assert len({a, b, c}) == 3 and order == [a, b, c, c, b, a] * 2  # eager, channels_last, bf16 alternating


def test_console_lines_round_numbers_and_say_which_models_had_random_weights(bench, tmp_path):
    code, stdout, stderr = bench("tiny-bench-same", "tiny-bench-missing", *TINY, "--iters", "1", "--rounds", "2",
                                 "--quality", "--max-images", "1", "--metrics", "psnr", "--out", str(tmp_path))
    assert code == 0, stderr
    numbers = re.findall(r"\d+\.\d+", stderr)
    assert numbers and all(len(n.replace(".", "").lstrip("0")) <= 4 for n in numbers), stderr  # 4 significant digits
    assert "1 of 2 models ran with random weights (speed only, no quality): tiny-bench-missing" in stdout
    assert re.search(r"tiny-bench-same quality embedded psnr: \d+\.\d+ \(on 1 of \d+ images: not comparable", stderr)
    assert "models ran with random weights" in (tmp_path / "report.md").read_text()


def test_a_pattern_with_quality_evaluates_the_whole_set_unless_max_images(bench, tmp_path, monkeypatch):
    """The default suite's max_images (2, for its own smoke run) is not inherited by a pattern run."""
    from zoo.bench import quality

    seen = []
    real = quality.evaluation.evaluate

    def spy(pipeline, **kwargs):
        seen.append(kwargs["max_images"])
        return real(pipeline, **kwargs)

    monkeypatch.setattr(quality.evaluation, "evaluate", spy)
    code, _, stderr = bench("tiny-bench-same", *TINY, "--iters", "1", "--rounds", "1", "--quality", "--metrics", "psnr",
                            "--out", str(tmp_path))
    row = read(tmp_path)["quality"][0]
    assert code == 0 and seen == [None] and row["n_images"] > 2 and "subset_of" not in row, stderr
    assert re.search(r"tiny-bench-same quality embedded psnr: \d+\.?\d*\n", stderr)  # no subset note
    code, _, stderr = bench("tiny-bench-same", *TINY, "--iters", "1", "--rounds", "1", "--quality", "--metrics", "psnr",
                            "--max-images", "2", "--out", str(tmp_path))
    assert seen[-1] == 2 and f"(on 2 of {row['n_images']} images" in stderr


def test_vdsr_rows_measure_the_network_at_the_upscaled_size(bench, tmp_path):
    """VDSR upscales (bicubic) before its network: the row's input is 16 px, the network runs at 64 px."""
    code, _, stderr = bench("vdsr-x2x3x4", "--size", "16", "--warmup", "1", "--iters", "1", "--rounds", "1",
                            "--random-weights", "--no-isolate", "--dtype", "fp32", "--out", str(tmp_path))
    row = read(tmp_path)["speed"][0]
    assert code == 0 and row["status"] == "ok", stderr
    assert (row["size"], row["net_size"], row["out_size"]) == (16, 64, 64)
    macs = row["params_m"] * 1e6 * 64 * 64  # same-size 3x3 convolutions without biases: params x pixels MACs
    assert row["gflops_per_image"] == pytest.approx(2 * macs / 1e9, rel=1e-3)
    assert row["mpix_per_s"] == pytest.approx(row["images_per_s"] * 64 * 64 / 1e6, rel=1e-3)


@pytest.mark.parametrize("argv, message", [
    (["--task", "sr", "--suite", "cpu-smoke"], None),
    (["--suite", "nosuchsuite"], "suite file nosuchsuite not found (give a YAML file or a built-in suite name: "
                                 "cpu-full, cpu-smoke, gpu, gpu-leaderboard, leaderboard)"),
])
def test_task_aliases_and_the_list_of_built_in_suites(bench, argv, message, monkeypatch, tmp_path):
    from zoo.bench import runner
    from zoo.cli import bench as cli_bench

    measured = []
    monkeypatch.setattr(cli_bench, "run_suite", lambda suite, **kw: measured.append(suite) or runner.RunResult())
    monkeypatch.chdir(tmp_path)
    code, _, stderr = bench(*argv)
    if message is None:
        assert code == 0, stderr
        assert [m.name for m in measured[0].models] == ["realesr-animevideov3"]  # sr = super-resolution*
    else:
        assert code == 2 and stderr == f"zoo bench: error: {message}\n"


def test_noise_free_math_of_ranges():
    from zoo.bench.timing import Arm, speedup
    from zoo.bench.suite import BASELINE, Setting

    base = Arm(BASELINE, round_s=[1.0, 2.0, 1.5], call_s=[1.0, 2.0, 1.5])
    fast = Arm(Setting("x"), round_s=[0.5, 1.0, 1.5], call_s=[0.5, 1.0, 1.5])
    ratios = speedup(fast, base)
    assert ratios["speedup_vs_eager"] == pytest.approx(1.5) and (ratios["speedup_min"], ratios["speedup_max"]) == (1.0, 2.0)
    stats = base.stats()
    assert stats["images_per_s"] == pytest.approx(1 / 1.5, abs=1e-4) and stats["ips_min"] == 0.5 and stats["ips_max"] == 1
    assert math.isclose(stats["spread"], 0.5 / (1 / 1.5), rel_tol=1e-3)


def test_short_calls_fill_min_round_s(bench, tmp_path):
    """A sub-millisecond model gets more calls per round than ``iters``, enough to last ``min_round_s``."""
    suite = tmp_path / "s.yaml"
    suite.write_text("models:\n  - tiny-bench-same\nsize: 16\nwarmup: 2\niters: 2\nrounds: 3\nmin_round_s: 0.02\n"
                     "isolate: false\n")
    code, _, stderr = bench("--suite", str(suite), "--dtype", "fp32", "--out", str(tmp_path / "r"))
    row = read(tmp_path / "r")["speed"][0]
    assert code == 0 and row["status"] == "ok", stderr
    per_round = row["timed_calls"] // row["rounds"]
    assert per_round > 2 and per_round * row["ms_per_image_median"] / 1000 >= 0.02 * 0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - tiny-bench-same\nmin_round_s: -1\n")
    code, _, stderr = bench("--suite", str(bad), "--out", str(tmp_path / "b"))
    assert code == 2 and "min_round_s: expected a positive number" in stderr


def test_calls_per_round():
    from zoo.bench.timing import MAX_CALLS_PER_ROUND, calls_per_round

    assert calls_per_round(2, 0.0, 1e-4) == 2
    assert calls_per_round(2, 0.25, 0.5) == 2
    assert calls_per_round(2, 0.25, 0.01) == 25
    assert calls_per_round(2, 0.25, 1e-9) == MAX_CALLS_PER_ROUND


def test_sizes_rounded_to_one_side_are_measured_once(bench, tmp_path):
    """pix2pix's U-Net takes multiples of 256 px: a 128 px size would time the 256 px rows again under another name."""
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: rounding\ndevice: cpu\nwarmup: 1\niters: 1\nrounds: 1\npretrained: false\nsettings: []\n"
                     "models:\n  - {name: pix2pix-facades-label2photo, size: [256, 128]}\nquality: {enabled: false}\n")
    code, _, stderr = bench("--suite", str(suite), "--no-isolate", "--out", str(tmp_path / "out"))
    assert code == 0, stderr
    rows = read(tmp_path / "out")["speed"]
    assert [(r["size"], r["setting"]) for r in rows] == [(256, "fp32-eager")]
    assert "also the requested 128 px (inputs are rounded to a multiple of 256)" in rows[0]["note"]
