"""``zoo export NAME -o FILE``: a model's network as ONNX or ``torch.export``, verified against PyTorch."""

from __future__ import annotations

import argparse
import json

from zoo.export import DEFAULT_OPSET, EXPORTERS, export_model, report_dict


def add_weights_options(p: argparse.ArgumentParser) -> None:
    """The entry and weights of ``zoo export`` and ``zoo convert`` (``zoo.export`` / ``convert_to_safetensors``)."""
    p.add_argument("name", help="catalog entry")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--weights", help="weights file, URL, hf://owner/repo/file or plugin URI (default: the entry's)")
    p.add_argument("--weights-format", help="checkpoint format of --weights (default: detected)")
    p.add_argument("--infer-architecture", action="store_true",
                   help="read block counts / widths off the weights instead of the entry's kwargs")
    p.add_argument("--no-pretrained", action="store_true", help="random weights (for testing a pipeline)")
    p.add_argument("--offline", action="store_true", help="never download (ZOO_OFFLINE=1)")


def weights_arguments(args: argparse.Namespace) -> dict:
    return {"weights": args.weights, "weights_format": args.weights_format, "pretrained": not args.no_pretrained,
            "infer_architecture": args.infer_architecture, "offline": args.offline or None}


def _sample_size(text: str) -> tuple[int, int]:
    """``H`` or ``HxW`` in positive integers: a bad value is an argparse error before any weights are read."""
    h, sep, w = text.strip().lower().partition("x")
    try:
        size = (int(h), int(w if sep else h))
    except ValueError:
        size = (0, 0)
    if min(size) < 1:
        raise argparse.ArgumentTypeError(f"expected H or HxW positive integers (e.g. 64 or 64x96), got {text!r}")
    return size


def cmd_export(args: argparse.Namespace) -> int:
    report = export_model(args.name, args.output, format=args.format, dynamic=args.dynamic, opset=args.opset,
                          dtype=args.dtype, sample_size=args.sample_size, tolerance=args.tolerance, log=print,
                          exporter=args.exporter, overwrite=args.overwrite,
                          **weights_arguments(args))
    if args.json:
        print(json.dumps(report_dict(report), indent=1, default=str))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model's network to ONNX or torch.export, verified against PyTorch")
    add_weights_options(p)
    p.add_argument("--format", choices=["onnx", "torch-export"], default="onnx")
    p.add_argument("--dynamic", action="store_true", help="free batch/height/width (multiples of the size multiple)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    p.add_argument("--exporter", choices=EXPORTERS, default="auto",
                   help="ONNX exporter: dynamo (needs onnxscript, opset >= 18), torchscript, or auto (default: dynamo, "
                        "falling back to torchscript when it fails or does not verify)")
    p.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32")
    p.add_argument("--sample-size", type=_sample_size, metavar="HxW",
                   help="H or HxW traced (default: 64 rounded to the size multiple, at least 2 blocks)")
    p.add_argument("--tolerance", type=float, help="max abs difference on [0,1] outputs (default 1e-4 fp32, 1e-2 fp16)")
    p.add_argument("--overwrite", action="store_true", help="replace -o FILE if it exists (default: refuse)")
    p.add_argument("--json", action="store_true", help="print the export report as JSON")
    p.set_defaults(func=cmd_export)
