"""The top of a report: per task, the fastest model (size-fair), the best quality with real weights, and the
best fast setting within the output budget; and the "best fast setting" rule the leaderboard shares.

Images/s across different input sizes is not a comparison, so speed is ranked by output megapixels per second
within one task and one input size (the size every label states).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from zoo.bench.suite import BASELINE, DEFAULT_THRESHOLDS
from zoo.bench.cells import fmt

#: metrics in the order a task's headline metric is chosen, and whether higher is better
HEADLINE_METRICS = (("psnr-y", True), ("psnr", True), ("lpips", False), ("fid", False), ("fd-dinov2", False),
                    ("kid", False), ("ssim-y", True), ("ssim", True), ("style", False), ("content", False))


def ok_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "ok" and r.get("images_per_s")]


def size_label(row: Mapping[str, Any]) -> str:
    """``128 px`` or ``64→256 px`` when the output is larger than the input."""
    size, out = row.get("size"), row.get("out_size")
    return f"{size}→{out} px" if out and size and out != size else f"{size} px"


def within_budget(row: Mapping[str, Any], thresholds: Mapping[str, float] | None = None) -> bool:
    """Whether a fast setting's output stays within the budget against fp32 eager (grey levels and PSNR)."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    grey, psnr = row.get("max_abs_diff_grey"), row.get("psnr_vs_eager_db")
    if grey is None:
        return False
    return float(grey) <= float(t["fast_max_grey"]) and (psnr is None or float(psnr) >= float(t["fast_min_psnr_db"]))


def best_fast(rows: Sequence[Mapping[str, Any]], thresholds: Mapping[str, float] | None = None) -> Mapping[str, Any] | None:
    """The fastest fast-setting row within the output budget that beats eager (None when none does)."""
    fits = [r for r in ok_rows(rows) if r.get("setting") != BASELINE.name and r.get("speedup_vs_eager")
            and within_budget(r, thresholds) and float(r["speedup_vs_eager"]) > 1]
    return max(fits, key=lambda r: float(r["speedup_vs_eager"])) if fits else None


def headline_metric(rows: Sequence[Mapping[str, Any]]) -> tuple[str, bool] | None:
    names = {str(r.get("metric")).lower() for r in rows}
    for name, higher in HEADLINE_METRICS:
        if name in names:
            return name, higher
    return None


def task_summary(report: Mapping[str, Any]) -> list[str]:
    """One line per task: fastest at its most measured size, best quality, best fast setting within budget."""
    thresholds = (report.get("suite") or {}).get("thresholds") or {}
    speed = ok_rows(report.get("speed") or [])
    quality = [r for r in report.get("quality") or [] if isinstance(r.get("value"), (int, float))]
    tasks = list(dict.fromkeys([r.get("task") for r in speed] + [r.get("task") for r in quality]))
    lines = []
    for task in [t for t in tasks if t]:
        parts = []
        eager = [r for r in speed if r.get("task") == task and r.get("setting") == BASELINE.name]
        if eager:
            sizes = [r.get("size") for r in eager]
            common = max(set(sizes), key=lambda s: (sizes.count(s), -(s or 0)))
            at = [r for r in eager if r.get("size") == common]
            top = max(at, key=lambda r: float(r.get("mpix_per_s") or 0))
            parts.append(f"fastest at {size_label(top)}: **{top['model']}**, {fmt(top.get('mpix_per_s'))} output MP/s "
                         f"({fmt(top['images_per_s'])} img/s, fp32 eager, {len(at)} models at this size)")
        rows = [r for r in quality if r.get("task") == task]
        metric = headline_metric(rows)
        if metric:
            name, higher = metric
            dataset = next(r.get("dataset") for r in rows if str(r.get("metric")).lower() == name)
            same = [r for r in rows if str(r.get("metric")).lower() == name and r.get("dataset") == dataset]
            top = (max if higher else min)(same, key=lambda r: float(r["value"]))
            parts.append(f"best {name} on {dataset}: **{top['model']}** {fmt(top['value'])} "
                         f"({len(same)} with weights here)")
        fast = best_fast([r for r in speed if r.get("task") == task], thresholds)
        if fast:
            parts.append(f"best fast setting within budget: **{fast['setting']}** on {fast['model']} "
                         f"({size_label(fast)}), {fmt(fast['speedup_vs_eager'])}x "
                         f"({fmt(fast.get('speedup_min'))}-{fmt(fast.get('speedup_max'))}x), "
                         f"max diff {fmt(fast.get('max_abs_diff_grey'))} levels")
        if parts:
            lines.append(f"{task}: " + "; ".join(parts))
    return lines
