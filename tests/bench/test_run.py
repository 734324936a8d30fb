"""``zoo bench`` end to end on tiny entries, in this process: reports, fast-path rows, failures, bad inputs."""

from __future__ import annotations

import pytest

from bench_helpers import read

TINY = ["--size", "16", "--warmup", "1", "--iters", "2", "--no-isolate"]


def test_report_has_every_format_and_fast_path_rows(bench, tmp_path):
    out = tmp_path / "r"
    code, stdout, stderr = bench("tiny-bench-same", "tiny-bench-x2", "tiny-bench-broken", *TINY,
                                 "--batch-sizes", "1,2", "--dtype", "bf16", "--channels-last", "--out", str(out),
                                 "--csv", str(tmp_path / "speed-copy.csv"))
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "report.html", "speed.csv"}
    report = read(out)
    rows = {(r["model"], r["setting"], r["batch_requested"]): r for r in report["speed"]}
    base, fast = rows["tiny-bench-x2", "fp32-eager", 2], rows["tiny-bench-x2", "bf16+channels_last", 2]
    assert base["status"] == fast["status"] == "ok" and base["batch"] == 2 and base["out_size"] == 32
    assert base["gflops_per_image"] > 0 and base["params_m"] > 0 and base["speedup_vs_eager"] is None
    assert fast["speedup_vs_eager"] > 0 and 0 < fast["max_abs_diff_grey"] < 255 and fast["psnr_vs_eager_db"] > 20
    assert fast["weights"].startswith("pretrained")
    broken = rows["tiny-bench-broken", "fp32-eager", 1]
    assert broken["status"] == "error: RuntimeError: tiny-bench-broken fails on purpose"
    assert report["status"]["failed"] == ["tiny-bench-broken"]
    assert "1 of 3 models failed: tiny-bench-broken" in stderr
    assert report["machine"]["torch"] and report["suite"]["name"] == "adhoc" and report["seed"] == 0
    html = (out / "report.html").read_text()
    assert "<script" not in html and "data:image/png;base64," in html and "http://" not in html
    assert "| tiny-bench-x2 | bf16+channels_last | 2 |" in (out / "report.md").read_text()
    import pandas as pd

    assert len(pd.read_csv(out / "speed.csv")) == len(report["speed"]) == 12
    copy = pd.read_csv(tmp_path / "speed-copy.csv")
    assert len(copy) == 12 and copy["torch"].notna().all() and (copy["model"] == pd.read_csv(out / "speed.csv")["model"]).all()


def test_every_model_failing_exits_nonzero(bench, tmp_path):
    code, _, stderr = bench("tiny-bench-broken", *TINY, "--out", str(tmp_path / "r"))
    assert code == 1 and "1 of 1 models failed" in stderr
    assert read(tmp_path / "r")["speed"][0]["status"].startswith("error:")


def test_a_missing_weights_file_is_a_one_line_row_error(bench, tmp_path):
    code, _, _ = bench("tiny-bench-missing", *TINY, "--pretrained", "--out", str(tmp_path / "r"))
    status = read(tmp_path / "r")["speed"][0]["status"]
    assert code == 1 and status.startswith("error: WeightsUnavailableError:") and "\n" not in status
    assert "tiny-bench-missing.pth" in status


@pytest.mark.parametrize("argv, message", [
    (["nope-model"], "zoo bench: error: no catalog entry matches 'nope-model'"),
    (["tiny-bench-same", "--quality", "--metrics", "psnr,sharpness"], "zoo bench: error: unknown metric 'sharpness'"),
    (["--suite", "missing.yaml"], "zoo bench: error: suite file missing.yaml not found"),
    (["--report-only", "nowhere"], "zoo bench: error: no zoo bench report at nowhere/report.json"),
    (["--data", "nosuchset=/tmp"], "zoo bench: error: --data: unknown dataset 'nosuchset' (known: "),
    (["--task", "nosuchtask"], "zoo bench: error: --task: unknown task 'nosuchtask' (known: "),
    (["tiny-bench-same", "--out", "afile"], "zoo bench: error: --out afile: exists and is not a folder"),
    (["--micro-json", "none.json", "--report-only", "x"], "zoo bench: error: --micro-json none.json: file not found"),
])
def test_bad_arguments_are_one_line_errors(bench, argv, message, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    code, _, stderr = bench(*argv)
    assert code == 2 and stderr.startswith(message) and stderr.count("\n") == 1, stderr


def test_a_malformed_suite_names_its_line(bench, tmp_path):
    suite = tmp_path / "bad.yaml"
    suite.write_text("models:\n  - tiny-bench-same\niters: -1\n")
    code, _, stderr = bench("--suite", str(suite))
    assert code == 2 and f"{suite}:3: iters: expected a positive integer" in stderr


def test_quality_rows_and_dataset_errors(bench, tmp_path):
    out = tmp_path / "r"
    code, _, stderr = bench("tiny-bench-same", *TINY, "--quality", "--max-images", "1", "--out", str(out))
    assert code == 0, stderr
    report = read(out)
    metrics = {r["metric"]: r for r in report["quality"]}
    assert set(metrics) == {"psnr", "ssim"} and all(r["status"] == "ok" for r in metrics.values())
    assert report["samples"] and report["samples"][0]["reference"]
    assert (out / "quality.csv").is_file()


@pytest.mark.parametrize("layout", ["wrong", "missing"])
def test_a_wrong_data_folder_fails_before_any_model_runs(bench, tmp_path, layout, monkeypatch):
    from zoo.bench import runner

    measured = []
    monkeypatch.setattr(runner, "measure_model", lambda job: measured.append(job.name))
    folder = tmp_path / "data"
    if layout == "wrong":
        (folder / "sub").mkdir(parents=True)  # a folder without images: not the 'images' layout
    out = tmp_path / "r"
    code, stdout, stderr = bench("tiny-bench-same", *TINY, "--quality", "--data", f"embedded={folder}", "--out", str(out))
    assert code == 2 and stderr.startswith("zoo bench: error: dataset 'embedded'") and stderr.count("\n") == 1, stderr
    assert str(folder) in stderr and not measured and not out.exists() and not stdout


def test_interrupted_run_still_writes_what_finished(bench, tmp_path, monkeypatch):
    from zoo.bench import runner, speed

    real = speed.measure_model
    calls = []

    def measure(job):
        calls.append(job.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(runner, "measure_model", measure)
    code, _, _ = bench("tiny-bench-same", "tiny-bench-x2", *TINY, "--out", str(tmp_path / "r"))
    report = read(tmp_path / "r")
    assert code == 130 and report["status"]["interrupted"] and report["status"]["not_run"] == ["tiny-bench-x2"]
    assert {r["model"] for r in report["speed"]} == {"tiny-bench-same"}
    assert "partial run" in (tmp_path / "r" / "report.md").read_text()


def test_out_of_memory_halves_the_batch_and_says_so(bench, tmp_path):
    code, _, _ = bench("tiny-bench-oom", *TINY, "--batch-sizes", "4", "--out", str(tmp_path))
    row = read(tmp_path)["speed"][0]
    assert code == 0 and row["status"] == "ok" and (row["batch_requested"], row["batch"]) == (4, 1)
    assert row["note"] == "out of memory at batch 4; out of memory at batch 2; ran at batch 1"


def test_a_backend_setting_is_compared_or_explains_its_absence(bench, tmp_path):
    import inspect

    import zoo

    code, _, _ = bench("tiny-bench-same", *TINY, "--backend", "eager", "--out", str(tmp_path))
    rows = {r["setting"]: r for r in read(tmp_path)["speed"]}
    assert code == 0 and rows["fp32-eager"]["status"] == "ok"
    fast = rows["backend=eager"]
    if "backend" in inspect.signature(zoo.load).parameters:  # issue 9's zoo.load(name, backend=...)
        assert fast["status"] == "ok" and fast["max_abs_diff_grey"] == 0
    else:
        assert fast["status"] == "error: NotImplementedError: backend 'eager': this zoo.load has no backend= argument"


def test_builtin_and_entry_point_plugins_are_measured_in_child_processes():
    from zoo.bench.runner import loadable_in_child

    assert loadable_in_child("espcn-x3-t91")  # catalog entry of the built-in plugin 'sr'


def test_quality_csv_writes_integers_and_error_rows_name_dataset_and_metric(bench, tmp_path):
    out = tmp_path / "r"
    code, _, stderr = bench("tiny-bench-same", *TINY, "--quality", "--max-images", "1", "--out", str(out))
    assert code == 0, stderr
    import csv

    rows = list(csv.DictReader((out / "quality.csv").open()))
    assert rows and all(r["n_images"] == "1" for r in rows)


def test_a_model_without_weights_names_dataset_and_metric_in_its_quality_lines(bench, tmp_path):
    code, _, stderr = bench("tiny-bench-missing", *TINY, "--quality", "--out", str(tmp_path / "r"))
    lines = [line for line in stderr.splitlines() if " quality" in line]
    assert "None" not in stderr and [line.split(":")[0] for line in lines] == [
        "  tiny-bench-missing quality embedded psnr", "  tiny-bench-missing quality embedded ssim"], stderr
    assert all("unavailable: tiny-bench-missing.pth from http://127.0.0.1:9/tiny-bench-missing.pth" in line
               for line in lines), stderr


def test_out_never_replaces_files_that_are_not_an_earlier_report(bench, tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "report.md").write_text("my own notes")
    code, _, stderr = bench("tiny-bench-same", *TINY, "--out", str(mine))
    assert code == 2 and stderr == (f"zoo bench: error: --out {mine}: holds report.md, and the folder is not a zoo bench "
                                    "report (no report.json of kind zoo-bench-report); pass --overwrite to replace "
                                    "them, or give another folder\n")
    assert (mine / "report.md").read_text() == "my own notes" and not (mine / "report.json").exists()
    assert bench("tiny-bench-same", *TINY, "--out", str(mine), "--overwrite")[0] == 0
    assert read(mine)["kind"] == "zoo-bench-report"
    (mine / "keep.txt").write_text("other files stay")
    assert bench("tiny-bench-same", *TINY, "--out", str(mine))[0] == 0  # its own earlier report is replaced
    assert (mine / "keep.txt").read_text() == "other files stay"
