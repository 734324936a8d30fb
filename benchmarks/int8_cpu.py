"""int8 on the CPU: does static quantisation beat bf16 within the output budget? (issue 16, item 3)

    python benchmarks/int8_cpu.py [--threads 2] [--rounds 7] [--cases NAME:SIZE,...] [--out PATH]

For the SR and translation generators it builds, from the same fp32 network:

* ``fp32`` (eager, the reference), ``bf16`` and ``bf16-cl`` (eager, channels_last): what ``fast=True`` tries;
* ``ort-fp32``: the onnxruntime backend;
* ``ort-int8``: onnxruntime static quantisation in QDQ format (per-channel int8 weights, uint8 activations,
  MinMax ranges calibrated on the zoo's bundled calibration images at the measured size);
* ``ort-int8-ends-fp32``: the same with the first and last convolution left in fp32 (the usual fix for
  image-to-image networks, whose output layer shows every quantisation step);
* ``torch-int8``: PyTorch's own route, FX graph mode post-training static quantisation with the x86 backend
  (``torch.ao.quantization.quantize_fx``; fbgemm/oneDNN int8 kernels), calibrated on the same images.

All are timed on the bundled astronaut (one call of each per round, the order rotating every round) and
compared with fp32 eager on it: speedup over fp32 and over the best bf16, PSNR and max grey-level difference,
and whether the setting is within the default budget (PSNR >= 45 dB, max 8 grey levels). A setting would
become a ``fast=True`` candidate only if it beat bf16 within the budget. Writes
benchmarks/results/int8-cpu.{csv,md} unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

import zoo  # noqa: E402
from results_io import parse_cases, run_line, write_csv, write_markdown  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.inference import calibration, tuning  # noqa: E402
from zoo.inference.settings import output_difference  # noqa: E402
from zoo.inference.backends import wrap_backend  # noqa: E402

CASES = [("cyclegan-horse2zebra", 128), ("pix2pix-facades-label2photo", 256), ("realesr-animevideov3", 64),
         ("realesrgan-x4plus", 64)]


def load(name: str):
    try:
        return zoo.load(name, offline=True, progress=False), "pretrained"
    except ZooError:
        torch.manual_seed(0)
        return zoo.load(name, pretrained=False), "random (seed 0)"


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = threads, 1, 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


def ort_int8(network, entry, images, side: int, threads: int, folder: Path, keep_ends: bool):
    """Static QDQ quantisation of the network's ONNX export, calibrated on ``images``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32 = folder / f"{entry.name}-{side}.onnx"
    if not fp32.is_file():
        zoo.export.export_network(network, entry, fp32, format="onnx", dynamic=False, sample_size=(side, side),
                                  exporter="torchscript")  # plain Conv nodes; the dynamo graph quantises alike
        quant_pre_process(str(fp32), str(fp32), skip_symbolic_shape=True)
    convs = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "Conv"]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"input": x.numpy()} for x in images])

        def get_next(self):
            return next(self.items, None)

    out = folder / f"{entry.name}-{side}-int8{'-ends' if keep_ends else ''}.onnx"
    quantize_static(str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=[convs[0], convs[-1]] if keep_ends else None)
    return ort_session(out, threads)


def torch_int8(network, images):
    from torch.ao.quantization import get_default_qconfig_mapping, quantize_fx

    torch.backends.quantized.engine = "x86"
    prepared = quantize_fx.prepare_fx(copy.deepcopy(network).eval(), get_default_qconfig_mapping("x86"), (images[0],))
    with torch.no_grad():
        for x in images:
            prepared(x)
    return quantize_fx.convert_fx(prepared)


def variants(pipeline, side: int, threads: int, folder: Path) -> dict:
    network, entry = pipeline.model.eval(), pipeline.entry
    images = calibration.calibration_images(entry, side)
    bf16 = copy.deepcopy(network).to(torch.bfloat16)
    bf16_cl = wrap_backend(copy.deepcopy(network), entry, "eager", options={"channels_last": True}).to(torch.bfloat16)
    builders = {
        "fp32": lambda: network,
        "bf16": lambda: (lambda x: bf16(x.to(torch.bfloat16)).float()),
        "bf16-cl": lambda: (lambda x: bf16_cl(x.to(torch.bfloat16)).float()),
        "ort-fp32": lambda: wrap_backend(copy.deepcopy(network), entry, "onnxruntime",
                                         options={"threads": threads, "progress": False}),
        "ort-int8": lambda: ort_int8(network, entry, images, side, threads, folder, keep_ends=False),
        "ort-int8-ends-fp32": lambda: ort_int8(network, entry, images, side, threads, folder, keep_ends=True),
        "torch-int8": lambda: torch_int8(network, images),
    }
    built, failed = {}, {}
    for name, build in builders.items():
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                built[name] = build()
        except Exception as exc:  # noqa: BLE001 - recorded in the table
            failed[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
        print(f"  {name}: prepared in {time.perf_counter() - start:.1f}s" + (f" FAILED {failed[name]}" if name in failed
                                                                           else ""), flush=True)
    return built, failed


def measure(runs: dict, x: torch.Tensor, rounds: int, out_range) -> dict:
    with torch.inference_mode():
        outputs = {name: run(x).float() for name, run in runs.items()}  # warm-up and the outputs compared
        times: dict[str, list[float]] = {name: [] for name in runs}
        order = list(runs)
        for r in range(rounds):
            for name in order[r % len(order):] + order[: r % len(order)]:
                start = time.perf_counter()
                runs[name](x)
                times[name].append(time.perf_counter() - start)
    result = {}
    for name, samples in times.items():
        grey, psnr = output_difference(outputs["fp32"], outputs[name], out_range)
        ratios = sorted(b / t for b, t in zip(times["fp32"], samples))
        result[name] = {"median_ms": statistics.median(samples) * 1000, "vs_fp32": statistics.median(ratios),
                        "vs_fp32_p25": statistics.quantiles(ratios, n=4, method="inclusive")[0],
                        "vs_fp32_p75": statistics.quantiles(ratios, n=4, method="inclusive")[2],
                        "psnr_db": psnr, "max_grey": grey}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", help="NAME:SIZE,... instead of the default cases")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "int8-cpu"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = parse_cases(args.cases) if args.cases else CASES
    budget = tuning.DEFAULT_BUDGET
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, side in cases:
            print(f"{name} at {side} px", flush=True)
            pipeline, weights = load(name)
            runs, failed = variants(pipeline, side, args.threads, Path(folder))
            x = calibration.calibration_images(pipeline.entry, side)[0].rot90(1, (2, 3)).contiguous()  # held out
            result = measure(runs, x, args.rounds, pipeline.entry.processing.out_range)
            best_bf16 = max(result["bf16"]["vs_fp32"], result["bf16-cl"]["vs_fp32"])
            for variant, r in result.items():
                within = budget.allows(r["psnr_db"], r["max_grey"])
                int8 = "int8" in variant
                rows.append({"model": name, "size": side, "weights": weights, "variant": variant,
                             "median_ms": round(r["median_ms"], 2), "speedup_vs_fp32": round(r["vs_fp32"], 3),
                             "spread_p25": round(r["vs_fp32_p25"], 3), "spread_p75": round(r["vs_fp32_p75"], 3),
                             "vs_best_bf16": round(r["vs_fp32"] / best_bf16, 3), "psnr_db": r["psnr_db"],
                             "max_grey": r["max_grey"], "within_budget": within,
                             "candidate": (within and r["vs_fp32"] > best_bf16) if int8 else None, "status": "ok"})
            rows += [{"model": name, "size": side, "weights": weights, "variant": v, "status": f"error: {why}"}
                     for v, why in failed.items()]
            write(rows, args, load_before)
    print(f"wrote {Path(args.out).with_suffix('.md')} and .csv")
    return 0


def write(rows: list[dict], args: argparse.Namespace, load_before) -> None:
    out = Path(args.out)
    write_csv(out.with_suffix(".csv"), rows)
    lines = ["# int8 vs bf16 on the CPU (issue 16, item 3)", "",
             f"{run_line('int8_cpu.py', args.threads, load_before, onnxruntime=True)}. Batch 1 network call on a held-out view of the bundled astronaut "
             f"(rotated; the int8 ranges were calibrated on the two bundled images), {args.rounds} rounds, order "
             "rotating; speedup = median of per-round fp32/variant ratios (spread: 25th-75th percentile). "
             f"Budget: {tuning.DEFAULT_BUDGET}. candidate = an int8 variant within the budget and faster than the "
             "best bf16.", "",
             "| model | size | weights | variant | ms | vs fp32 | spread | vs best bf16 | PSNR dB | max grey | within budget | candidate |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['model']} | {r['size']} | {r['weights']} | {r['variant']} | {r['status']} |||||||")
            continue
        lines.append(f"| {r['model']} | {r['size']} | {r['weights']} | {r['variant']} | {r['median_ms']} | "
                     f"{r['speedup_vs_fp32']}x | {r['spread_p25']}-{r['spread_p75']}x | {r['vs_best_bf16']}x | "
                     f"{'identical' if r['psnr_db'] is None else r['psnr_db']} | {r['max_grey']} | "
                     f"{'yes' if r['within_budget'] else 'no'} | {'-' if r['candidate'] is None else ('yes' if r['candidate'] else 'no')} |")
    write_markdown(out.with_suffix(".md"), lines)


if __name__ == "__main__":
    sys.exit(main())
