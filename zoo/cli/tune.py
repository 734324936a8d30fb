"""``zoo tune NAME... [--size S] [--device D] [--budget B]``: measure every fast setting now and show the choice."""

from __future__ import annotations

import argparse
import sys

from zoo.cli.common import print_table
from zoo.errors import OptionError
from zoo.inference.options import check_int
from zoo.inference.settings import parse_budget
from zoo.inference.tuning import SIZE_CLASSES, TABLE_HEADER, size_class, summary, table_rows, tune
from zoo.registry.lookup import get_entry


def cmd_tune(args: argparse.Namespace) -> int:
    budget = parse_budget(args.budget or True)
    settings = [s.strip() for s in args.settings.split(",") if s.strip()] if args.settings else None
    if args.size is not None:
        check_int("--size", args.size, minimum=1, what=" (input side in pixels)")
        if size_class(args.size) != args.size:  # measured at a size class, not at the side given: say which
            print(f"zoo tune: --size {args.size} is measured at the size class {size_class(args.size)} px "
                  f"(choices are kept per class: {', '.join(map(str, SIZE_CLASSES))})", file=sys.stderr)
    if args.rounds is not None:
        check_int("--rounds", args.rounds, minimum=1, what=" (timed calls per setting)")
    if args.quick and settings:
        raise OptionError("--quick and --settings both choose the settings; give one")
    for name in args.names:  # a typo in the last name fails before the first is measured
        get_entry(name)
    for i, name in enumerate(args.names):
        if args.no_pretrained:  # the random weights `zoo bench --fast` (seed 0) and benchmarks/ build
            import torch  # heavy

            torch.manual_seed(0)
        tuning, chosen = tune(name, size=args.size, device=args.device, budget=budget, thorough=not args.quick,
                              settings=settings, rounds=args.rounds, pretrained=not args.no_pretrained,
                              weights=args.weights, weights_format=args.weights_format,
                              infer_architecture=args.infer_architecture, progress=not args.quiet)
        if i:
            print()
        print(f"{name} at {tuning.side} px on {tuning.fields['device']} (torch {tuning.fields['torch']}), "
              f"budget {budget}: {tuning.seconds:.1f}s")
        print_table(table_rows(tuning.results, budget, chosen.setting), TABLE_HEADER)
        print(f"chosen: {summary({**tuning.describe(budget), 'cached': False})}")
        if tuning.path is not None:
            print(f"cached in {tuning.path}; zoo.load({name!r}, fast=...) and zoo run --fast reuse it")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="measure the fast settings of models on this machine (for zoo.load(fast=True))",
                       description="Time every setting available here (fp32/bf16/fp16, channels_last, torch.compile, "
                                   "onnxruntime, CUDA graphs) against fp32 eager on the bundled images, in "
                                   "interleaved rounds, and cache the measurements in $ZOO_HOME/tuning.json.")
    p.add_argument("names", nargs="+", metavar="NAME", help="catalog entries")
    p.add_argument("--size", type=int, help=f"input side in pixels (measured at the nearest size class, "
                                             f"e.g. 300 -> {size_class(300)}; default: the entry's usual size)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--budget", help="output budget against fp32 eager, e.g. 'psnr>=40', 'max_grey<=1', "
                                    "'psnr>=40,max_grey<=4' (default: psnr>=45, max_grey<=8)")
    p.add_argument("--settings", help="comma-separated settings to try (default: all available here)")
    p.add_argument("--quick", action="store_true",
                   help="only the settings a load tries itself (dtype, channels_last): no compile or export")
    p.add_argument("--rounds", type=int, help="timed calls per setting (default 5)")
    p.add_argument("--weights", help="weights file, URL or plugin URI (like zoo.load(name, weights=...))")
    p.add_argument("--weights-format", help="checkpoint format of --weights, if not the entry's")
    p.add_argument("--infer-architecture", action="store_true",
                   help="read block counts / widths off --weights instead of the entry's kwargs")
    p.add_argument("--no-pretrained", action="store_true", help="random initialisation (speed only; the output "
                                                                  "difference of random weights is not the real one)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_tune)
