"""The report's plots (matplotlib, as base64 PNG): size-fair throughput, fast paths, quality vs speed.

Every speed label states its input size: output megapixels per second compare models within one task and
size, images/s across different sizes would not. Log axes label 1-2-5 steps in plain numbers.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Mapping, Sequence

from zoo.bench.summary import headline_metric, ok_rows, size_label
from zoo.bench.suite import BASELINE


def fig_to_b64(fig) -> str:
    import matplotlib.pyplot as plt  # heavy

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def log_axis(ax, which: str = "x") -> None:
    """A log axis whose labels never overlap: majors at 1, 2, 5 x 10^k written as plain numbers, no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # heavy

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def smallest_batch(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if not rows:
        return []
    first = min(r.get("batch_requested") or r.get("batch") or 1 for r in rows)
    return [r for r in rows if (r.get("batch_requested") or r.get("batch") or 1) == first]


def _label(row: Mapping[str, Any]) -> str:
    return f"{row['model']} ({size_label(row)})"


def _mpix(row: Mapping[str, Any], key: str) -> float:
    out = row.get("out_size") or row.get("size") or 0
    return float(row.get(key) or row["images_per_s"]) * out * out / 1e6


def plot_throughput(speed: Sequence[Mapping[str, Any]]) -> str | None:
    """Output megapixels/s of every model's fp32 eager row, grouped by task, with the range over rounds."""
    rows = smallest_batch([r for r in ok_rows(speed) if r.get("setting") == BASELINE.name and r.get("out_size")])
    if not rows:
        return None
    import matplotlib.pyplot as plt  # heavy

    tasks = list(dict.fromkeys(r.get("task") or "?" for r in rows))
    rows = sorted(rows, key=lambda r: (tasks.index(r.get("task") or "?"), _mpix(r, "images_per_s")))
    colours = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7.0, 0.3 * len(rows) + 1.5))
    values = [_mpix(r, "images_per_s") for r in rows]
    errors = [[v - _mpix(r, "ips_min") for v, r in zip(values, rows)], [_mpix(r, "ips_max") - v for v, r in zip(values, rows)]]
    ax.barh(range(len(rows)), values, xerr=errors, color=[colours(tasks.index(r.get("task") or "?") % 10) for r in rows],
            error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yticks(range(len(rows)), [_label(r) for r in rows], fontsize=8)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.3g}", va="center", fontsize=7)
    log_axis(ax)
    ax.set_xlabel("output megapixels/s (fp32 eager, median of rounds; bar: min-max)")
    ax.set_title("Throughput at the stated input size (compare within one task and size)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours(i % 10)) for i in range(len(tasks))]
    ax.legend(handles, tasks, fontsize=7, loc="lower right")
    return fig_to_b64(fig)


def plot_fast_paths(speed: Sequence[Mapping[str, Any]]) -> str | None:
    """Speedup of every fast setting over the same model's eager path, with its range over rounds."""
    rows = smallest_batch([r for r in ok_rows(speed) if r.get("speedup_vs_eager") is not None])
    if not rows:
        return None
    import matplotlib.pyplot as plt  # heavy

    labels = list(dict.fromkeys(_label(r) for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    height = 0.8 / len(settings)
    fig, ax = plt.subplots(figsize=(7.0, 0.4 * len(labels) * max(1, len(settings) / 2) + 1.5))
    colours = plt.get_cmap("tab10")
    for j, setting in enumerate(settings):
        mine = {_label(r): r for r in rows if r["setting"] == setting}
        ys = [i + j * height for i, label in enumerate(labels) if label in mine]
        picked = [mine[label] for label in labels if label in mine]
        values = [float(r["speedup_vs_eager"]) for r in picked]
        errors = [[v - float(r.get("speedup_min") or v) for v, r in zip(values, picked)],
                  [float(r.get("speedup_max") or v) - v for v, r in zip(values, picked)]]
        ax.barh(ys, values, height=height, xerr=errors, label=setting, color=colours(j % 10),
                error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.axvline(1.0, color="#333", lw=1, ls="--")
    ax.set_yticks([i + height * (len(settings) - 1) / 2 for i in range(len(labels))], labels, fontsize=8)
    ax.set_xlabel("speedup over the same model's fp32 eager path (median of rounds; bar: min-max; >1 is faster)")
    ax.set_title("Eager vs fast path")
    ax.legend(fontsize=8, loc="best")
    return fig_to_b64(fig)


def plot_quality_vs_speed(speed: Sequence[Mapping[str, Any]], quality: Sequence[Mapping[str, Any]]) -> str | None:
    """Per task, the headline metric against output megapixels/s; a panel needs two models of ours, or one
    with its published value beside it (a single point says nothing)."""
    eager = smallest_batch([r for r in ok_rows(speed) if r.get("setting") == BASELINE.name and r.get("out_size")])
    numeric = [r for r in quality if isinstance(r.get("value"), (int, float))]
    panels = []
    for task in dict.fromkeys(r.get("task") or "?" for r in numeric):
        rows = [r for r in numeric if (r.get("task") or "?") == task]
        metric = headline_metric(rows)
        if metric is None:
            continue
        dataset = next(r.get("dataset") for r in rows if str(r.get("metric")).lower() == metric[0])
        points = []
        for r in rows:
            if str(r.get("metric")).lower() != metric[0] or r.get("dataset") != dataset:
                continue
            mine = [s for s in eager if s["model"] == r["model"]]
            if mine:
                points.append((r, min(mine, key=lambda s: s.get("size") or 0)))
        if len(points) >= 2 or any(r.get("published") is not None for r, _ in points):
            panels.append((task, metric[0], dataset, points))
    if not panels:
        return None
    import matplotlib.pyplot as plt  # heavy

    fig, axes = plt.subplots(1, len(panels), figsize=(5.4 * len(panels), 4.0), squeeze=False)
    for ax, (task, metric, dataset, points) in zip(axes[0], panels):
        xs = [_mpix(s, "images_per_s") for _, s in points]
        ax.scatter(xs, [r["value"] for r, _ in points], color="#d0574a", zorder=3, label="ours")
        published = [(x, r["published"]) for x, (r, _) in zip(xs, points) if r.get("published") is not None]
        if published:
            ax.scatter(*zip(*published), facecolors="none", edgecolors="#333", zorder=3, label="published")
        for x, (r, s) in zip(xs, points):
            ax.annotate(_label(s), (x, r["value"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        log_axis(ax)
        ax.set_xlabel("output megapixels/s (fp32 eager, at the labelled size)")
        ax.set_ylabel(f"{metric} on {dataset}")
        ax.set_title(f"{task}: quality vs speed")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return fig_to_b64(fig)
