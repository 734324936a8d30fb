"""``zoo run NAME INPUT... -o DIR``: a model over files and folders; inputs are never overwritten."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from zoo.cli.common import add_model_options
from zoo.errors import OptionError
from zoo.files import blocking_file
from zoo.inference import load
from zoo.inference.options import arg_batch_size, arg_outscale, arg_quality, arg_tile, arg_tile_pad, arg_workers
from zoo.inference.runner import plan_outputs, run_files, typical_side, write_report
from zoo.inference.settings import parse_budget
from zoo.inference.tuning import summary


def cmd_run(args: argparse.Namespace) -> int:
    out_dir = Path(args.output)
    pairs = plan_outputs(args.inputs, out_dir, suffix=args.suffix, ext=args.ext, overwrite=args.overwrite)
    if args.report and Path(args.report).is_dir():
        raise OptionError(f"--report {args.report} is a folder; it names the JSON file to write")
    parent = blocking_file(args.report) if args.report else None  # its folder is made after every image
    if parent is not None:
        raise OptionError(f"--report {args.report}: {parent} is a file, not a folder; give a path in a folder")
    options: dict[str, Any] = {}
    for key in ("tile", "tile_pad", "mode"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    fast = parse_budget(args.budget) if args.budget is not None else args.fast  # --budget "" is the default one
    if fast and (args.dtype or args.backend != "eager"):
        raise OptionError("--fast chooses the dtype and backend itself; drop --dtype/--backend (or --fast)")
    if fast:  # tuned for the size the network will see: a tile, else the inputs' typical size
        tile = options.get("tile")
        options.update(fast=fast, fast_size=tile if isinstance(tile, int) and tile > 0 else
                       typical_side([file for file, _ in pairs]))
    pipeline = load(args.name, weights=args.weights, weights_format=args.weights_format, device=args.device,
                    dtype=args.dtype, pretrained=not args.no_pretrained, backend=args.backend,
                    infer_architecture=args.infer_architecture, progress=not args.quiet, **options)
    workers = args.workers if args.workers is not None else (min(2, os.cpu_count() or 1) if len(pairs) > 2 else 0)
    progress = not args.quiet and sys.stderr.isatty()
    result = run_files(pipeline, pairs, outscale=args.outscale, batch_size=args.batch_size, workers=workers,
                       quality=args.quality, progress=progress, log=None if args.quiet else print)
    weights = f"{pipeline.weights.path} ({pipeline.weights.origin})" if pipeline.weights is not None else None
    fast_meta = pipeline.metadata.get("fast") if fast else None
    if args.report:
        write_report(Path(args.report), result, model=args.name, weights=weights,
                     **({"fast": fast_meta} if fast_meta else {}))
    if weights and not args.quiet:
        print(f"weights: {weights}")
    if fast_meta and not args.quiet:
        print(f"fast: {summary(fast_meta)}")
    if result.failures:
        print(f"zoo run: {len(result.failures)} of {len(pairs)} inputs failed:", file=sys.stderr)
        for failure in result.failures:
            print(f"  {failure['input']}: {failure['error']}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a model on images and write the results (inputs are never overwritten)")
    p.add_argument("name")
    p.add_argument("inputs", nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="output folder (the inputs' folder structure is kept)")
    add_model_options(p)
    p.add_argument("--tile", type=arg_tile, help="tile size in pixels, 'auto', or 0 for none")
    p.add_argument("--tile-pad", type=arg_tile_pad, help="context pixels around each tile")
    p.add_argument("--mode", help="an entry's alternative inference mode, e.g. 'paper' for pix2pix (see zoo info)")
    p.add_argument("--fast", action="store_true",
                   help="run the fastest setting measured here within the output budget (see zoo tune)")
    p.add_argument("--budget", help="with --fast: output budget against fp32 eager, e.g. 'psnr>=40' or 'max_grey<=1' "
                                    "(default psnr>=45, max_grey<=8); implies --fast")
    p.add_argument("--outscale", type=arg_outscale, help="final output scale, if not the network's own")
    p.add_argument("--suffix", default="out", help="output names are <stem>_<suffix>.<ext> (default: out; '' for none; "
                   "a suffix starting with _ or - is used as given: --suffix _cg, --suffix=-x4)")
    p.add_argument("--ext", help="output extension (default: the input's; 16-bit results are PNG)")
    p.add_argument("--quality", type=arg_quality, default=95, help="JPEG/WebP quality, 1-100 (default 95)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input)")
    p.add_argument("--batch-size", type=arg_batch_size, default=1, help="images per forward pass (same-size images)")
    p.add_argument("--workers", type=arg_workers, help="decoding processes (default 2 for more than 2 files)")
    p.add_argument("--report", help="write a JSON summary (outputs and failures) to this file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no per-file lines")
    p.set_defaults(func=cmd_run)
