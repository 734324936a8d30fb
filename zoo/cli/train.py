"""``zoo train ENTRY_OR_TASK --data DIR [--config FILE] [key=value ...] [--out DIR] [--resume [--allow-changes]]``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any, Sequence

from zoo.training.config import ConfigError, parse_overrides, read_config_file, resolve_options
from zoo.training.recipes import describe_with_sources, entry_layers, option_sources
from zoo.training.run import finish, prepare, resolve_target

_OVERRIDE = re.compile(r"^[A-Za-z_][\w.]*=")
_VALUE_OPTIONS = ("--data", "--config", "--out", "--weights")


def _override_first(args: Sequence[str]) -> list[str]:
    """Move ``key=value`` tokens right after the target, so they may follow options (argparse cannot
    match a second run of positionals after an option). Stray words after the target (``steps`` without
    ``=value``) go with them, so ``cmd_train`` names them instead of argparse's "unrecognized arguments"."""
    keep, overrides, skip, target_seen = [], [], False, False
    for token in args:
        if skip:
            keep.append(token)
            skip = False
        elif token in _VALUE_OPTIONS:
            keep.append(token)
            skip = True
        elif _OVERRIDE.match(token) or (target_seen and not token.startswith("-")):
            overrides.append(token)
        else:
            if not token.startswith("-"):
                target_seen = True
            keep.append(token)
    skip = False
    for i, token in enumerate(keep):
        if skip:
            skip = False
            continue
        if token in _VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-"):
            return keep[: i + 1] + overrides + keep[i + 1:]
    return keep + overrides


def cmd_train(args: argparse.Namespace) -> int:
    bad = [t for t in args.overrides if not _OVERRIDE.match(t)]
    if bad:
        raise ConfigError(f"{bad[0]!r} is not key=value; trainer options are given as key=value (e.g. steps=1000, "
                          f"lr=2e-4); `zoo train {args.target} --list-options` lists them")

    if args.list_options:
        return _list_options(args)
    trainer = None
    try:
        trainer = prepare(args.target, args.data, config=args.config, overrides=list(args.overrides), out=args.out,
                          resume=args.resume, from_scratch=args.from_scratch, weights=args.weights,
                          allow_changes=args.allow_changes)
        result = finish(trainer, trainer.fit())
    except KeyboardInterrupt as exc:
        if os.environ.get("RANK", "0") == "0":
            print(_interrupted(trainer, exc), file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    if os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 reports
        val = ", ".join(f"{k} {v:.4g}" for k, v in (result["val"] or {}).items())
        print(f"trained {result['entry']!r} for {result['step']} steps" + (f" ({val})" if val else "")
              + f"; run folder {result['out']}")
        print(f"use it: ZOO_PLUGINS_DIR={result['out']} zoo run {result['entry']} IMAGE -o OUT "
              f"(or zoo.load({str(result['out'])!r})); see it: zoo runs show {result['out']}")
    return 0


def _list_options(args: argparse.Namespace) -> int:
    """Every option with its value for this target and where that value comes from."""
    entry, task, trainer_cls = resolve_target(args.target)
    layers = entry_layers(entry)
    if args.config:
        layers.append((str(args.config), read_config_file(args.config)[0]))
    if args.overrides:
        layers.append(("command line", parse_overrides(list(args.overrides))))
    values = resolve_options(trainer_cls.options, layers, what=f"{task!r} trainer")
    what = f"entry {entry.name!r}" if entry is not None else f"task {task!r}"
    print(f"options of {what}, trained by {trainer_cls.__module__}.{trainer_cls.__name__} "
          "(value, where it comes from):")
    print(describe_with_sources(trainer_cls.options, values, option_sources(trainer_cls.options, layers)))
    return 0


def _interrupted(trainer: Any, exc: BaseException) -> str:
    """The one line printed on Ctrl-C / SIGTERM: where training stopped and what can be resumed."""
    if trainer is None:
        return "zoo train: interrupted before training started; nothing was trained"
    how = f"stopped by {type(exc).__name__}" if not hasattr(exc, "signum") else str(exc)
    saved = trainer.saved_step
    if saved is None or saved == 0 and trainer.step == 0:
        return (f"zoo train: interrupted at step {trainer.step}; no checkpoint was written yet "
                f"(one every checkpoint_every={trainer.config['checkpoint_every']} steps)")
    if hasattr(exc, "signum"):
        return (f"zoo train: {how}; checkpoint written at step {saved} ({trainer.checkpoint_path}); continue with "
                f"--resume --out {trainer.out}")
    return (f"zoo train: interrupted at step {trainer.step}; last checkpoint: step {saved} "
            f"({trainer.checkpoint_path}); continue with --resume --out {trainer.out}")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train or fine-tune an entry, or train a task from scratch (torchrun for many GPUs)",
                       description="Train an entry by name (fine-tunes its pretrained weights) or a task. Options of "
                                   "the task's trainer come from --config FILE and key=value pairs (values are YAML).")
    p.add_argument("target", help="catalog entry (fine-tune) or task name (e.g. super-resolution-luma)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="trainer options, e.g. lr=1e-3 steps=2000")
    p.add_argument("--data", help="training data: a folder in the task's layout, or a registered dataset name "
                                  "(zoo components dataset), found as zoo bench --data finds it; with --resume or "
                                  "a run's --config: default the run's")
    p.add_argument("--config", help="YAML file of trainer options (a run's RUN/config.yaml reruns it)")
    p.add_argument("--out", help="run folder (default: runs/TARGET)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--allow-changes", action="store_true",
                   help="with --resume: accept options that make the resumed run differ from the checkpoint's "
                        "(data, batch_size, architecture, ...); recorded in RUN/run.json")
    p.add_argument("--from-scratch", action="store_true", help="do not start from the entry's pretrained weights")
    p.add_argument("--weights", help="fine-tune from this file / URL / plugin URI instead of the entry's weights")
    p.add_argument("--list-options", action="store_true",
                   help="print the trainer's options, their values for this target and where each comes from "
                        "(trainer default, the entry's recipe, --config, key=value)")
    p.set_defaults(func=cmd_train)
    parse = p.parse_known_args

    def parse_known_args(args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        return parse(None if args is None else _override_first(args), namespace)

    p.parse_known_args = parse_known_args  # type: ignore[method-assign]
