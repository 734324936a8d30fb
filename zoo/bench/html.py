"""The report as ONE self-contained HTML page: inline CSS, matplotlib plots and image grids as base64 PNG.

No scripts and no external resources, so it opens anywhere (and offline) without console errors.
"""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

from zoo.bench.plots import plot_fast_paths, plot_quality_vs_speed, plot_throughput
from zoo.bench.summary import task_summary
from zoo.bench.tables import (COMPARISON_COLUMNS, MICRO_COLUMNS, QUALITY_COLUMNS, SPEED_COLUMNS, display_rows,
                              noise_lines, source_notes, summary_lines)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1600px;
color:#1d2330;padding:0 16px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d6dae3;padding-bottom:4px}
ul.summary{margin:0 0 12px;padding-left:18px;color:#3c4454}
.table{overflow-x:auto}table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dde1ea;padding:3px 7px;text-align:right;white-space:nowrap}
th{background:#eef1f6;white-space:normal;max-width:80px;vertical-align:bottom}
td.long{white-space:normal;min-width:220px;max-width:420px;text-align:left}td:first-child,td.text{text-align:left}
tr:nth-child(even) td{background:#f8f9fb}tr.error td{background:#fdecec}tr.fast td{color:#154a8a}
tr.regression td{background:#fff1d6}
.plots{display:flex;flex-wrap:wrap;gap:16px}.plots img{max-width:100%;border:1px solid #e3e6ee}
.grid{display:flex;flex-wrap:wrap;gap:18px}.sample{border:1px solid #e3e6ee;padding:8px;border-radius:6px}
.sample .title{font-weight:600;margin-bottom:4px}.sample figure{display:inline-block;margin:0 6px 0 0;text-align:center}
.sample img{width:192px;height:192px;image-rendering:pixelated;display:block}
figcaption{font-size:12px;color:#5a6272}.muted{color:#6b7385}
.noisy{background:#fde8e8;border:2px solid #c62828;color:#b71c1c;font-weight:600;padding:10px 14px;margin:8px 0 14px;
border-radius:6px}ul.tasks li{margin:2px 0}ol.sources{font-size:12px;color:#3c4454}
"""


def _table(rows: Sequence[Mapping[str, Any]], columns, *, kind: str = "") -> str:
    if not rows:
        return '<p class="muted">none</p>'
    headers, cells = display_rows(rows, columns)
    keys = [k for k, h in columns if h in headers]
    out = ['<div class="table"><table><thead><tr>', *[f"<th>{html.escape(h)}</th>" for h in headers],
           "</tr></thead><tbody>"]
    for row, line in zip(rows, cells):
        css = []
        if str(row.get("status", "ok")) not in ("ok",) and kind in ("speed", "quality") and \
                not str(row.get("status", "")).startswith("unavailable"):
            css.append("error")
        if kind == "speed" and row.get("setting") not in (None, "fp32-eager"):
            css.append("fast")
        if kind == "comparison" and row.get("regression"):
            css.append("regression")
        out.append(f'<tr class="{" ".join(css)}">' + "".join(
            f'<td class="{_cell_class(c)}"{_hover(row, k)}>{html.escape(c)}</td>' for k, c in zip(keys, line)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _hover(row: Mapping[str, Any], key: str) -> str:
    """A published value's source (or a recorded value's command) as the cell's tooltip."""
    source = row.get({"published_cell": "published_source", "recorded": "recorded_source"}.get(key, ""))
    return f' title="{html.escape(str(source))}"' if source else ""


def _cell_class(text: str) -> str:
    if _numeric(text):
        return ""
    return "long" if len(text) > 40 else "text"


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _grids(samples: Sequence[Mapping[str, Any]]) -> str:
    if not samples:
        return '<p class="muted">no image samples (models ran with random weights and no quality evaluation)</p>'
    out = ['<div class="grid">']
    for s in samples:
        panels = [("input", s.get("input")), ("output", s.get("output")), ("reference", s.get("reference"))]
        figures = "".join(f'<figure><img alt="{label}" src="data:image/png;base64,{data}"><figcaption>{label}'
                          f"</figcaption></figure>" for label, data in panels if data)
        out.append(f'<div class="sample"><div class="title">{html.escape(str(s.get("model")))}</div>'
                   f'<div class="muted">{html.escape(str(s.get("name")))}, crop {s.get("crop")}</div>{figures}</div>')
    out.append("</div>")
    return "".join(out)


def _inline_md(text: str) -> str:
    escaped = html.escape(text)
    parts = escaped.split("**")
    escaped = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _plots(report: Mapping[str, Any]) -> str:
    try:
        import matplotlib  # heavy

        matplotlib.use("Agg", force=True)
        plots = [("throughput", plot_throughput(report["speed"])), ("fast paths", plot_fast_paths(report["speed"])),
                 ("quality vs speed", plot_quality_vs_speed(report["speed"], report.get("quality") or []))]
    except ImportError:
        return '<p class="muted">matplotlib is not installed: no plots</p>'
    shown = "".join(f'<img alt="{name}" src="data:image/png;base64,{data}">' for name, data in plots if data)
    return shown or '<p class="muted">nothing to plot</p>'


def to_html(report: Mapping[str, Any]) -> str:
    """The page: busy-machine warning, summary, per-task summary, plots, tables, image grids."""
    title = f"zoo bench: {report['suite']['name']}"
    warning, _ = noise_lines(report)
    body = [f"<h1>{html.escape(title)}</h1>"]
    if warning:
        body.append(f'<div class="noisy">{html.escape(warning)}</div>')
    body += ['<ul class="summary">', *[f"<li>{_inline_md(line)}</li>" for line in summary_lines(report)], "</ul>"]
    tasks = task_summary(report)
    if tasks:
        body += ["<h2>Summary per task</h2>", '<ul class="tasks">', *[f"<li>{_inline_md(t)}</li>" for t in tasks], "</ul>"]
    body += ["<h2>Plots</h2>", f'<div class="plots">{_plots(report)}</div>',
             "<h2>Speed</h2>", '<p class="muted">Each fast setting is timed in interleaved rounds with the same model\'s '
             "fp32 eager path on the same inputs: medians over rounds, min-max ranges, and the output difference in "
             "8-bit grey levels and PSNR.</p>", _table(report["speed"], SPEED_COLUMNS, kind="speed")]
    if report.get("quality"):
        rows, sources = source_notes(report["quality"])
        body += ["<h2>Quality</h2>", '<p class="muted">published: a paper or official repository (hover for the '
                 "source); recorded: this project's own earlier measurement, a regression baseline.</p>",
                 _table(rows, QUALITY_COLUMNS, kind="quality")]
        if sources:
            body.append('<ol class="sources">' + "".join(f"<li>{html.escape(s)}</li>" for s in sources) + "</ol>")
    body += ["<h2>Image grids (input / output / reference, same crop)</h2>", _grids(report.get("samples") or [])]
    if report.get("micro"):
        body += ["<h2>Microbenchmarks (pytest-benchmark)</h2>", _table(report["micro"], MICRO_COLUMNS)]
    if report.get("comparison"):
        body += [f"<h2>Comparison with baseline {html.escape(str(report.get('baseline')))}</h2>",
                 _table(report["comparison"], COMPARISON_COLUMNS, kind="comparison")]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<link rel=\"icon\" href=\"data:,\"><title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
