"""Benchmarks: suites over every family, speed and quality side by side, written as one report (``zoo bench``).

Modules: :mod:`.suite` (YAML suites), :mod:`.speed` (per-model timing), :mod:`.runner` (suites, child
processes, torchrun sharding), :mod:`.quality` (``zoo.evaluation`` rows), :mod:`.tables` (row formatting),
:mod:`.report` / :mod:`.html` (CSV, JSON, Markdown, HTML), :mod:`.compare` (``--baseline``), :mod:`.micro`
(pytest-benchmark JSON). May import ``zoo.evaluation``, ``zoo.inference`` and everything below them.
Importing this package is cheap: torch, pandas and matplotlib load on use.
"""
