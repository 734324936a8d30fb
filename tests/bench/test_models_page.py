"""docs/models.md: generated from the catalog and the CPU leaderboard's CSVs, one row per entry, checked fresh."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from zoo.bench.models_page import builtin_entries, render, sync_page
from zoo.registry.catalog import parse_entry

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results" / "cpu"


def test_the_committed_models_page_is_fresh():
    """Fails when registry.yaml, a built-in plugin's catalog or the leaderboard changed without
    `python benchmarks/models_page.py`."""
    problems = sync_page(RESULTS, REPO / "docs" / "models.md", repo=REPO, check=True)
    assert problems == [], "\n".join(problems) + "\nrun: python benchmarks/models_page.py"


def test_no_cell_names_one_size_twice():
    """A size that rounds to an earlier one (pix2pix: 128 -> 256 px) is one measurement, shown once."""
    for line in (REPO / "docs" / "models.md").read_text().splitlines():
        for cell in line.split(" | ")[3:6] if line.startswith("| `") else []:
            sizes = re.findall(r"at (\S+ px)", cell)
            assert len(sizes) == len(set(sizes)), line


def test_the_committed_leaderboard_covers_every_catalog_entry():
    speed = (RESULTS / "speed.csv").read_text().splitlines()
    measured = {line.split(",", 1)[0] for line in speed[1:]}
    assert {e.name for e in builtin_entries()} <= measured
    assert speed[0].startswith("model,task,setting,device,dtype,channels_last,compile,backend,batch,batch_requested,size")


def entry(name, task="super-resolution", metrics=()):
    return parse_entry({"name": name, "task": task, "architecture": "arch", "license": "MIT",
                        "metrics": list(metrics)}, "cat.yaml")


def row(model, setting="fp32-eager", weights="pretrained (cache)", **extra):
    return {"model": model, "task": "super-resolution", "setting": setting, "status": "ok", "size": 64,
            "out_size": 256, "images_per_s": 2.0, "ips_min": 1.9, "ips_max": 2.1, "mpix_per_s": 0.13,
            "params_m": 1.5, "gflops_per_image": 10.0, "weights": weights, **extra}


def test_every_entry_gets_a_row_that_says_what_was_measured():
    entries = [entry("a", metrics=[{"metric": "psnr-y", "value": 30.0, "dataset": "Set5 x4", "kind": "published",
                                    "source": "Paper, Table 2"},
                                   {"metric": "psnr-y", "value": 29.0, "dataset": "Set5 x4", "kind": "recorded",
                                    "source": "python x.py"}]),
               entry("b"), entry("never-run")]
    speed = [row("a"), row("a", "bf16", speedup_vs_eager=1.8, speedup_min=1.6, speedup_max=2.0,
                           max_abs_diff_grey=2.0, psnr_vs_eager_db=50.0),
             row("b", weights="random (b.pth not available offline)"), row("plugin-x", weights="pretrained")]
    quality = [{"model": "a", "metric": "psnr-y", "value": 28.9, "dataset": "set5", "n_images": 5, "status": "ok"}]
    text = render(entries, speed, quality, {"command": ["zoo", "bench"], "suite": {"thresholds": {}}},
                  results="benchmarks/results/cpu", images={"a": b"png"})
    lines = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines() if line.startswith("| `")}
    assert set(lines) == {"a", "b", "never-run", "plugin-x"}  # a plugin's measured entry too
    assert "2 img/s (1.9-2.1), 0.13 MP/s at 64→256 px" in lines["a"] and "bf16 1.8x (1.6-2x, max diff 2) at 64 px" in lines["a"]
    assert "psnr-y 30 (Set5 x4) [1]" in lines["a"] and "psnr-y 29 " not in lines["a"]  # recorded is not published
    assert "psnr-y 28.9 on set5 (5 images)" in lines["a"] and "![a](models/a.png)" in lines["a"]
    assert "random weights here: speed only" in lines["b"] and "not in benchmarks/results/cpu" in lines["never-run"]
    assert "1. Paper, Table 2" in text


def test_a_stale_page_is_reported(tmp_path):
    results, page = tmp_path / "results", tmp_path / "docs" / "models.md"
    results.mkdir()
    (results / "report.json").write_text(json.dumps({"command": ["zoo", "bench"], "suite": {}, "samples": []}))
    (results / "speed.csv").write_text("model,task,setting,status,size,images_per_s\nm,t,fp32-eager,ok,8,1.0\n")
    assert sync_page(results, page, repo=tmp_path) == [] and page.is_file()
    assert sync_page(results, page, repo=tmp_path, check=True) == []
    page.write_text(page.read_text() + "edited by hand\n")
    assert sync_page(results, page, repo=tmp_path, check=True) == [f"{page} differs from what the catalog and {results} give"]
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "models_page.py"), "--results", str(results),
                           "--page", str(page), "--check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "stale" in proc.stderr
