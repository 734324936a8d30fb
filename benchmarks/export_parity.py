"""Full-size export parity: one entry per architecture family, ONNX and torch.export, dynamic sizes.

    python benchmarks/export_parity.py [--formats onnx,torch-export] [--entries a,b] [--pretrained]

Each network is exported by ``zoo.export.export_network`` (traced at the default size, verified at two
other sizes by the exporter itself) and then run again here at those sizes; the max abs difference to
PyTorch (raw and on [0,1] outputs) goes to benchmarks/results/export-parity.{csv,md}. Random seeded
weights by default (the export graph does not depend on their values); ``--pretrained`` uses the
catalog weights where they are in the cache.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

import zoo  # noqa: E402
from results_io import write_csv, write_markdown  # noqa: E402
from zoo.export import export_network  # noqa: E402

ENTRIES = ["cyclegan-horse2zebra", "pix2pix-facades-label2photo", "realesrgan-x4plus", "realesrgan-x2plus",
           "realesr-general-x4v3", "fast-neural-style-mosaic", "style-transfer-udnie"]


def run_file(path: Path, fmt: str, x: torch.Tensor) -> torch.Tensor:
    if fmt == "onnx":
        import onnxruntime as ort

        return torch.from_numpy(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
                                .run(None, {"input": x.numpy()})[0])
    return torch.export.load(str(path)).module()(x)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", default="onnx,torch-export")
    parser.add_argument("--entries", default=",".join(ENTRIES))
    parser.add_argument("--pretrained", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "export-parity"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.entries.split(","):
            torch.manual_seed(0)
            pipe = zoo.load(name, pretrained=args.pretrained, device="cpu")
            net, entry = pipe.model, pipe.entry
            lo, hi = entry.processing.value_range
            span = entry.processing.out_range[1] - entry.processing.out_range[0]
            for fmt in args.formats.split(","):
                path = Path(tmp) / f"{name}.{'onnx' if fmt == 'onnx' else 'pt2'}"
                start = time.perf_counter()
                try:
                    report = export_network(net, entry, path, format=fmt, dynamic=True, weights=pipe.weights)
                except Exception as exc:  # noqa: BLE001 - record and go on
                    rows.append({"entry": name, "format": fmt, "error": f"{type(exc).__name__}: {exc}"[:300]})
                    print(rows[-1], flush=True)
                    continue
                worst = 0.0
                for i, (h, w) in enumerate(report.verified_sizes):
                    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(100 + i)) * (hi - lo) + lo
                    with torch.no_grad():
                        worst = max(worst, float((run_file(path, fmt, x) - net(x)).abs().max()))
                row = {"entry": name, "architecture": entry.architecture, "format": fmt,
                       "traced": "x".join(map(str, report.traced_size)),
                       "verified_sizes": " ".join(f"{h}x{w}" for h, w in report.verified_sizes),
                       "size_multiple": report.size_multiple, "max_abs_diff": f"{worst:.3g}",
                       "max_abs_diff_01": f"{worst / span:.3g}", "within_1e-4": worst / span <= 1e-4,
                       "seconds": round(time.perf_counter() - start, 1), "error": ""}
                rows.append(row)
                print(row, flush=True)
    out = Path(args.out)
    write_csv(out.with_suffix(".csv"), rows)
    lines = ["# Export parity (full-size networks, dynamic height/width)", "",
             f"`python benchmarks/export_parity.py --formats {args.formats}` — torch {torch.__version__}; "
             f"{'catalog' if args.pretrained else 'seeded random'} weights; differences to PyTorch eager fp32 at two "
             "sizes other than the traced one, raw and on outputs scaled to [0,1].", "",
             "| entry | format | traced | verified at | size multiple | max abs diff | on [0,1] | <= 1e-4 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['entry']} | {r['format']} | error: {r['error']} | | | | | |")
        else:
            lines.append(f"| {r['entry']} | {r['format']} | {r['traced']} | {r['verified_sizes']} | {r['size_multiple']} "
                         f"| {r['max_abs_diff']} | {r['max_abs_diff_01']} | {'yes' if r['within_1e-4'] else 'NO'} |")
    write_markdown(out.with_suffix(".md"), lines)
    print(f"wrote {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
