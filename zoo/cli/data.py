"""``zoo data ls|fetch|verify``: the registered evaluation datasets, where each one resolves, and fetching.

Importing this module is cheap; datasets resolve only when a command runs.
"""

from __future__ import annotations

import argparse
import json

from zoo.datasets import DatasetError, registered, resolve_dataset
from zoo.registry.manager import components


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("data", help="evaluation datasets: list, fetch, verify (--data NAME=DIR, ZOO_DATA)")
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = sub.add_parser("ls", help="registered datasets: layout, plugin, where each resolves here")
    p.add_argument("--json", action="store_true")
    p.add_argument("--data", action="append", metavar="NAME=DIR", help="a local copy (repeatable; or a root DIR)")
    for name, text in (("fetch", "download and unpack datasets into the zoo cache (unless a local copy exists)"),
                       ("verify", "resolve datasets and check their layout, without downloading")):
        p = sub.add_parser(name, help=text)
        p.add_argument("names", nargs="+")
        p.add_argument("--data", action="append", metavar="NAME=DIR", help="a local copy (repeatable; or a root DIR)")
    parser.set_defaults(func=cmd_data)
    return parser


def _where(name: str, data) -> tuple[str, str]:
    try:
        local = resolve_dataset(name, data=data, offline=True)
    except DatasetError as exc:
        return "missing", str(exc).splitlines()[0]
    return "ok", local.describe()


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_command == "ls":
        providers = {name: item.provider for name, item in components("dataset").items()}
        rows = []
        for name, record in registered().items():
            state, where = _where(name, args.data)
            if state != "ok":
                urls = [s.url for s in record.sources]
                where = f"not here; download from {urls[0]}" + (f" (+{len(urls) - 1} files)" if len(urls) > 1 else "") \
                    if urls else "not here; local only (--data NAME=DIR or ZOO_DATA)"
            rows.append({"name": name, "layout": record.layout, "task": record.task, "plugin": providers[name],
                         "state": state, "where": where, "sources": [s.url for s in record.sources]})
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for row in rows:
                print(f"{row['name']:24s} {row['layout']:9s} {row['plugin']:16s} {row['state']:8s} {row['where']}")
        return 0
    failed = 0
    for name in args.names:
        if args.data_command == "fetch":
            local = resolve_dataset(name, data=args.data)
            print(f"{name}: {local.describe()}")
        else:
            state, where = _where(name, args.data)
            print(f"{name}: {state}: {where}")
            failed += state != "ok"
    return 1 if failed else 0
