"""``zoo plugins [-v] [--json]`` and ``zoo plugins check NAME``: installed plugins, and the conformance check."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import warnings
from dataclasses import asdict

from zoo.cli.common import print_table, wrapped
from zoo.registry import ZooPluginWarning, get_manager


def cmd_plugins(args: argparse.Namespace) -> int:
    if getattr(args, "plugins_action", None) == "check":
        return _check(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ZooPluginWarning)
        infos = get_manager().plugin_infos()
    for warning in caught:  # the table shows each failed plugin; anything else (a bad ZOO_PLUGINS_DIR) is said
        if not str(warning.message).startswith("zoo plugin "):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=1))
        return 0
    if not args.verbose:
        print_table([[i.name, i.distribution or "-", i.version or "-",
                      ",".join(h.removeprefix("zoo_register_") for h in i.hooks) or "-", i.status] for i in infos],
                    ["plugin", "distribution", "version", "hooks", "status"])
        failed = [i.name for i in infos if i.status != "ok"]
        if failed:
            print(f"\n{len(failed)} plugin(s) failed and are disabled: {', '.join(failed)} (details: zoo plugins -v)")
        return 0
    for info in infos:
        origin = " ".join(x for x in (info.distribution, info.version) if x)
        print(f"{info.name}" + (f" ({origin})" if origin else "") + (" [built-in]" if info.builtin else "")
              + f": {info.status}")
        if info.error:
            print(textwrap.fill(info.error, width=100, initial_indent="  error: ", subsequent_indent=" " * 9,
                                break_on_hyphens=False, break_long_words=False))  # paths stay whole
        if info.hooks:
            print(wrapped("hooks", info.hooks))
        for kind, names in info.components.items():
            print(wrapped(kind, names))
        if info.entries:
            print(wrapped(f"catalog entries ({len(info.entries)})", info.entries))
        for path in info.catalogs:
            print(f"  catalog file: {path}")
        for item in info.shadowed:
            print(f"  not used: {item}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from zoo.testing.conformance import (
        run_conformance,  # heavy: zoo.testing imports pytest
    )

    try:
        report = run_conformance(get_manager(), args.name, entries=args.entry or None,
                                 pretrained=not args.no_pretrained)
    except AssertionError as exc:
        print(f"zoo plugins check: FAILED: {exc}", file=sys.stderr)
        return 1
    for kind, names in report.items():
        print(wrapped(kind, names) if names else f"  {kind}: -")
    for note in report.notes:
        print(f"  note: {note}")
    print(f"plugin {args.name!r} passes the conformance check")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="installed plugins: status, what each registered (-v), conformance check",
                       description="List plugins; `zoo plugins check NAME` runs the conformance check on one.")
    p.add_argument("-v", "--verbose", action="store_true", help="full errors and every registered name, by kind")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)
    actions = p.add_subparsers(dest="plugins_action", metavar="ACTION")
    c = actions.add_parser("check", help="run the conformance check of one plugin (offline)")
    c.add_argument("name", help="plugin name, as `zoo plugins` lists it")
    c.add_argument("--entry", action="append", help="check only this catalog entry (repeatable)")
    c.add_argument("--no-pretrained", action="store_true", help="do not resolve or load entries' weights")
    c.set_defaults(func=cmd_plugins)
