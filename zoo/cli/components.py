"""``zoo components [KIND]``: every registered component (architectures, losses, tasks, ...) and its plugin."""

from __future__ import annotations

import argparse
import json

from zoo.cli.common import print_table
from zoo.registry import RECORD_KINDS, get_manager


def cmd_components(args: argparse.Namespace) -> int:
    manager = get_manager()
    kinds = [args.kind] if args.kind else list(RECORD_KINDS)
    rows = []
    for kind in kinds:
        for name, registered in manager.components(kind).items():
            rows.append({"kind": kind, "name": name, "plugin": registered.provider,
                         "description": getattr(registered.record, "description", "") or ""})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table([[r["kind"], r["name"], r["plugin"], r["description"][:70]] for r in rows],
                    ["kind", "name", "plugin", "description"])
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("components", help="registered components by kind: architectures, losses, tasks, ...")
    p.add_argument("kind", nargs="?", choices=list(RECORD_KINDS), help="only this kind")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_components)
