"""``zoo metric ...``: FID / KID / LPIPS / PSNR / SSIM between image folders, FID reference statistics, availability.

Importing this module is cheap (no torch); the work happens in :mod:`zoo.metrics.api` when a command runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from zoo.metrics import api

FLAVOURS = ("clean", "pytorch-fid")
#: the named PSNR/SSIM conventions of zoo.metrics.psnr_ssim.PROTOCOLS (listed here: that module imports numpy)
PROTOCOLS = ("sr-y", "sr-rgb", "plain")


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--per-image", action="store_true", help="include per-image values (paired metrics)")


def _add_device(p: argparse.ArgumentParser, batch_size: int) -> None:
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--workers", type=int, help="decoding processes (default: 0 on CPU, min(8, cores) on CUDA)")
    p.add_argument("--offline", action="store_true", help="never download weights (like ZOO_OFFLINE=1)")


def _add_inception(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flavour", choices=FLAVOURS, default="clean",
                   help="preprocessing convention, named in the result (default: clean)")
    p.add_argument("--dims", type=int, default=2048, choices=(64, 192, 768, 2048), help="Inception feature layer")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="fp32 = reference (TF32 off on CUDA); bf16 = fast mode")
    p.add_argument("--compare-reference", action="store_true",
                   help="in bf16 mode also compute the fp32 reference on the same batches and report the difference")
    p.add_argument("--weights", help="explicit FID Inception weights file (default: pt_inception via the zoo cache)")
    _add_device(p, 50)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``metric`` command (with its own sub-commands) to the zoo CLI."""
    parser = subparsers.add_parser("metric", help="image quality metrics between folders (fid, kid, lpips, psnr, ssim)")
    sub = parser.add_subparsers(dest="metric_command", required=True, metavar="METRIC")

    p = sub.add_parser("available", help="which metrics can run here, and why not")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("fid", help="FID between DIR_A (generated) and DIR_B (real folder or statistics .npz)")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--reference-name", help="cache DIR_B's statistics under this dataset name and reuse them")
    _add_inception(p)
    _add_output(p)

    p = sub.add_parser("kid", help="KID between DIR_A (generated) and DIR_B (real)")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--subsets", type=int, default=100)
    p.add_argument("--subset-size", type=int, default=1000, help="lowered to the smaller set size if needed")
    p.add_argument("--seed", type=int, default=2020)
    _add_inception(p)
    _add_output(p)

    p = sub.add_parser("fd-dinov2", help="FD-DINOv2 (Frechet distance of DINOv2 ViT-L/14 features) between DIR_A and DIR_B")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--weights", help="explicit DINOv2 ViT-L/14 weights file (timm or Meta layout)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    _add_device(p, 32)
    _add_output(p)

    p = sub.add_parser("lpips", help="mean LPIPS over same-named images of DIR_A and DIR_B")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--net", choices=("alex", "vgg", "squeeze"), default="alex")
    p.add_argument("--version", choices=("0.1", "0.0"), default="0.1")
    p.add_argument("--backbone-weights", help="explicit torchvision trunk weights file")
    _add_device(p, 16)
    _add_output(p)

    for name in ("psnr", "ssim"):
        p = sub.add_parser(name, help=f"mean {name.upper()} over same-named images of DIR_A and DIR_B")
        p.add_argument("dir_a")
        p.add_argument("dir_b")
        p.add_argument("--protocol", choices=PROTOCOLS,
                       help="a named convention: sr-y (Y, scale pixels cropped: the SR papers), sr-rgb (RGB, scale "
                            "pixels cropped: BasicSR/mmagic), plain; with --scale")
        p.add_argument("--scale", type=int, help="the SR scale of --protocol sr-y / sr-rgb (the pixels cropped)")
        p.add_argument("--crop-border", type=int, default=None, help="pixels removed on each side (default 0)")
        p.add_argument("--y-channel", action="store_true", default=None, help="compare the Y of MATLAB's rgb2ycbcr only")
        _add_output(p)

    p = sub.add_parser("fid-stats", help="precompute FID reference statistics of DIR into an .npz")
    p.add_argument("dir")
    p.add_argument("-o", "--output", help="npz file to write")
    p.add_argument("--name", help="also keep them in the zoo cache under this dataset name")
    p.add_argument("--refresh", action="store_true", help="recompute even if cached")
    _add_inception(p)

    parser.set_defaults(func=cmd_metric)
    return parser


def _inception_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"flavour": args.flavour, "dims": args.dims, "precision": args.precision, "weights": args.weights,
            "device": args.device, "batch_size": args.batch_size, "workers": args.workers,
            "offline": True if args.offline else None}


def _print_result(result, args: argparse.Namespace) -> None:
    data = result.to_dict()
    if not getattr(args, "per_image", False):
        data.pop("per_image", None)
    identical, n = data.get("identical_pairs"), data.get("n")
    all_identical = bool(identical) and identical == n and not _finite(data.get("value"))
    if all_identical:  # the note says identical pairs are left out of the mean: here that leaves none
        data["note"] = f"all {n} pairs are identical (PSNR = inf); identical pairs are left out of the mean, so there is none"
    if args.json:
        if all_identical:
            data["value"] = None
        print(json.dumps(_json_safe(data), indent=1, allow_nan=False))
        return
    if all_identical:
        print(f"{data.get('metric', args.metric_command)} = inf  ({data['note']}; folder_a={data.get('folder_a')}, "
              f"folder_b={data.get('folder_b')})")
        return
    print(result)
    if getattr(args, "per_image", False):
        for name, value in result.details.get("per_image", {}).items():
            print(f"  {name}\t{value:.6g}")


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def _json_safe(value: Any) -> Any:
    """JSON has no inf/nan: such floats become the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def cmd_metric(args: argparse.Namespace) -> int:
    """Run one ``zoo metric`` sub-command; bad arguments or data give one error line and status 2."""
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"zoo metric {args.metric_command}: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    command = args.metric_command
    if command == "available":
        rows = {name: api.available(name) for name in api.METRICS}
        if args.json:
            print(json.dumps({k: {"available": ok, "reason": why} for k, (ok, why) in rows.items()}, indent=1))
        else:
            for name, (ok, why) in rows.items():
                print(f"{name:14s} {'yes' if ok else 'no ':3s}  {why}")
        return 0
    if command == "fid-stats":
        if not args.output and not args.name:
            print("zoo metric fid-stats: give -o FILE and/or --name DATASET", file=sys.stderr)
            return 2
        options = _inception_options(args)
        stats = api.fid_reference_stats(args.dir, dataset=args.name, refresh=args.refresh, **options)
        if args.output:
            stats.save(args.output)
        where = ", ".join(x for x in (args.output, stats.source if args.name else None) if x)
        print(f"FID statistics of {stats.count} images ({stats.meta.get('flavour')}, {stats.mu.shape[0]}-d, "
              f"weights {str(stats.meta.get('weights_sha256'))[:8]}) -> {where}")
        return 0
    if command in ("fid", "kid"):
        options = _inception_options(args)
        options["compare_reference"] = args.compare_reference
        if command == "fid":
            options["reference_name"] = args.reference_name
        else:
            options.update(subsets=args.subsets, subset_size=args.subset_size, seed=args.seed)
        result = api.compute(command, args.dir_a, args.dir_b, **options)
    elif command == "fd-dinov2":
        result = api.compute("fd-dinov2", args.dir_a, args.dir_b, weights=args.weights, device=args.device,
                             batch_size=args.batch_size, precision=args.precision,
                             offline=True if args.offline else None)
    elif command == "lpips":
        result = api.compute("lpips", args.dir_a, args.dir_b, net=args.net, version=args.version,
                             backbone_weights=args.backbone_weights, device=args.device, batch_size=args.batch_size,
                             workers=args.workers, offline=True if args.offline else None)
    else:
        result = api.compute(command, args.dir_a, args.dir_b, crop_border=args.crop_border,
                             test_y_channel=args.y_channel, protocol=args.protocol, scale=args.scale)
    _print_result(result, args)
    return 0
