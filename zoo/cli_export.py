"""``zoo export`` (ONNX / torch.export, verified) and ``zoo convert`` (weights to safetensors with provenance)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .errors import ZooError

SAFETENSORS_METADATA_KEYS = ("zoo.entry", "zoo.architecture", "zoo.architecture_kwargs", "zoo.source_url",
                             "zoo.source_format", "zoo.source_sha256", "zoo.version")


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"weights": args.weights, "weights_format": args.weights_format, "pretrained": not args.no_pretrained,
            "infer_architecture": args.infer_architecture}


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_model, report_dict

    size = None
    if args.sample_size:
        h, _, w = args.sample_size.lower().partition("x")
        size = (int(h), int(w or h))
    report = export_model(args.name, args.output, format=args.format, dynamic=args.dynamic, opset=args.opset,
                          dtype=args.dtype, sample_size=size, tolerance=args.tolerance, offline=args.offline or None,
                          log=print, **_load_options(args))
    if args.json:
        print(json.dumps(report_dict(report), indent=1, default=str))
    return 0


def convert_to_safetensors(name: str, output: str | Path, *, weights: str | None = None, pretrained: bool = True,
                           weights_format: str | None = None, infer_architecture: bool = False,
                           offline: bool | None = None) -> Path:
    """Write entry ``name``'s weights (as loaded: adapted to the zoo's key layout) to a safetensors file.

    The metadata names the entry, the source URL / path, its format and the sha256 of the original file, so
    the file documents where it came from; ``zoo.load(name, weights=output)`` gives the same network.
    """
    from . import __version__
    from .api import load
    from .hub import sha256_of
    from .serialization import save_state_dict

    output = Path(output)
    if output.suffix.lower() not in (".safetensors", ".sft"):
        raise ZooError(f"output {output} must end in .safetensors")
    pipeline = load(name, pretrained=pretrained, weights=weights, weights_format=weights_format,
                    infer_architecture=infer_architecture, device="cpu", offline=offline)
    resolved = pipeline.weights
    metadata = {"zoo.entry": pipeline.entry.name, "zoo.architecture": pipeline.entry.architecture,
                "zoo.architecture_kwargs": json.dumps(dict(pipeline.entry.kwargs), sort_keys=True),
                "zoo.version": __version__, "format": "pt"}
    if resolved is not None:
        metadata.update({"zoo.source_url": resolved.spec.uri, "zoo.source_format": resolved.spec.format,
                         "zoo.source_sha256": sha256_of(resolved.path)})
    else:
        metadata["zoo.source_url"] = "random initialisation (pretrained=False)"
    state = {k: v for k, v in pipeline.model.float().state_dict().items()}
    return save_state_dict(state, output, metadata=metadata)


def cmd_convert(args: argparse.Namespace) -> int:
    if args.to != "safetensors":
        raise ZooError(f"unknown target {args.to!r}; only safetensors is supported")
    path = convert_to_safetensors(args.name, args.output, offline=args.offline or None, **_load_options(args))
    print(f"wrote {path}")
    return 0


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="catalog entry")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--weights", help="weights file, URL, hf://owner/repo/file or plugin URI (default: the entry's)")
    p.add_argument("--weights-format", help="checkpoint format of --weights (default: detected)")
    p.add_argument("--infer-architecture", action="store_true",
                   help="read block counts / widths off the weights instead of the entry's kwargs")
    p.add_argument("--no-pretrained", action="store_true", help="random weights (for testing a pipeline)")
    p.add_argument("--offline", action="store_true", help="never download (ZOO_OFFLINE=1)")


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a model's network to ONNX or torch.export, verified against PyTorch")
    _model_options(p)
    p.add_argument("--format", choices=["onnx", "torch-export"], default="onnx")
    p.add_argument("--dynamic", action="store_true", help="free batch/height/width (multiples of the size multiple)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32")
    p.add_argument("--sample-size", help="HxW traced (default: 64 rounded to the size multiple, at least 2 blocks)")
    p.add_argument("--tolerance", type=float, help="max abs difference on [0,1] outputs (default 1e-4 fp32, 1e-2 fp16)")
    p.add_argument("--json", action="store_true", help="print the export report as JSON")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("convert", help="write a model's weights as safetensors with their provenance")
    _model_options(p)
    p.add_argument("--to", choices=["safetensors"], default="safetensors")
    p.set_defaults(func=cmd_convert)
