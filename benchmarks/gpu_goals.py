"""Check a GPU report against the goals of issue 7 and write ``goals.md`` beside it.

    python benchmarks/gpu_goals.py benchmarks/results/gpu-h200

Goals: every translation generator reaches >= 40% of the device's dense bf16 peak in its best bf16
setting (the ``pct_of_peak`` column of ``speed.csv``); FID feature extraction is >= 3x pytorch-fid's
images/s on the same device (``fid_throughput.txt`` from ``metrics_fid_throughput.py``).

A report measured without a GPU (the CPU dry run of ``gpu_check.sh``) has GPU goals that do not apply:
they are listed as NOT APPLICABLE and the exit status is 0, so the dry run fails only on a broken step.
On a GPU, an unmet or unmeasured goal exits 1.
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


def not_applicable(report: dict, root: Path) -> str:
    """goals.md of a report measured without a GPU: every goal listed, none judged."""
    device = report["machine"].get("device") or "cpu"
    lines = [f"# GPU goals: no GPU (device {device}: a dry run)", "",
             f"- generators >= {GENERATOR_GOAL_PCT:g}% of the dense bf16 peak: NOT APPLICABLE (no GPU peak on {device})",
             f"- FID features >= {FID_GOAL_RATIO:g}x pytorch-fid images/s: NOT APPLICABLE (measured on {device}, "
             "where the goal is not set)"]
    ratios = fid_ratios((root / "fid_throughput.txt").read_text()) if (root / "fid_throughput.txt").is_file() else {}
    lines += [f"  - measured anyway ({path} path): {ratio:.2f}x" for path, ratio in ratios.items()]
    return "\n".join(lines) + "\n"


def main(folder: str) -> int:
    root = Path(folder)
    report = json.loads((root / "report.json").read_text())
    if not report["machine"].get("gpu"):
        text = not_applicable(report, root)
        (root / "goals.md").write_text(text)
        print(text, end="")
        return 0
    lines = [f"# GPU goals: {report['machine'].get('gpu')}", ""]
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
