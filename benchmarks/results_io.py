"""What the benchmark scripts share: ``NAME:SIZE`` case lists and result files written atomically.

Imported by the scripts beside it (``python benchmarks/<script>.py`` puts this folder on ``sys.path``).
"""

from __future__ import annotations

import csv
import os
import sys
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


def run_line(script: str, threads: int, load_before: tuple[float, ...], *, onnxruntime: bool = False) -> str:
    """The command that made a results file and what it ran on: torch (and onnxruntime), the CPU and its torch
    capability, the thread count, and the load average before and after (the machine may be shared)."""
    import torch

    from zoo.inference.tuning import cpu_name

    versions = [f"torch {torch.__version__}"]
    if onnxruntime:
        import onnxruntime as ort

        versions.append(f"onnxruntime {ort.__version__}")
    return (f"`python benchmarks/{script} {' '.join(sys.argv[1:])}` — {', '.join(versions)}, {cpu_name()} (torch CPU "
            f"capability {torch.backends.cpu.get_cpu_capability()}), {threads} threads; load average "
            f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
