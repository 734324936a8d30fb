"""``zoo runs ls DIR`` (training runs and their best metric) and ``zoo runs show RUN`` (summary + the run page)."""

from __future__ import annotations

import argparse

from zoo.cli.common import print_table
from zoo.training.runs import list_runs, show_run


def _best(best: dict | None) -> str:
    if not best or best.get("value") is None:
        return "-"
    return f"{best['metric']} {best['value']:.4g} @ {best['step']}"


def cmd_runs(args: argparse.Namespace) -> int:
    if args.action == "ls":
        rows = list_runs(args.path)
        if not rows:
            print(f"no training runs in {args.path} (a run folder holds run.json or config.yaml)")
            return 0
        print_table([[r["run"], r["name"], r["task"], r["status"], str(r["step"] if r["step"] is not None else "-"),
                      _best(r["best"])] for r in rows], ["run", "name", "task", "status", "step", "best"])
        return 0
    info, page = show_run(args.path)
    print(f"{info['name']} ({info['task']}): {info['status']} at step {info['step']}; best: {_best(info['best'])}")
    if info.get("error"):
        print(f"error: {info['error']}")
    print(f"run page: {page.resolve().as_uri()}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("runs", help="training runs: list them with their best metric, or show one's page",
                       description="`zoo runs ls DIR` lists the training runs in DIR (status, step, best validation "
                                   "metric); `zoo runs show RUN` rebuilds RUN/index.html (curves, captioned sample "
                                   "grids, options, history) and prints its address.")
    p.add_argument("action", choices=["ls", "show"])
    p.add_argument("path", help="ls: a folder of runs (or one run); show: a run folder")
    p.set_defaults(func=cmd_runs)
