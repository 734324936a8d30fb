"""``zoo cache ls | verify | rm PATTERN``: the weights cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoo.cli.common import print_table
from zoo.errors import ZooError
from zoo.weights.cache import cached_files, matching_files, verify_cache
from zoo.weights.hub import weights_dir


def _label(root: Path, path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def cmd_cache(args: argparse.Namespace) -> int:
    root = weights_dir()
    if args.action == "ls":
        print(f"cache: {root}")
        print_table([[str(p.relative_to(root)), f"{p.stat().st_size / 2**20:.1f} MiB"] for p in cached_files(root)],
                    ["file", "size"])
        return 0
    if args.action == "verify":
        bad = checked = 0
        for check in verify_cache(root):
            if check.entry is None:
                print(f"{_label(root, check.path)}  {check.digest}  {check.state}")
                continue
            checked += 1
            bad += check.bad
            print(f"{_label(root, check.path)}  {check.digest}  {check.state} ({check.entry})")
        print(f"{checked} file(s) with a catalog digest checked, {bad} bad", file=sys.stderr)
        return 1 if bad else 0
    if not args.all and not args.targets:
        raise ZooError("say which cached files to remove (substrings or globs of their paths), or --all")
    targets = cached_files(root) if args.all else matching_files(args.targets, root)
    if not targets and not args.all:
        print(f"zoo cache: nothing in {root} matches {' '.join(args.targets)} (see `zoo cache ls`)", file=sys.stderr)
        return 1
    for path in targets:
        path.unlink()
        print(f"removed {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="inspect or clean the weights cache")
    p.add_argument("action", choices=["ls", "verify", "rm"])
    p.add_argument("targets", nargs="*", help="for rm: substrings or globs of cached paths")
    p.add_argument("--all", action="store_true", help="for rm: everything")
    p.set_defaults(func=cmd_cache)
