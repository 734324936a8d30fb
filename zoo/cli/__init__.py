"""The ``zoo`` command line: one module per subcommand, each a thin layer over the Python API.

A subcommand module defines ``add_parser(subparsers)``, which adds its parser and sets ``func`` to the
function that runs it; :data:`SUBCOMMANDS` lists them in ``zoo --help`` order. Building the parser imports
every subcommand module, so they import nothing heavy (torch, matplotlib) at module level: ``zoo --help`` and
``zoo list`` stay fast. Errors the zoo raises on purpose (:class:`zoo.errors.ZooError`) become one line on
stderr and exit 2. See docs/architecture.md, "Adding a subcommand".
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from typing import Sequence

from zoo.cli.common import Parser
from zoo.errors import ZooError
from zoo.version import VERSION

#: subcommand modules of this package, in ``zoo --help`` order; each defines ``add_parser(subparsers)``
SUBCOMMANDS = ("listing", "info", "download", "run", "tune", "cache", "demo", "bench", "metric", "plugins",
               "components", "new_plugin", "catalog", "export", "convert", "train", "runs", "data")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="zoo", description="A model zoo for conditional image generation.")
    parser.add_argument("--version", action="version", version=f"zoo {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"zoo.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    show = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *rest, **kw: f"zoo {args.command}: warning: {message}\n"
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handler, not at interpreter exit
        return status
    except ZooError as exc:
        print(f"zoo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `zoo list | head -1`: the reader left; end quietly like other Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail again
        return 141
    finally:
        warnings.formatwarning = show  # main() may run inside a caller's process (tests, notebooks)


if __name__ == "__main__":
    sys.exit(main())
