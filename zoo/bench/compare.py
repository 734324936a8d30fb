"""``--baseline DIR``: compare a report with an earlier one and flag regressions beyond thresholds.

Speed: rows that match on (model, setting, requested batch, input size, device) are compared by
images/s over rounds. A row is a regression only when the two ranges (min-max over rounds) separate,
this run's whole range below the baseline's, and the medians' ratio is below ``thresholds.speed_ratio``
(default 0.8); overlapping ranges are "within noise" whatever the medians say. When either run was noisy
(:mod:`zoo.bench.noise`) a separated row is "inconclusive", not a regression: rerun on a quiet machine.
A row that ran before and fails now is a regression. Quality: rows that match on (model, dataset, metric,
flavour) are compared by value; a change in the worse direction larger than ``thresholds.quality_rel`` of
the old value (default 2%) is a regression. Metric direction: PSNR/SSIM higher is better, the rest lower.
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
    _check_fields(report, path)
    return report


#: what the tables, page and comparison read from a report: top-level field -> (JSON type, its required keys)
REQUIRED = {"machine": (dict, ()), "suite": (dict, ("name",)), "status": (dict, ("models", "measured")),
            "speed": (list, ())}


def _check_fields(report: Mapping[str, Any], path: Path) -> None:
    """A truncated or hand-made report fails naming the file and what is missing, not as a KeyError in a table."""
    missing = [key for key in REQUIRED if key not in report]
    missing += [f"{key}.{sub}" for key, (kind, subs) in REQUIRED.items() if isinstance(report.get(key), dict)
                for sub in subs if sub not in report[key]]
    if missing:
        raise SuiteError(f"{path}: missing {', '.join(missing)}: not a complete zoo bench report (truncated or "
                         "hand-made?); rerun zoo bench to write one")
    for key, (kind, _) in REQUIRED.items():
        if not isinstance(report[key], kind):
            raise SuiteError(f"{path}: {key}: expected {'a mapping' if kind is dict else 'a list'}, "
                             f"got {type(report[key]).__name__}")
    for table, keys in (("speed", ("model", "setting")), ("quality", ("model",)), ("micro", ()), ("comparison", ())):
        rows = report.get(table) or []
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise SuiteError(f"{path}: {table}: expected a list of rows (mappings)")
        for i, row in enumerate(rows):
            if any(key not in row for key in keys):
                raise SuiteError(f"{path}: {table}[{i}]: missing {', '.join(k for k in keys if k not in row)}")


def higher_is_better(metric: str) -> bool:
    return str(metric).lower().startswith(HIGHER_IS_BETTER)


def _speed_key(row: Mapping[str, Any]) -> tuple:
    return (row.get("model"), row.get("setting"), row.get("batch_requested", row.get("batch")), row.get("size"),
            str(row.get("device", "")).split(":")[0])


def _quality_key(row: Mapping[str, Any]) -> tuple:
    return row.get("model"), row.get("dataset"), row.get("metric"), row.get("flavour")


def _range(row: Mapping[str, Any]) -> tuple[float, float]:
    """A row's images/s range over rounds; a report from before rounds has only its one figure."""
    middle = float(row["images_per_s"])
    return float(row.get("ips_min") or middle), float(row.get("ips_max") or middle)


def is_noisy(report: Mapping[str, Any]) -> bool:
    return bool((report.get("noise") or {}).get("noisy"))


def attach_comparison(report: dict[str, Any], baseline: Mapping[str, Any], source: str | Path,
                      thresholds: Mapping[str, float]) -> None:
    """Put the comparison with ``baseline`` (read from ``source``) into ``report``, with whether it was noisy."""
    report["baseline"] = str(source)
    report["baseline_noisy"] = is_noisy(baseline)
    report["comparison"] = compare_reports(report, baseline, thresholds)


def speed_verdict(row: Mapping[str, Any], old: Mapping[str, Any], speed_ratio: float,
                  noisy: str | None) -> tuple[str, str]:
    """(verdict, reason): ``regression``, ``faster``, ``within noise``, ``unchanged`` or ``inconclusive``."""
    ratio = row["images_per_s"] / old["images_per_s"]
    (new_lo, new_hi), (old_lo, old_hi) = _range(row), _range(old)
    ranges = f"now {new_lo:.4g}-{new_hi:.4g} vs {old_lo:.4g}-{old_hi:.4g} img/s"
    if new_hi < old_lo and ratio < speed_ratio:
        if noisy:
            return "inconclusive", f"{ratio:.2f}x of baseline speed, but {noisy} was noisy: rerun on a quiet machine ({ranges})"
        return "regression", f"{ratio:.2f}x of baseline speed (threshold {speed_ratio:g}x; {ranges})"
    if new_lo > old_hi:
        return "faster", f"{ratio:.2f}x of baseline speed ({ranges})"
    if new_hi < old_lo:
        return "slower", f"{ratio:.2f}x of baseline speed, within the {speed_ratio:g}x threshold ({ranges})"
    return "within noise", f"ranges overlap ({ranges})"


def compare_reports(current: Mapping[str, Any], baseline: Mapping[str, Any],
                    thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """One row per matched measurement: old, new, ratio/delta, a verdict and whether it is a regression."""
    speed_ratio, quality_rel = float(thresholds.get("speed_ratio", 0.8)), float(thresholds.get("quality_rel", 0.02))
    noisy = " and ".join(w for w, r in (("this run", current), ("the baseline", baseline)) if is_noisy(r)) or None
    rows: list[dict[str, Any]] = []
    old_speed = {_speed_key(r): r for r in baseline.get("speed", [])}
    for row in current.get("speed", []):
        old = old_speed.get(_speed_key(row))
        if old is None or old.get("status") != "ok":
            continue
        base = {"kind": "speed", "model": row["model"],
                "what": f"{row['setting']} {row.get('size')} px batch {row.get('batch_requested')}",
                "unit": "images/s", "old": old.get("images_per_s")}
        if row.get("status") != "ok":
            rows.append({**base, "new": None, "change": None, "verdict": "regression", "regression": True,
                         "reason": f"now {row.get('status')}"})
            continue
        if not old.get("images_per_s"):
            continue
        verdict, reason = speed_verdict(row, old, speed_ratio, noisy)
        rows.append({**base, "new": row["images_per_s"], "change": round(row["images_per_s"] / old["images_per_s"], 3),
                     "verdict": verdict, "regression": verdict == "regression", "reason": reason})
    old_quality = {_quality_key(r): r for r in baseline.get("quality", []) if isinstance(r.get("value"), (int, float))}
    for row in current.get("quality", []):
        old = old_quality.get(_quality_key(row))
        if old is None:
            continue
        base = {"kind": "quality", "model": row["model"], "what": f"{row.get('dataset')} {row.get('metric')}",
                "unit": "", "old": old["value"]}
        value = row.get("value")
        if not isinstance(value, (int, float)):
            rows.append({**base, "new": None, "change": None, "verdict": "regression", "regression": True,
                         "reason": f"now {row.get('status')}"})
            continue
        delta = value - old["value"]
        worse = -delta if higher_is_better(str(row.get("metric"))) else delta
        bad = worse > quality_rel * max(abs(old["value"]), 1e-12)
        rows.append({**base, "new": value, "change": round(delta, 6), "verdict": "regression" if bad else "ok",
                     "regression": bad,
                     "reason": f"worse by {abs(delta):.4g} (> {quality_rel:.0%} of {old['value']:.4g})" if bad else ""})
    return rows
