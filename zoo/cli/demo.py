"""``zoo demo``: the main job on an embedded default, offline (:mod:`zoo.inference.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from zoo.inference.demo import DEFAULT_MODEL, run_demo


def cmd_demo(args: argparse.Namespace) -> int:
    print(run_demo(args.model, Path(args.output), args.device, args.dtype))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="upscale a bundled sample 4x with a real SR model, offline; print PSNR and time")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"catalog entry (default {DEFAULT_MODEL}); PSNR/SSIM are "
                   "reported for super-resolution entries only")
    p.add_argument("-o", "--output", default="demo-out", help="output folder (default demo-out)")
    p.add_argument("--device")
    p.add_argument("--dtype")
    p.set_defaults(func=cmd_demo)
