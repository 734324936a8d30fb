"""``zoo catalog schema``: every catalog field the validator accepts, with the registered task names."""

from __future__ import annotations

import argparse

from zoo.registry import get_manager
from zoo.registry.catalog import schema_markdown


def cmd_catalog(args: argparse.Namespace) -> int:
    print(schema_markdown(get_manager().components("task")))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("catalog", help="catalog reference for plugin authors")
    p.add_argument("action", choices=["schema"], help="schema: every catalog field, with the known task names")
    p.set_defaults(func=cmd_catalog)
