"""The report's tables as text: which columns each table shows, cell formatting, the summary and the Markdown page.

Both the Markdown writer and the HTML page (:mod:`zoo.bench.html`) format rows through this module.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

#: (column, header) pairs shown in the Markdown/HTML speed table; the CSV keeps every column
SPEED_COLUMNS = (
    ("model", "model"), ("setting", "setting"), ("batch", "batch"), ("size", "input px"),
    ("images_per_s", "img/s"), ("ms_per_image_median", "ms/img median"), ("ms_per_image_p95", "ms/img p95"),
    ("peak_mem_mib", "peak MiB"), ("params_m", "params M"), ("gflops_per_image", "GFLOP/img"),
    ("tflops", "TFLOP/s"), ("pct_of_peak", "% of peak"), ("speedup_vs_eager", "speedup vs eager"),
    ("max_abs_diff_grey", "max diff (levels)"), ("psnr_vs_eager_db", "PSNR vs eager dB"), ("weights", "weights"),
    ("status", "status"), ("note", "note"),
)
QUALITY_COLUMNS = (
    ("model", "model"), ("task", "task"), ("dataset", "dataset"), ("metric", "metric"), ("value", "ours"),
    ("published", "published"), ("delta", "ours - published"), ("flavour", "flavour"), ("n_images", "images"),
    ("status", "status"),
)
MICRO_COLUMNS = (
    ("group", "group"), ("name", "benchmark"), ("median_ms", "median ms"), ("mean_ms", "mean ms"),
    ("stddev_ms", "stddev ms"), ("ops_per_s", "ops/s"), ("rounds", "rounds"), ("extra", "extra"),
)
COMPARISON_COLUMNS = (
    ("kind", "kind"), ("model", "model"), ("what", "measurement"), ("old", "baseline"), ("new", "now"),
    ("change", "ratio / delta"), ("regression", "regression"), ("reason", "reason"),
)
TABLES = {"speed": SPEED_COLUMNS, "quality": QUALITY_COLUMNS, "micro": MICRO_COLUMNS, "comparison": COMPARISON_COLUMNS}


def fmt(value: Any) -> str:
    """A table cell: numbers to 4 significant digits, None as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e4:
            return f"{value:.0f}" if abs(value) < 1e9 else f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def display_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells, dropping columns that are empty in every row."""
    used = [(k, h) for k, h in columns if any(r.get(k) not in (None, "") for r in rows)]
    return [h for _, h in used], [[fmt(r.get(k)) for k, _ in used] for r in rows]


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    if not rows:
        return "_none_\n"
    headers, cells = display_rows(rows, columns)

    def line(items: Sequence[str]) -> str:
        return "| " + " | ".join(str(i).replace("|", "\\|").replace("\n", " ") for i in items) + " |"

    return "\n".join([line(headers), "|" + "|".join("---" for _ in headers) + "|", *map(line, cells)]) + "\n"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    machine, status, suite = report["machine"], report["status"], report["suite"]
    device = machine.get("gpu") or f"CPU: {machine.get('cpu')} ({machine.get('torch_threads')} threads)"
    lines = [f"suite **{suite['name']}** ({suite.get('source')}), seed {report.get('seed')}, "
             f"{status['measured']}/{status['models']} models measured in {status.get('seconds')} s"
             + (f" on {report.get('world_size')} ranks" if report.get("world_size", 1) > 1 else ""),
             f"device: {device}; torch {machine.get('torch')}, CUDA {machine.get('cuda') or '–'}, driver "
             f"{machine.get('driver') or '–'}, Python {machine.get('python')}, zoo {machine.get('zoo')} "
             f"(git {machine.get('git_commit') or 'unknown'})",
             f"created {report.get('created')}: `{' '.join(report.get('command', []))}`"]
    if status.get("failed"):
        lines.append(f"**{len(status['failed'])} model(s) failed**: {', '.join(status['failed'])} (see their rows)")
    if status.get("interrupted") or status.get("not_run"):
        lines.append(f"**partial run**: not measured: {', '.join(status.get('not_run') or []) or '–'}")
    flagged = [r for r in report.get("comparison", []) if r.get("regression")]
    if report.get("baseline"):
        lines.append(f"baseline {report['baseline']}: {len(flagged)} regression(s) flagged")
    return lines


def to_markdown(report: Mapping[str, Any]) -> str:
    parts = ["# zoo bench report\n", *[f"- {line}" for line in summary_lines(report)], ""]
    parts += ["## Speed (fast settings compared with the same model's fp32 eager path)\n",
              markdown_table(report["speed"], SPEED_COLUMNS)]
    if report.get("quality"):
        parts += ["## Quality (published numbers beside ours)\n", markdown_table(report["quality"], QUALITY_COLUMNS)]
    if report.get("micro"):
        parts += ["## Microbenchmarks (pytest-benchmark)\n", markdown_table(report["micro"], MICRO_COLUMNS)]
    if report.get("comparison"):
        parts += [f"## Comparison with baseline {report.get('baseline')}\n",
                  markdown_table(report["comparison"], COMPARISON_COLUMNS)]
    return "\n".join(parts)
