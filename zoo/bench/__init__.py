"""``zoo bench``: benchmark suites over every family, speed and quality, written as one report.

Modules: :mod:`.suite` (YAML suites), :mod:`.speed` (per-model timing), :mod:`.runner` (suites,
child processes, torchrun sharding), :mod:`.quality` (``zoo.evaluation`` rows), :mod:`.report` /
:mod:`.html` (CSV, JSON, Markdown, HTML), :mod:`.compare` (``--baseline``), :mod:`.micro`
(pytest-benchmark JSON). Importing this package is cheap: torch, pandas and matplotlib load on use.
"""

from __future__ import annotations


def add_parser(sub):
    """Add the ``bench`` subcommand (``zoo.cli.SUBCOMMAND_MODULES``)."""
    from .cli import add_parser as add

    return add(sub)
