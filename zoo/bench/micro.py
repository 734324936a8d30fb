"""Fold pytest-benchmark JSON (``pytest benchmarks/micro --benchmark-json FILE``) into the report's tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.bench.suite import SuiteError


def read_micro_json(path: str | Path) -> list[dict[str, Any]]:
    """One row per benchmark: group, name, median/mean/min/stddev in ms, ops/s, rounds, extra info."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"--micro-json {path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"--micro-json {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        raise SuiteError(f"--micro-json {path}: no 'benchmarks' list; expected pytest-benchmark's --benchmark-json output")
    rows = []
    for bench in benchmarks:
        stats = bench.get("stats") or {}
        try:
            rows.append({
                "group": bench.get("group") or "", "name": bench["name"],
                "median_ms": round(stats["median"] * 1000, 4), "mean_ms": round(stats["mean"] * 1000, 4),
                "min_ms": round(stats["min"] * 1000, 4), "stddev_ms": round(stats["stddev"] * 1000, 4),
                "ops_per_s": round(stats["ops"], 3), "rounds": stats["rounds"],
                "extra": ", ".join(f"{k}={v}" for k, v in (bench.get("extra_info") or {}).items()),
                "source": path.name,
            })
        except (KeyError, TypeError) as exc:
            raise SuiteError(f"--micro-json {path}: benchmark {bench.get('name')!r} lacks stats field {exc}") from None
    return rows
