"""``zoo info NAME``: an entry's architecture, weights (and where they are cached), processing and metrics."""

from __future__ import annotations

import argparse
import sys

from zoo.errors import ZooError
from zoo.registry import get_entry
from zoo.weights.hub import cached_weights, weights_location


def cmd_info(args: argparse.Namespace) -> int:
    entry = get_entry(args.name)
    p = entry.processing
    print(f"name:         {entry.name}\ntask:         {entry.task}")
    print(f"architecture: {entry.architecture} {dict(entry.kwargs)}")
    if entry.description:
        print(f"description:  {entry.description}")
    print(f"processing:   range {list(p.value_range)} -> {list(p.out_range)}, scale {p.scale}, "
          f"size multiple {p.size_multiple}, quantize {p.quantize}" + (f", domains {dict(p.domains)}" if p.domains else ""))
    modes = dict(p.options.get("modes") or {})
    if modes:
        print(f"modes:        eval (default), {', '.join(modes)} (zoo.load(..., mode=NAME), zoo run --mode NAME)")
    if entry.dataset:
        print(f"dataset:      {entry.dataset}")
    if entry.paper:
        print("paper:        " + ", ".join(f"{k}: {v}" for k, v in entry.paper.items()))
    for i, spec in enumerate(entry.weights):
        try:
            hit, expected = cached_weights(spec, entry), weights_location(spec, entry)
        except ZooError as exc:
            hit, expected = None, None
            print(f"weights[{i}]:   cannot locate ({exc})", file=sys.stderr)
        where = (f"local file {hit}" if hit and spec.scheme == "file" else f"cached at {hit}" if hit
                 else f"not cached (expected at {expected})" if expected
                 else "resolved by plugin when first used")
        print(f"weights[{i}]:   {spec.uri}\n              format {spec.format}, sha256 {spec.sha256 or 'unknown'}, "
              f"license {spec.license or 'unknown'}" + (f", member {spec.member}" if spec.member else "") + f"\n              {where}")
    for m in entry.metrics:
        print("metric:       " + ", ".join(f"{k}={v}" for k, v in m.items()))
    print(f"catalog:      {entry.source} (plugin {entry.provider})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show an entry: architecture, weights (and whether cached), processing, metrics")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)
