"""``zoo list [PATTERN...] [--task T]``: catalog entries, with whether their weights are on this machine."""

from __future__ import annotations

import argparse
import json
import sys

from zoo.cli.common import print_table
from zoo.registry import TASK_ALIASES, get_manager, list_models
from zoo.weights.hub import weights_here


def cmd_list(args: argparse.Namespace) -> int:
    names = list_models(args.patterns, args.task)
    catalog = get_manager().catalog
    if not names:
        if args.task:
            tasks = sorted({e.task for e in catalog})
            aliases = ", ".join(f"{k} = {v}" for k, v in TASK_ALIASES.items())
            print(f"zoo list: no entry of task {args.task!r}" + (f" matches {' '.join(args.patterns)}" if args.patterns
                  else "") + f"; known tasks: {', '.join(tasks)} (a family such as 'translation' also works; "
                  f"aliases: {aliases})", file=sys.stderr)
        elif args.patterns:
            print(f"zoo list: no entry matches {' '.join(args.patterns)}; see `zoo list`", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"name": n, "task": catalog.get(n).task, "architecture": catalog.get(n).architecture,
                           "weights_here": weights_here(catalog.get(n))} for n in names], indent=1))
    elif args.names_only:
        print("\n".join(names))
    else:
        print_table([[n, catalog.get(n).task, catalog.get(n).architecture,
                      "yes" if weights_here(catalog.get(n)) else "-"] for n in names],
                    ["name", "task", "architecture", "weights here"])
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list catalog entries")
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="globs, e.g. 'cyclegan-*' 'realesr*'")
    p.add_argument("--task", help="only entries of this task or family (e.g. super-resolution, sr, translation)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--names-only", action="store_true", help="one name per line")
    p.set_defaults(func=cmd_list)
