"""What the benchmark scripts share: ``NAME:SIZE`` case lists and result files written atomically.

Imported by the scripts beside it (``python benchmarks/<script>.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from zoo.files import atomic_path, write_text_atomic


def parse_cases(text: str) -> list[tuple[str, int]]:
    """``"cyclegan-horse2zebra:256,realesrgan-x4plus:128"`` -> ``[(name, size), ...]``."""
    cases = []
    for item in text.split(","):
        name, _, size = item.strip().rpartition(":")
        if not name or not size.isdigit():
            raise SystemExit(f"--cases: expected NAME:SIZE[,NAME:SIZE...], got {item!r}")
        cases.append((name, int(size)))
    return cases


def write_csv(path: str | Path, rows: list[dict]) -> None:
    """``rows`` as CSV, the columns every row's keys in first-seen order; replaced only when complete."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        writer.writeheader()
        writer.writerows(rows)


def write_markdown(path: str | Path, lines: list[str]) -> None:
    write_text_atomic(path, "\n".join(lines) + "\n")
