"""Check a GPU report against the goals of issue 7 and write ``goals.md`` beside it.

    python benchmarks/gpu_goals.py benchmarks/results/gpu-h200

Goals: every translation generator reaches >= 40% of the device's dense bf16 peak in its best bf16
setting (the ``pct_of_peak`` column of ``speed.csv``); FID feature extraction is >= 3x pytorch-fid's
images/s on the same device (``fid_throughput.txt`` from ``metrics_fid_throughput.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GENERATOR_GOAL_PCT = 40.0
FID_GOAL_RATIO = 3.0


def fid_ratios(text: str) -> dict[str, float]:
    """``path`` -> zoo/pytorch-fid images/s ratio, from the throughput script's table."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] in ("folder", "tensor"):
            try:
                out[parts[0]] = float(parts[3])
            except ValueError:
                continue
    return out


def main(folder: str) -> int:
    root = Path(folder)
    report = json.loads((root / "report.json").read_text())
    lines = [f"# GPU goals: {report['machine'].get('gpu') or 'no GPU'}", ""]
    ok = True
    best: dict[str, dict] = {}
    for row in report["speed"]:
        if row.get("task") != "translation" or row.get("dtype") != "bf16" or row.get("status") != "ok":
            continue
        if row.get("pct_of_peak") is not None and row["pct_of_peak"] > best.get(row["model"], {}).get("pct_of_peak", -1):
            best[row["model"]] = row
    if not best:
        lines.append("- generators: no bf16 translation rows with a known device peak: NOT MEASURED")
        ok = False
    for model, row in best.items():
        passed = row["pct_of_peak"] >= GENERATOR_GOAL_PCT
        ok &= passed
        lines.append(f"- {model}: {row['pct_of_peak']:.1f}% of dense bf16 peak ({row['tflops']:.1f} of "
                     f"{row['peak_tflops']:g} TFLOP/s, {row['gflops_per_image']:.1f} GFLOP/img, setting "
                     f"{row['setting']}, batch {row['batch']}): {'PASS' if passed else 'FAIL'} (goal >= {GENERATOR_GOAL_PCT:g}%)")
    fid_file = root / "fid_throughput.txt"
    ratios = fid_ratios(fid_file.read_text()) if fid_file.is_file() else {}
    if not ratios:
        lines.append("- FID features: no fid_throughput.txt table: NOT MEASURED")
        ok = False
    for path, ratio in ratios.items():
        passed = ratio >= FID_GOAL_RATIO
        ok &= passed if path == "tensor" else True
        lines.append(f"- FID features ({path} path): {ratio:.2f}x pytorch-fid images/s: "
                     f"{'PASS' if passed else 'FAIL'} (goal >= {FID_GOAL_RATIO:g}x)")
    text = "\n".join(lines) + "\n"
    (root / "goals.md").write_text(text)
    print(text, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
