"""The report's tables as text: which columns each table shows, cell formatting, the summary and the Markdown page.

Both the Markdown writer and the HTML page (:mod:`zoo.bench.html`) format rows through this module.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from zoo.bench.cells import fmt
from zoo.bench.noise import describe_state
from zoo.bench.summary import task_summary

#: (column, header) pairs shown in the Markdown/HTML speed table; the CSV keeps every column.
#: ``*_range`` cells are made from the min/max columns (:data:`DERIVED`).
SPEED_COLUMNS = (
    ("model", "model"), ("setting", "setting"), ("batch", "batch"), ("size", "input px"), ("out_size", "output px"),
    ("images_per_s", "img/s (median of rounds)"), ("ips_range", "img/s min-max"), ("mpix_per_s", "output MP/s"),
    ("ms_per_image_median", "ms/img (median)"), ("ms_per_image_p95", "ms/img p95 (>= 20 calls)"),
    ("warmup_s", "first call s"), ("peak_mem_mib", "peak MiB"), ("params_m", "params M"),
    ("gflops_per_image", "GFLOP/img"), ("tflops", "TFLOP/s"), ("pct_of_peak", "% of peak"),
    ("speedup_vs_eager", "speedup vs eager (median)"), ("speedup_range", "speedup min-max"),
    ("max_abs_diff_grey", "max diff (levels)"), ("psnr_vs_eager_db", "PSNR vs eager dB"), ("weights", "weights"),
    ("status", "status"), ("note", "note"),
)
QUALITY_COLUMNS = (
    ("model", "model"), ("task", "task"), ("dataset", "dataset"), ("metric", "metric"), ("value", "ours"),
    ("published_cell", "published (outside source)"), ("delta", "ours - published"),
    ("recorded", "recorded (this project)"), ("vs_recorded", "ours - recorded"),
    ("recorded_regression", "worse than recorded"), ("flavour", "flavour"), ("n_images", "images"),
    ("status", "status"),
)
MICRO_COLUMNS = (
    ("group", "group"), ("name", "benchmark"), ("median_ms", "median ms"), ("mean_ms", "mean ms"),
    ("stddev_ms", "stddev ms"), ("ops_per_s", "ops/s"), ("rounds", "rounds"), ("extra", "extra"),
)
COMPARISON_COLUMNS = (
    ("kind", "kind"), ("model", "model"), ("what", "measurement"), ("old", "baseline"), ("new", "now"),
    ("change", "ratio / delta"), ("verdict", "verdict"), ("regression", "regression"), ("reason", "reason"),
)
TABLES = {"speed": SPEED_COLUMNS, "quality": QUALITY_COLUMNS, "micro": MICRO_COLUMNS, "comparison": COMPARISON_COLUMNS}


def _range(low: str, high: str, unit: str = "") -> Callable[[Mapping[str, Any]], str | None]:
    def cell(row: Mapping[str, Any]) -> str | None:
        if row.get(low) is None or row.get(high) is None:
            return None
        return f"{fmt(row[low])}-{fmt(row[high])}{unit}"
    return cell


#: display-only cells computed from a row's own columns
DERIVED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "ips_range": _range("ips_min", "ips_max"), "speedup_range": _range("speedup_min", "speedup_max", "x"),
    "published_cell": lambda row: row.get("published_cell", row.get("published")),
}


def cell(row: Mapping[str, Any], key: str) -> Any:
    return DERIVED[key](row) if key in DERIVED else row.get(key)


def source_notes(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows whose published value carries a footnote mark ``[n]``, and the numbered sources."""
    sources: list[str] = []
    out = []
    for row in rows:
        source = row.get("published_source")
        if row.get("published") is not None and source:
            if source not in sources:
                sources.append(source)
            row = {**row, "published_cell": f"{fmt(row['published'])} [{sources.index(source) + 1}]"}
        out.append(row)
    return out, sources


def display_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells, dropping columns that are empty in every row."""
    used = [(k, h) for k, h in columns if any(cell(r, k) not in (None, "") for r in rows)]
    return [h for _, h in used], [[fmt(cell(r, k)) for k, _ in used] for r in rows]


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    if not rows:
        return "_none_\n"
    headers, cells = display_rows(rows, columns)

    def line(items: Sequence[str]) -> str:
        return "| " + " | ".join(str(i).replace("|", "\\|").replace("\n", " ") for i in items) + " |"

    return "\n".join([line(headers), "|" + "|".join("---" for _ in headers) + "|", *map(line, cells)]) + "\n"


def noise_lines(report: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """(the busy-machine warning or None, the machine readings at start and end)."""
    noise = report.get("noise") or {}
    if not noise:
        return None, []
    readings = [f"machine at start: {describe_state(noise.get('start'))}; at end: {describe_state(noise.get('end'))}"]
    warning = None
    if noise.get("noisy"):
        warning = ("NOISY RUN: speed numbers are not trustworthy (" + "; ".join(noise.get("reasons") or []) +
                   "). Rerun on a quiet machine before comparing or committing them.")
    return warning, readings


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
    if suite.get("rounds"):
        lines.append(f"timing: {suite['rounds']} interleaved rounds of {suite.get('iters')} calls per setting after "
                     f"{suite.get('warmup')} warm-up call(s) (the first timed on its own); every figure is the median "
                     "over rounds, ranges are min-max over rounds")
    lines += noise_lines(report)[1]
    random = status.get("random_weights") or []
    if random:
        lines.append(f"{len(random)} of {status['measured']} models ran with random weights (speed only, no quality, "
                     f"no image): {', '.join(random)}")
    if status.get("failed"):
        lines.append(f"**{len(status['failed'])} model(s) failed**: {', '.join(status['failed'])} (see their rows)")
    if status.get("interrupted") or status.get("not_run"):
        lines.append(f"**partial run**: not measured: {', '.join(status.get('not_run') or []) or '–'}")
    flagged = [r for r in report.get("comparison", []) if r.get("regression")]
    if report.get("baseline"):
        unsure = [r for r in report.get("comparison", []) if r.get("verdict") == "inconclusive"]
        lines.append(f"baseline {report['baseline']}: {len(flagged)} regression(s) flagged"
                     + (f", {len(unsure)} inconclusive (a noisy run)" if unsure else "")
                     + ("; the baseline was noisy" if report.get("baseline_noisy") else ""))
    return lines


def to_markdown(report: Mapping[str, Any]) -> str:
    warning, _ = noise_lines(report)
    parts = ["# zoo bench report\n"] + ([f"> **{warning}**\n"] if warning else [])
    parts += [*[f"- {line}" for line in summary_lines(report)], ""]
    summary = task_summary(report)
    if summary:
        parts += ["## Summary per task\n", *[f"- {line}" for line in summary], ""]
    parts += ["## Speed (fast settings compared with the same model's fp32 eager path)\n",
              markdown_table(report["speed"], SPEED_COLUMNS)]
    if report.get("quality"):
        rows, sources = source_notes(report["quality"])
        parts += ["## Quality (published: outside sources; recorded: this project's own earlier measurement)\n",
                  markdown_table(rows, QUALITY_COLUMNS)]
        parts += [f"[{i}] {s}  " for i, s in enumerate(sources, 1)] + ([""] if sources else [])
    if report.get("micro"):
        parts += ["## Microbenchmarks (pytest-benchmark)\n", markdown_table(report["micro"], MICRO_COLUMNS)]
    if report.get("comparison"):
        parts += [f"## Comparison with baseline {report.get('baseline')}\n",
                  markdown_table(report["comparison"], COMPARISON_COLUMNS)]
    return "\n".join(parts)
