"""``zoo new-plugin NAME``: scaffold a plugin package (entry point, hooks, catalog, weights, tests)."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from zoo.testing.scaffold import (  # heavy: zoo.testing imports pytest
        plugin_names,
        scaffold,
    )

    root = scaffold(args.name, Path(args.dir), task=args.task)
    names = plugin_names(args.name)
    print(f"created {root}")
    print(textwrap.dedent(f"""
        next steps:
          cd {root}
          pip install -e .                 # registers the entry point '{names['name']}' in group 'zoo'
          zoo plugins                      # '{names['name']}' is listed, status ok
          zoo run {names['name']}-x2 photo.png -o out/
          zoo train {names['name']}-x2 --data PHOTOS/    # fine-tunes it (task {args.task!r})
          pytest                           # the conformance check of zoo.testing, one test per component
        """).rstrip())
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-plugin", help="scaffold a plugin package: entry point, hooks, catalog, tests")
    p.add_argument("name", help="plugin name, e.g. 'espcn' (package zoo_espcn, distribution zoo-espcn)")
    p.add_argument("--dir", default=".", help="folder to create the package in (default: current)")
    p.add_argument("--task", default="super-resolution",
                   help="task of the scaffolded entry: a registered one is reused with its trainer and evaluation "
                        "(default: super-resolution); a new name makes the plugin register its own task")
    p.set_defaults(func=cmd_new_plugin)
