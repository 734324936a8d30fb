"""``zoo download NAME...``: fetch entries' weights into the cache."""

from __future__ import annotations

import argparse
import sys

from zoo.errors import ZooError
from zoo.weights import download


def cmd_download(args: argparse.Namespace) -> int:
    status = 0
    for name in args.names:
        try:
            resolved = download(name, offline=args.offline or None)
            print(f"{name}: {resolved.path} ({resolved.origin})")
        except ZooError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
    return status


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch entries' weights into the cache ($ZOO_HOME)")
    p.add_argument("names", nargs="+")
    p.add_argument("--offline", action="store_true", help="only check the cache and offline sources")
    p.set_defaults(func=cmd_download)
