"""``zoo convert NAME --to safetensors -o OUT``: a model's weights as safetensors, with their provenance."""

from __future__ import annotations

import argparse

from zoo.cli.export import add_weights_options, weights_arguments
from zoo.errors import ZooError
from zoo.weights.convert import convert_to_safetensors


def cmd_convert(args: argparse.Namespace) -> int:
    if args.to != "safetensors":
        raise ZooError(f"unknown target {args.to!r}; only safetensors is supported")
    path = convert_to_safetensors(args.name, args.output, **weights_arguments(args))
    print(f"wrote {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="write a model's weights as safetensors with their provenance")
    add_weights_options(p)
    p.add_argument("--to", choices=["safetensors"], default="safetensors")
    p.set_defaults(func=cmd_convert)
