"""The report as ONE self-contained HTML page: inline CSS, matplotlib plots and image grids as base64 PNG.

No scripts and no external resources, so it opens anywhere (and offline) without console errors.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any, Mapping, Sequence

from zoo.bench.tables import (COMPARISON_COLUMNS, MICRO_COLUMNS, QUALITY_COLUMNS, SPEED_COLUMNS, display_rows,
                              summary_lines)

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
"""


def _fig_to_b64(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt  # heavy

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _ok(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "ok" and r.get("images_per_s")]


def _smallest_batch(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if not rows:
        return []
    first = min(r.get("batch_requested") or r.get("batch") or 1 for r in rows)
    return [r for r in rows if (r.get("batch_requested") or r.get("batch") or 1) == first]


def plot_throughput(speed: Sequence[Mapping[str, Any]]) -> str | None:
    rows = _smallest_batch([r for r in _ok(speed) if r.get("setting") == "fp32-eager"])
    if not rows:
        return None
    import matplotlib.pyplot as plt  # heavy

    rows = sorted(rows, key=lambda r: r["images_per_s"])
    fig, ax = plt.subplots(figsize=(6.0, 0.38 * len(rows) + 1.3))
    ax.barh([r["model"] for r in rows], [r["images_per_s"] for r in rows], color="#4a7bd0")
    for i, r in enumerate(rows):
        ax.text(r["images_per_s"], i, f" {r['images_per_s']:.3g}", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(f"images/s (fp32 eager, batch {rows[0].get('batch')}, log scale)")
    ax.set_title("Throughput per model")
    return _fig_to_b64(fig)


def plot_fast_paths(speed: Sequence[Mapping[str, Any]]) -> str | None:
    rows = _smallest_batch([r for r in _ok(speed) if r.get("speedup_vs_eager") is not None])
    if not rows:
        return None
    import matplotlib.pyplot as plt  # heavy

    models = list(dict.fromkeys(r["model"] for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    height = 0.8 / len(settings)
    fig, ax = plt.subplots(figsize=(6.0, 0.42 * len(models) * max(1, len(settings) / 2) + 1.5))
    colours = plt.get_cmap("tab10")
    for j, setting in enumerate(settings):
        values = {r["model"]: r["speedup_vs_eager"] for r in rows if r["setting"] == setting}
        ys = [i + j * height for i, m in enumerate(models) if m in values]
        ax.barh(ys, [values[m] for m in models if m in values], height=height, label=setting, color=colours(j))
    ax.axvline(1.0, color="#333", lw=1, ls="--")
    ax.set_yticks([i + height * (len(settings) - 1) / 2 for i in range(len(models))], models)
    ax.set_xlabel("speedup over the same model's fp32 eager path (>1 is faster)")
    ax.set_title("Eager vs fast path")
    ax.legend(fontsize=8, loc="best")
    return _fig_to_b64(fig)


PREFERRED_METRICS = ("psnr-y", "psnr", "lpips", "fid", "fd-dinov2", "kid", "ssim-y", "ssim")


def _primary_metric(rows: Sequence[Mapping[str, Any]]) -> str | None:
    names = list(dict.fromkeys(str(r.get("metric")) for r in rows))
    for preferred in PREFERRED_METRICS:
        for name in names:
            if name.lower() == preferred or name.lower().startswith(preferred):
                return name
    return names[0] if names else None


def plot_quality_vs_speed(speed: Sequence[Mapping[str, Any]], quality: Sequence[Mapping[str, Any]]) -> str | None:
    ms = {r["model"]: r["ms_per_image_median"] for r in _smallest_batch(
        [r for r in _ok(speed) if r.get("setting") == "fp32-eager"])}
    numeric = [r for r in quality if isinstance(r.get("value"), (int, float)) and r.get("model") in ms]
    tasks = list(dict.fromkeys(r.get("task") or "?" for r in numeric))
    if not tasks:
        return None
    import matplotlib.pyplot as plt  # heavy

    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.0), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rows = [r for r in numeric if (r.get("task") or "?") == task]
        metric = _primary_metric(rows)
        dataset = rows[0].get("dataset")
        points = [r for r in rows if str(r.get("metric")) == metric and r.get("dataset") == dataset]
        ax.scatter([ms[r["model"]] for r in points], [r["value"] for r in points], color="#d0574a", zorder=3)
        for r in points:
            ax.annotate(r["model"], (ms[r["model"]], r["value"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("ms/image (fp32 eager, log scale)")
        ax.set_ylabel(f"{metric} on {dataset}")
        ax.set_title(f"{task}: quality vs speed")
        ax.grid(alpha=0.3)
    return _fig_to_b64(fig)


def _table(rows: Sequence[Mapping[str, Any]], columns, *, kind: str = "") -> str:
    if not rows:
        return '<p class="muted">none</p>'
    headers, cells = display_rows(rows, columns)
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
            f'<td class="{_cell_class(c)}">{html.escape(c)}</td>' for c in line) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


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


def to_html(report: Mapping[str, Any]) -> str:
    """The page: summary, plots, speed/quality/micro/comparison tables, image grids."""
    plots: list[tuple[str, str | None]] = []
    try:
        import matplotlib  # heavy

        matplotlib.use("Agg", force=True)
        plots = [("throughput", plot_throughput(report["speed"])), ("fast paths", plot_fast_paths(report["speed"])),
                 ("quality vs speed", plot_quality_vs_speed(report["speed"], report.get("quality") or []))]
        plot_html = "".join(f'<img alt="{name}" src="data:image/png;base64,{data}">' for name, data in plots if data)
    except ImportError:
        plot_html = '<p class="muted">matplotlib is not installed: no plots</p>'
    title = f"zoo bench: {report['suite']['name']}"
    body = [f"<h1>{html.escape(title)}</h1>", '<ul class="summary">',
            *[f"<li>{_inline_md(line)}</li>" for line in summary_lines(report)], "</ul>",
            "<h2>Plots</h2>", f'<div class="plots">{plot_html or "<p class=muted>nothing to plot</p>"}</div>',
            "<h2>Speed</h2>", '<p class="muted">Each fast setting is measured against the same model\'s fp32 eager '
            "path on the same inputs: speedup, and the output difference in 8-bit grey levels and PSNR.</p>",
            _table(report["speed"], SPEED_COLUMNS, kind="speed")]
    if report.get("quality"):
        body += ["<h2>Quality</h2>", _table(report["quality"], QUALITY_COLUMNS, kind="quality")]
    body += ["<h2>Image grids (input / output / reference, same crop)</h2>", _grids(report.get("samples") or [])]
    if report.get("micro"):
        body += ["<h2>Microbenchmarks (pytest-benchmark)</h2>", _table(report["micro"], MICRO_COLUMNS)]
    if report.get("comparison"):
        body += [f"<h2>Comparison with baseline {html.escape(str(report.get('baseline')))}</h2>",
                 _table(report["comparison"], COMPARISON_COLUMNS, kind="comparison")]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<link rel=\"icon\" href=\"data:,\"><title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
