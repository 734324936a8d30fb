"""Where a reference number comes from: ``kind: published`` (a paper, an official repository) or ``recorded``
(measured by this project), checked by the catalog schema and shown in different report columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bench_helpers import read
from zoo.errors import CatalogError
from zoo.registry.catalog import parse_entry, read_catalog_file

REPO = Path(__file__).resolve().parents[2]
TINY = ["--size", "16", "--warmup", "1", "--iters", "1", "--rounds", "2", "--no-isolate"]


def entry(**metric):
    return {"name": "m", "task": "super-resolution", "architecture": "a",
            "metrics": [{"metric": "psnr-y", "value": 26.63, "dataset": "Set5 x4", **metric}]}


@pytest.mark.parametrize("source", ["benchmarks/sr_quality.py", "pytorch-vdsr README; reproduced by benchmarks/vdsr_set5.py",
                                    "plugins/zoo_sr/trained.yaml", "registry.yaml"])
def test_a_published_metric_citing_this_repository_is_a_one_line_error(source):
    with pytest.raises(CatalogError) as info:
        parse_entry(entry(kind="published", source=source), "cat.yaml")
    message = str(info.value)
    assert message.startswith("cat.yaml: entry 'm': field 'metrics[0].source': published metric psnr-y on Set5 x4 "
                              f"cites {source!r}, a path inside this repository")
    assert "kind: recorded" in message and "\n" not in message


@pytest.mark.parametrize("metric, problem", [
    ({"kind": "published"}, "published metric psnr-y on Set5 x4 names no source"),
    ({"kind": "measured", "source": "x"}, "field 'metrics[0].kind': expected published or recorded, got 'measured'"),
])
def test_metric_kinds_are_checked(metric, problem):
    with pytest.raises(CatalogError, match=re.escape(problem)):
        parse_entry(entry(**metric), "cat.yaml")


def test_outside_sources_and_recorded_numbers_pass():
    for metric in ({"kind": "published", "source": "open-mmlab/mmagic configs/cyclegan/README.md, table 'FID'"},
                   {"kind": "published", "source": "https://github.com/xinntao/ESRGAN#results"},
                   {"kind": "recorded", "source": "python benchmarks/sr_quality.py (commit 1a3bed8)"},
                   {"source": "zoo train"}):  # no kind: recorded (a run folder's own validation numbers)
        assert parse_entry(entry(**metric), "cat.yaml").metrics[0]["value"] == 26.63


def test_every_catalog_metric_says_its_kind_and_real_esrgan_published_no_set5_psnr():
    """The audit: every metric of registry.yaml and the plugins' catalogs carries an explicit kind, the
    Real-ESRGAN Set5 numbers (this project's) are recorded, and every file still validates."""
    files = [REPO / "registry.yaml", *sorted(REPO.glob("plugins/*/*.yaml"))]
    kinds = {}
    for path in files:
        read_catalog_file(path)  # the schema accepts the audited files
        for item in yaml.safe_load(path.read_text())["entries"]:
            for m in item.get("metrics") or []:
                assert m.get("kind") in ("published", "recorded"), (path.name, item["name"], m)
                kinds[item["name"], m["metric"], m["value"]] = m["kind"]
    for name in ("realesrgan-x4plus", "realesrgan-x4plus-anime", "realesr-animevideov3"):
        assert {k for (n, _, _), k in kinds.items() if n == name} == {"recorded"}
    assert kinds["vdsr-x2x3x4", "psnr-y", 37.62] == "recorded" and kinds["vdsr-x2x3x4", "psnr-y", 37.53] == "published"
    assert kinds["cyclegan-horse2zebra", "FID", 62.111] == "published"


def test_the_report_shows_published_and_recorded_apart(bench, tmp_path, monkeypatch):
    """A quality row never shows this project's number as "published": it goes to the recorded column, is
    compared with its own threshold, and a published value carries its source as a footnote and tooltip."""
    from zoo.bench import quality as bench_quality

    real = bench_quality.evaluation.evaluate

    def evaluate(pipeline, **kwargs):
        result = real(pipeline, **kwargs)
        for row in result.rows:  # as if the catalog held one outside reference and one earlier measurement
            row.update(published=30.0, published_source="Paper et al. 2020, Table 2", delta=row["value"] - 30.0,
                       recorded=row["value"] + 1.0, vs_recorded=-1.0, recorded_source="python bench.py (commit abc)")
        return result

    monkeypatch.setattr(bench_quality.evaluation, "evaluate", evaluate)
    out = tmp_path / "r"
    code, _, stderr = bench("tiny-bench-same", *TINY, "--quality", "--metrics", "psnr", "--out", str(out))
    assert code == 0, stderr
    row = read(out)["quality"][0]
    assert row["recorded_regression"] is True  # 1 dB below the recorded value: more than 1% worse
    md = (out / "report.md").read_text()
    assert "| published (outside source) | ours - published | recorded (this project) |" in md
    assert "30 [1]" in md and "[1] Paper et al. 2020, Table 2" in md
    html = (out / "report.html").read_text()
    assert 'title="Paper et al. 2020, Table 2"' in html and 'title="python bench.py (commit abc)"' in html
