"""``--baseline DIR``: compare a report with an earlier one and flag regressions beyond thresholds.

Speed: rows that match on (model, setting, requested batch, input size, device) are compared by
images/s; ``new / old < thresholds.speed_ratio`` (default 0.8) is a regression, as is a row that ran
before and fails now. Quality: rows that match on (model, dataset, metric, flavour) are compared by
value; a change in the worse direction larger than ``thresholds.quality_rel`` of the old value
(default 2%) is a regression. Metric direction: PSNR/SSIM higher is better, the rest lower.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from zoo.bench.suite import SuiteError

HIGHER_IS_BETTER = ("psnr", "ssim", "is", "inception")


def read_report(folder: str | Path) -> dict[str, Any]:
    path = Path(folder)
    path = path if path.suffix == ".json" else path / "report.json"
    if not path.is_file():
        raise SuiteError(f"no zoo bench report at {path} (expected a folder written by `zoo bench --out`)")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(report, dict) or report.get("kind") != "zoo-bench-report":
        raise SuiteError(f"{path}: not a zoo bench report (no \"kind\": \"zoo-bench-report\")")
    return report


def higher_is_better(metric: str) -> bool:
    return str(metric).lower().startswith(HIGHER_IS_BETTER)


def _speed_key(row: Mapping[str, Any]) -> tuple:
    return (row.get("model"), row.get("setting"), row.get("batch_requested", row.get("batch")), row.get("size"),
            str(row.get("device", "")).split(":")[0])


def _quality_key(row: Mapping[str, Any]) -> tuple:
    return row.get("model"), row.get("dataset"), row.get("metric"), row.get("flavour")


def compare_reports(current: Mapping[str, Any], baseline: Mapping[str, Any],
                    thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """One row per matched measurement: old, new, ratio/delta and whether it is a regression."""
    speed_ratio, quality_rel = float(thresholds.get("speed_ratio", 0.8)), float(thresholds.get("quality_rel", 0.02))
    rows: list[dict[str, Any]] = []
    old_speed = {_speed_key(r): r for r in baseline.get("speed", [])}
    for row in current.get("speed", []):
        old = old_speed.get(_speed_key(row))
        if old is None or old.get("status") != "ok":
            continue
        base = {"kind": "speed", "model": row["model"], "what": f"{row['setting']} batch {row.get('batch_requested')}",
                "unit": "images/s", "old": old.get("images_per_s")}
        if row.get("status") != "ok":
            rows.append({**base, "new": None, "change": None, "regression": True, "reason": f"now {row.get('status')}"})
            continue
        ratio = row["images_per_s"] / old["images_per_s"] if old.get("images_per_s") else None
        bad = ratio is not None and ratio < speed_ratio
        rows.append({**base, "new": row["images_per_s"], "change": None if ratio is None else round(ratio, 3),
                     "regression": bad,
                     "reason": f"{ratio:.2f}x of baseline speed (threshold {speed_ratio:g}x)" if bad else ""})
    old_quality = {_quality_key(r): r for r in baseline.get("quality", []) if isinstance(r.get("value"), (int, float))}
    for row in current.get("quality", []):
        old = old_quality.get(_quality_key(row))
        if old is None:
            continue
        base = {"kind": "quality", "model": row["model"], "what": f"{row.get('dataset')} {row.get('metric')}",
                "unit": "", "old": old["value"]}
        value = row.get("value")
        if not isinstance(value, (int, float)):
            rows.append({**base, "new": None, "change": None, "regression": True, "reason": f"now {row.get('status')}"})
            continue
        delta = value - old["value"]
        worse = -delta if higher_is_better(str(row.get("metric"))) else delta
        bad = worse > quality_rel * max(abs(old["value"]), 1e-12)
        rows.append({**base, "new": value, "change": round(delta, 6), "regression": bad,
                     "reason": f"worse by {abs(delta):.4g} (> {quality_rel:.0%} of {old['value']:.4g})" if bad else ""})
    return rows
